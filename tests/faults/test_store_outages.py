"""Store outages on the servers backend: one stand-in server is killed (or frozen) mid-run and brought back.

Rules under test: while a store is down, requests that need it answer 503 + Retry-After quickly (never hang, never
500) and requests that do not need it keep working; nothing acknowledged with 201 — before, during or after the
outage — is lost: afterwards it is readable, in every follower's home timeline and in search (the stream catches
up). Figures (latencies, restart and recovery seconds, dead letters) are printed in the "fault figures" summary."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from faults.faultkit import (
    HANG_GUARD_S,
    FaultServerSet,
    Timed,
    dead_letters,
    fault_client,
    figure,
    home_ids,
    search_ids,
    timed,
    wait_until,
)

from support.runtime import Client, LocalStack

SETTLE_S = 30.0


@dataclass
class Cast:
    """An author followed by two readers whose home timelines exist (they have read them once)."""

    stack: LocalStack
    author: Client
    readers: list[Client]
    tag: str
    acknowledged: list[str] = field(default_factory=list)
    refused_keys: list[tuple[str, str]] = field(default_factory=list)  # (idempotency key, content) answered 503

    def post(self, n: int | str) -> httpx.Response:
        key = uuid.uuid4().hex
        content = f"#{self.tag} post {n}"
        response = self.author.post("/tweets", {"content": content}, headers={"Idempotency-Key": key})
        if response.status_code == 201:
            self.acknowledged.append(response.json()["tweet_id"])
        elif response.status_code == 503:
            self.refused_keys.append((key, content))
        return response


def make_cast(stack: LocalStack, label: str) -> Cast:
    run = uuid.uuid4().hex[:6]
    author = stack.user(f"{label}a{run}")
    readers = [stack.user(f"{label}r{i}{run}") for i in range(2)]
    for reader in readers:
        reader.follow(author.username)
        assert home_ids(reader) == []  # materializes the (empty) timeline: fan-out now writes into it
    guarded = Cast(
        stack,
        fault_client(stack, author.token),
        [fault_client(stack, r.token) for r in readers],
        tag=f"{label}{run}",
    )
    guarded.author.username = author.username
    return guarded


def probe(cast: Cast, round_: int) -> list[Timed]:
    """One round of the requests a client makes, each timed, during the outage."""
    reader = cast.readers[0]
    known = cast.acknowledged[0]
    return [
        timed("POST /tweets", lambda: cast.post(f"outage {round_}")),
        timed("GET /timeline/home", lambda: reader.get("/timeline/home")),
        timed("GET /tweets/{id}", lambda: reader.get(f"/tweets/{known}")),
        timed("GET /search", lambda: reader.get("/search", q=f"#{cast.tag}")),
        timed("POST like", lambda: reader.post(f"/tweets/{known}/like")),
        timed("GET /users/{name}", lambda: reader.get(f"/users/{cast.author.username}")),
        timed("POST follow", lambda: reader.post(f"/users/{cast.author.username}/follow")),
        timed("GET /health", lambda: reader.get("/health")),
    ]


def summarize(results: list[Timed]) -> dict[str, str]:
    by_label: dict[str, list[Timed]] = {}
    for result in results:
        by_label.setdefault(result.label, []).append(result)
    return {
        label: f"{sorted({r.status for r in rs})} max {max(r.seconds for r in rs):.3f}s"
        for label, rs in by_label.items()
    }


def check_outage_responses(results: list[Timed], must_work: set[str], must_refuse: set[str]) -> None:
    """No hang, no 500, every 503 carries Retry-After; what does not need the store works, what does is refused."""
    problems = []
    for r in results:
        if r.hung:
            problems.append(f"{r.label}: no answer within {HANG_GUARD_S}s ({r.seconds}s, {r.error or r.status})")
        elif r.status >= 500 and r.status != 503:
            problems.append(f"{r.label}: {r.status} {r.body}")
        elif r.status == 503 and not r.retry_after:
            problems.append(f"{r.label}: 503 without Retry-After")
        elif r.label in must_work and r.status >= 400:
            problems.append(f"{r.label}: should keep working, got {r.status} {r.body}")
        elif r.label in must_refuse and r.status != 503:
            problems.append(f"{r.label}: should be refused with 503, got {r.status}")
    assert not problems, problems


def check_nothing_lost(cast: Cast, test: str) -> None:
    """Every acknowledged tweet is readable, in every reader's home timeline (exactly, newest first) and in search."""
    expected = sorted(cast.acknowledged, key=int, reverse=True)
    reader = cast.readers[0]
    for tweet_id in expected:
        assert reader.get(f"/tweets/{tweet_id}").status_code == 200, f"acknowledged tweet {tweet_id} is not readable"
    timelines = {}
    for i, client in enumerate(cast.readers):
        try:
            timelines[f"timeline_settle_s_reader{i}"] = wait_until(lambda c=client: home_ids(c) == expected, SETTLE_S)
        except AssertionError:
            missing = set(expected) - set(home_ids(client) or [])
            figure(test, **{f"timeline_missing_reader{i}": sorted(missing)})
            raise AssertionError(
                f"reader {i}: {len(missing)} of {len(expected)} acknowledged tweets missing from the home timeline"
                f" {SETTLE_S}s after recovery: {sorted(missing)}"
            ) from None
    figure(test, **timelines)
    try:
        figure(
            test,
            search_settle_s=wait_until(
                lambda: sorted(search_ids(reader, f"#{cast.tag}") or []) == sorted(expected), SETTLE_S
            ),
        )
    except AssertionError:
        missing = set(expected) - set(search_ids(reader, f"#{cast.tag}") or [])
        raise AssertionError(f"{len(missing)} acknowledged tweets never became searchable: {sorted(missing)}") from None


def retry_refused(cast: Cast) -> None:
    """A client retries what was refused with the same Idempotency-Key: it must now be accepted, once."""
    for key, content in cast.refused_keys[:3]:
        response = cast.author.post("/tweets", {"content": content}, headers={"Idempotency-Key": key})
        assert response.status_code == 201, f"retry with Idempotency-Key {key} after recovery: {response.status_code}"
        cast.acknowledged.append(response.json()["tweet_id"])
    cast.refused_keys.clear()


def outage(
    cast: Cast,
    servers: FaultServerSet,
    name: str,
    *,
    rounds: int,
    must_work: set[str],
    must_refuse: set[str],
    restore: Callable[[], float],
    test: str,
) -> list[Timed]:
    results: list[Timed] = []
    for round_ in range(rounds):
        results += probe(cast, round_)
    figure(test, during=summarize(results))
    figure(test, restore_s=restore())
    figure(test, recovery_s=wait_until(lambda: cast.post("recovered").status_code == 201, 90.0, interval=0.5))
    check_outage_responses(results, must_work, must_refuse)
    return results


def _dead_letter_figure(stack: LocalStack, stream_name: str, before: int, test: str) -> None:
    letters = dead_letters(stack.data_dir, stream_name)[before:]
    figure(test, dead_letters_added=[f"{d['consumer']}: {d['error'][:90]}" for d in letters])


def test_redis_killed_mid_run_then_restarted(
    fault_runtime: LocalStack, fault_servers: FaultServerSet, fault_env: dict[str, str]
) -> None:
    """Given readers following an author and three tweets just acknowledged
    When Redis is SIGKILLed mid-run (cache, idempotency keys and rate limits gone) and restarted empty
    Then during the outage requests answer 503 + Retry-After within the hang guard (never 500, never hang),
    and afterwards every tweet acknowledged before, during and after is readable, in both readers' rebuilt home
    timelines and in search."""
    test = "redis killed+restarted"
    stream = fault_env["CHIRP_STREAM_NAME"]
    letters_before = len(dead_letters(fault_runtime.data_dir, stream))
    cast = make_cast(fault_runtime, "rd")
    for n in range(3):
        assert cast.post(n).status_code == 201
    fault_servers.kill("redis")
    outage(
        cast,
        fault_servers,
        "redis",
        rounds=3,
        must_work={"GET /health", "GET /tweets/{id}"},
        must_refuse={"POST /tweets", "GET /timeline/home"},
        restore=lambda: fault_servers.restart("redis"),
        test=test,
    )
    retry_refused(cast)
    for n in range(3, 6):
        assert cast.post(n).status_code == 201
    _dead_letter_figure(fault_runtime, stream, letters_before, test)
    check_nothing_lost(cast, test)


def test_gremlin_frozen_degrades_graph_reads_only(
    fault_runtime: LocalStack, fault_servers: FaultServerSet, fault_env: dict[str, str]
) -> None:
    """Given readers following an author
    When Gremlin Server is stopped with SIGSTOP (it accepts connections and never answers: a TinkerGraph restart
    would lose the in-memory graph, which Neptune never does) and later continued
    Then follows and the home timeline answer 503 + Retry-After within the hang guard, posting and reading tweets
    and search keep working, and afterwards the tweets posted during the outage reach the readers' timelines."""
    test = "gremlin stopped (SIGSTOP)"
    stream = fault_env["CHIRP_STREAM_NAME"]
    letters_before = len(dead_letters(fault_runtime.data_dir, stream))
    cast = make_cast(fault_runtime, "gr")
    assert cast.post(0).status_code == 201
    wait_until(lambda: home_ids(cast.readers[0]) == cast.acknowledged, SETTLE_S)
    fault_servers.freeze("gremlin")
    try:
        outage(
            cast,
            fault_servers,
            "gremlin",
            rounds=1,
            must_work={"GET /health", "GET /tweets/{id}", "POST /tweets", "GET /search", "POST like"},
            must_refuse={"POST follow", "GET /timeline/home"},
            restore=lambda: _thaw(fault_servers, "gremlin"),
            test=test,
        )
    finally:
        fault_servers.thaw("gremlin")
    retry_refused(cast)
    _dead_letter_figure(fault_runtime, stream, letters_before, test)
    check_nothing_lost(cast, test)


def _thaw(servers: FaultServerSet, name: str) -> float:
    servers.thaw(name)
    return 0.0


def test_opensearch_killed_search_degrades_and_catches_up(
    fault_runtime: LocalStack, fault_servers: FaultServerSet, fault_env: dict[str, str]
) -> None:
    """Given readers following an author
    When the OpenSearch node is SIGKILLed, tweets are posted, and the node is restarted on the same data directory
    Then search answers 503 + Retry-After within the hang guard while posting, reading and home timelines keep
    working, and afterwards the index catches up from the stream: every acknowledged tweet is searchable."""
    test = "opensearch killed+restarted"
    stream = fault_env["CHIRP_STREAM_NAME"]
    letters_before = len(dead_letters(fault_runtime.data_dir, stream))
    cast = make_cast(fault_runtime, "os")
    assert cast.post(0).status_code == 201
    wait_until(lambda: search_ids(cast.readers[0], f"#{cast.tag}") == cast.acknowledged, SETTLE_S)
    fault_servers.kill("opensearch")
    outage(
        cast,
        fault_servers,
        "opensearch",
        rounds=2,
        must_work={"GET /health", "GET /tweets/{id}", "POST /tweets", "GET /timeline/home", "POST like"},
        must_refuse={"GET /search"},
        restore=lambda: fault_servers.restart("opensearch"),
        test=test,
    )
    _dead_letter_figure(fault_runtime, stream, letters_before, test)
    check_nothing_lost(cast, test)


def test_cassandra_killed_mid_run_then_restarted(
    fault_runtime: LocalStack, fault_servers: FaultServerSet, fault_env: dict[str, str]
) -> None:
    """Given readers following an author and three tweets just acknowledged
    When Cassandra is SIGKILLed mid-run and restarted on the same data directory (commit log replay)
    Then during the outage requests answer 503 + Retry-After within the hang guard (never 500, never hang), and
    afterwards every tweet acknowledged before, during and after is readable, in the readers' timelines and search."""
    test = "cassandra killed+restarted"
    stream = fault_env["CHIRP_STREAM_NAME"]
    letters_before = len(dead_letters(fault_runtime.data_dir, stream))
    cast = make_cast(fault_runtime, "cs")
    for n in range(3):
        assert cast.post(n).status_code == 201
    fault_servers.kill("cassandra")
    outage(
        cast,
        fault_servers,
        "cassandra",
        rounds=2,
        must_work={"GET /health"},
        must_refuse={"POST /tweets", "GET /tweets/{id}"},
        restore=lambda: fault_servers.restart("cassandra"),
        test=test,
    )
    retry_refused(cast)
    for n in range(3, 6):
        assert cast.post(n).status_code == 201
    _dead_letter_figure(fault_runtime, stream, letters_before, test)
    check_nothing_lost(cast, test)
