"""Store outages on the servers backend: one stand-in server is killed (or frozen) mid-run and brought back.

Rules under test: while a store is down, every route answers quickly — within the store timeout plus a small margin
(never hang, never 500) — with 503 + Retry-After when it needs that store, and every route whose function does not
use the store (the wiring table's ``uses``) keeps working; nothing acknowledged with 201 — before, during or after the
outage — is lost: afterwards every stream consumer's effect is there exactly once (home timelines, search, mention
notifications, trends) and no record was dead-lettered. Figures (latencies, restart and recovery seconds) are
printed in the "fault figures" summary."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from faults.faultkit import (
    HANG_GUARD_S,
    FaultServerSet,
    Timed,
    dead_letters,
    fault_client,
    figure,
    home_ids,
    mention_ids,
    search_ids,
    timed,
    trend_counts,
    wait_until,
)

from chirp import wiring
from support.runtime import Client, LocalStack

SETTLE_S = 30.0
# The wiring table's resource behind each stand-in server.
RESOURCE = {"redis": "cache", "gremlin": "graph", "opensearch": "search", "cassandra": "keyspaces"}


@dataclass
class Cast:
    """An author followed by two readers whose home timelines exist (they have read them once); the second reader
    is mentioned in every post. Bystanders for the routes that change state: ``target`` (followed and unfollowed,
    never tweets) and ``scratcher`` (owns the tweets that get deleted, likes and retweets; nobody follows them)."""

    stack: LocalStack
    author: Client
    readers: list[Client]
    target: Client
    scratcher: Client
    tag: str
    scratch: list[str] = field(default_factory=list)
    goners: list[Client] = field(default_factory=list)  # two per round: one changes its password, one is deleted
    media_id: str = ""  # the scratcher's image upload (read, alt text set)
    video: tuple[str, dict[str, Any]] = ("", {})  # the scratcher's video in parts, completed: (media id, completion)
    acknowledged: list[str] = field(default_factory=list)
    trended: dict[str, str] = field(default_factory=dict)  # tweet id -> the hashtag only that tweet carries
    refused_keys: list[tuple[str, str]] = field(default_factory=list)  # (idempotency key, content) answered 503
    posts: int = 0

    def post(self, n: int | str) -> httpx.Response:
        self.posts += 1
        key = uuid.uuid4().hex
        own_tag = f"{self.tag}x{self.posts}"
        content = f"#{self.tag} #{own_tag} @{self.readers[1].username} post {n}"
        response = self.author.post("/tweets", {"content": content}, headers={"Idempotency-Key": key})
        if response.status_code == 201:
            self._acknowledge(response.json()["tweet_id"], own_tag)
        elif response.status_code == 503:
            self.refused_keys.append((key, content))
        return response

    def _acknowledge(self, tweet_id: str, own_tag: str) -> None:
        self.acknowledged.append(tweet_id)
        self.trended[tweet_id] = own_tag


def make_cast(stack: LocalStack, label: str, *, rounds: int) -> Cast:
    run = uuid.uuid4().hex[:6]
    author = stack.user(f"{label}a{run}")
    readers = [stack.user(f"{label}r{i}{run}") for i in range(2)]
    for reader in readers:
        reader.follow(author.username)
        assert home_ids(reader) == []  # materializes the (empty) timeline: fan-out now writes into it
    target, scratcher = stack.user(f"{label}t{run}"), stack.user(f"{label}s{run}")
    guarded = Cast(
        stack,
        fault_client(stack, author.token),
        [fault_client(stack, r.token) for r in readers],
        fault_client(stack, target.token),
        fault_client(stack, scratcher.token),
        tag=f"{label}{run}",
    )
    for client, user in zip(
        [guarded.author, *guarded.readers, guarded.target, guarded.scratcher],
        [author, *readers, target, scratcher],
        strict=True,
    ):
        client.username, client.user_id = user.username, user.user_id
    guarded.scratch = [scratcher.tweet(f"scratch {i}")["tweet_id"] for i in range(rounds)]
    # per round: one account changes its password, another is deleted (a password change revokes its own token)
    guarded.goners = [fault_client(stack, stack.user(f"{label}g{i}{run}").token) for i in range(2 * rounds)]
    guarded.media_id = scratcher.post("/media", {"content_type": "image/png", "size": 1024}).json()["media_id"]
    guarded.video = _video_in_parts(scratcher)
    return guarded


def _video_in_parts(owner: Client) -> tuple[str, dict[str, Any]]:
    """A video above the (fault stack's small) single-upload cap, uploaded in parts and completed once: completing it
    again is the probe (idempotent: a client's retry)."""
    video = b"\x00\x00\x00\x18ftypmp42" + bytes(5000)
    ticket = owner.post("/media", {"content_type": "video/mp4", "size": len(video)}).json()
    form = ticket["multipart"]
    etags = []
    for part in form["parts"]:
        start = (part["part_number"] - 1) * form["part_size"]
        answer = httpx.put(part["url"], content=video[start : start + form["part_size"]], timeout=60)
        assert answer.status_code == 200, answer.text
        etags.append(answer.headers["ETag"])
    completion = {"upload_id": form["upload_id"], "etags": etags}
    assert owner.post(f"/media/{ticket['media_id']}/complete", completion).status_code == 200
    return ticket["media_id"], completion


Request = Callable[[Cast, int], httpx.Response]


def _signup(cast: Cast, round_: int) -> httpx.Response:
    name = f"su{uuid.uuid4().hex[:10]}"
    body = {"username": name, "email": f"{name}@faults.test", "password": "password-123"}
    return httpx.post(f"{cast.stack.api}/auth/signup", json=body, timeout=HANG_GUARD_S + 3)


def _login(cast: Cast, round_: int) -> httpx.Response:
    body = {"username": cast.author.username, "password": "password-123"}
    return httpx.post(f"{cast.stack.api}/auth/login", json=body, timeout=HANG_GUARD_S + 3)


# One request per route of the wiring table, each one that succeeds when every store is up.
REQUESTS: dict[str, Request] = {
    "health": lambda c, r: c.readers[0].get("/health"),
    "openapi": lambda c, r: c.readers[0].get("/openapi.json"),
    "signup": _signup,
    "login": _login,
    "get_profile": lambda c, r: c.readers[0].get(f"/users/{c.author.username}"),
    "follow": lambda c, r: c.readers[0].post(f"/users/{c.target.username}/follow"),
    "unfollow": lambda c, r: c.readers[0].delete(f"/users/{c.target.username}/follow"),
    "followers": lambda c, r: c.readers[0].get(f"/users/{c.author.username}/followers"),
    "following": lambda c, r: c.readers[0].get(f"/users/{c.readers[0].username}/following"),
    "user_tweets": lambda c, r: c.readers[0].get(f"/users/{c.author.username}/tweets"),
    "user_suggestions": lambda c, r: c.readers[0].get("/users/suggestions"),
    "user_likes": lambda c, r: c.readers[0].get(f"/users/{c.author.username}/likes"),
    "get_me": lambda c, r: c.scratcher.get("/users/me"),
    "update_me": lambda c, r: c.scratcher.http.patch("/users/me", json={"bio": f"round {r}"}),
    "change_password": lambda c, r: c.goners[2 * r].post(
        "/users/me/password", {"current_password": "password-123", "new_password": f"password-{r}-new"}
    ),
    "delete_me": lambda c, r: c.goners[2 * r + 1].http.request(
        "DELETE", "/users/me", json={"password": "password-123"}
    ),
    "block_user": lambda c, r: c.scratcher.post(f"/users/{c.target.username}/block"),
    "unblock_user": lambda c, r: c.scratcher.delete(f"/users/{c.target.username}/block"),
    "mute_user": lambda c, r: c.scratcher.post(f"/users/{c.target.username}/mute"),
    "unmute_user": lambda c, r: c.scratcher.delete(f"/users/{c.target.username}/mute"),
    "list_blocks": lambda c, r: c.scratcher.get("/blocks"),
    "list_mutes": lambda c, r: c.scratcher.get("/mutes"),
    "create_tweet": lambda c, r: c.post(f"outage {r}"),
    "get_tweet": lambda c, r: c.readers[0].get(f"/tweets/{c.acknowledged[0]}"),
    "delete_tweet": lambda c, r: c.scratcher.delete(f"/tweets/{c.scratch[r]}"),
    "replies": lambda c, r: c.readers[0].get(f"/tweets/{c.acknowledged[0]}/replies"),
    "like": lambda c, r: c.scratcher.post(f"/tweets/{c.acknowledged[0]}/like"),
    "unlike": lambda c, r: c.scratcher.delete(f"/tweets/{c.acknowledged[0]}/like"),
    "retweet": lambda c, r: c.scratcher.post(f"/tweets/{c.acknowledged[0]}/retweet"),
    "unretweet": lambda c, r: c.scratcher.delete(f"/tweets/{c.acknowledged[0]}/retweet"),
    "bookmark": lambda c, r: c.scratcher.post(f"/tweets/{c.acknowledged[0]}/bookmark"),
    "unbookmark": lambda c, r: c.scratcher.delete(f"/tweets/{c.acknowledged[0]}/bookmark"),
    "bookmarks": lambda c, r: c.scratcher.get("/bookmarks"),
    "home": lambda c, r: c.readers[0].get("/timeline/home"),
    "poll": lambda c, r: c.readers[0].get("/timeline/poll", timeout=0),
    "search_tweets": lambda c, r: c.readers[0].get("/search", q=f"#{c.tag}"),
    "search_users": lambda c, r: c.readers[0].get("/search/users", q=c.author.username[:4]),
    "trends": lambda c, r: c.readers[0].get("/trends"),
    "list_notifications": lambda c, r: c.readers[1].get("/notifications"),
    "mark_read": lambda c, r: c.readers[1].post("/notifications/read", {}),
    "create_upload": lambda c, r: c.scratcher.post("/media", {"content_type": "image/png", "size": 1024}),
    "get_media": lambda c, r: c.scratcher.get(f"/media/{c.media_id}"),
    "set_alt_text": lambda c, r: c.scratcher.http.put(f"/media/{c.media_id}", json={"alt_text": f"round {r}"}),
    "complete_upload": lambda c, r: c.scratcher.post(f"/media/{c.video[0]}/complete", c.video[1]),
}


def independent_of(server: str) -> set[str]:
    """The routes whose function does not use the server's resource, from the wiring table: they must keep working."""
    resource = RESOURCE[server]
    return {route.operation for fn in wiring.FUNCTIONS if resource not in fn.uses for route in fn.routes}


def test_the_probe_covers_every_route_and_the_derived_sets_are_not_empty() -> None:
    """Guards the guard: a route added to the wiring table without a probe request fails here, and every outage has
    routes it must leave working (at least /health and /openapi.json, which use no store)."""
    assert set(REQUESTS) == {route.operation for _, route in wiring.all_routes()}
    assert independent_of("cassandra") >= {"health", "openapi", "trends"}
    assert independent_of("redis") >= {"health", "openapi", "list_notifications", "mark_read"}
    assert independent_of("gremlin") >= {"signup", "login", "trends", "list_notifications", "create_upload"}
    assert "search_tweets" not in independent_of("opensearch") and "home" in independent_of("opensearch")


def probe(cast: Cast, round_: int) -> list[Timed]:
    """One round: every route of the API, each timed, during the outage."""
    return [timed(op, lambda request=request: request(cast, round_)) for op, request in REQUESTS.items()]


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


def _settled(check: Callable[[], bool], what: Callable[[], str]) -> float:
    try:
        return wait_until(check, SETTLE_S)
    except AssertionError:
        raise AssertionError(f"{what()} {SETTLE_S}s after recovery") from None


def check_nothing_lost(cast: Cast, test: str, *, trended_from: int = 0) -> None:
    """Every acknowledged tweet is readable and every consumer's effect is there exactly once: in every reader's home
    timeline (fanout), in search (indexer), as a mention notification (notifier) and as its own trend (trender;
    from ``trended_from`` on, when the trends store was wiped with the cache)."""
    expected = sorted(cast.acknowledged, key=int, reverse=True)
    reader, mentioned = cast.readers
    for tweet_id in expected:
        assert reader.get(f"/tweets/{tweet_id}").status_code == 200, f"acknowledged tweet {tweet_id} is not readable"
    for i, client in enumerate(cast.readers):
        figure(
            test,
            **{
                f"timeline_settle_s_reader{i}": _settled(
                    lambda c=client: home_ids(c) == expected,
                    lambda c=client, i=i: f"reader {i}: home timeline {home_ids(c)} instead of {expected}",
                )
            },
        )
    figure(
        test,
        search_settle_s=_settled(
            lambda: sorted(search_ids(reader, f"#{cast.tag}") or []) == sorted(expected),
            lambda: f"search for #{cast.tag}: {search_ids(reader, f'#{cast.tag}')} instead of {sorted(expected)}",
        ),
        mentions_settle_s=_settled(
            lambda: sorted(mention_ids(mentioned)) == sorted(expected),
            lambda: f"mention notifications {sorted(mention_ids(mentioned))} instead of {sorted(expected)}",
        ),
    )
    wanted = {cast.trended[t]: 1 for t in cast.acknowledged[trended_from:]}
    assert wanted, "no tweet to find in the trends"

    def trends_present() -> bool:
        counts = trend_counts(reader)
        return all(counts.get(tag) == n for tag, n in wanted.items())

    figure(
        test,
        trends_checked=len(wanted),
        trends_settle_s=_settled(
            trends_present, lambda: f"trends {trend_counts(reader)} lack one of {wanted} (each once)"
        ),
    )


def check_no_dead_letters(stack: LocalStack, stream_name: str, before: int, test: str) -> None:
    """A consumer that gave up on a record during the outage lost it: the outage must be waited out, not skipped."""
    letters = dead_letters(stack.data_dir, stream_name)[before:]
    figure(test, dead_letters_added=len(letters))
    assert letters == [], [f"{d['consumer']}: {d['error'][:200]}" for d in letters]


def retry_refused(cast: Cast) -> None:
    """A client retries what was refused with the same Idempotency-Key: it must now be accepted, once."""
    for key, content in cast.refused_keys[:3]:
        response = cast.author.post("/tweets", {"content": content}, headers={"Idempotency-Key": key})
        assert response.status_code == 201, f"retry with Idempotency-Key {key} after recovery: {response.status_code}"
        own_tag = next(word[1:] for word in content.split() if word.startswith(f"#{cast.tag}x"))
        cast._acknowledge(response.json()["tweet_id"], own_tag)
    cast.refused_keys.clear()


def outage(
    cast: Cast,
    server: str,
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
    must_work = must_work | independent_of(server)
    figure(test, must_work=sorted(must_work))
    check_outage_responses(results, must_work, must_refuse)
    return results


def _letters(stack: LocalStack, env: dict[str, str]) -> int:
    return len(dead_letters(stack.data_dir, env["CHIRP_STREAM_NAME"]))


def test_redis_killed_mid_run_then_restarted(
    fault_runtime: LocalStack, fault_servers: FaultServerSet, fault_env: dict[str, str]
) -> None:
    """Given readers following an author and three tweets just acknowledged
    When Redis is SIGKILLed mid-run (cache, idempotency keys, rate limits and trends gone) and restarted empty
    Then during the outage every route answers within the bound — 503 + Retry-After where it needs the cache, and
    the routes of functions that do not use the cache keep working — and afterwards every tweet acknowledged before,
    during and after is readable, in both readers' rebuilt home timelines, in search and in the mentioned reader's
    notifications, each acknowledged after the restart is in the trends, and nothing was dead-lettered."""
    test = "redis killed+restarted"
    before = _letters(fault_runtime, fault_env)
    cast = make_cast(fault_runtime, "rd", rounds=3)
    for n in range(3):
        assert cast.post(n).status_code == 201
    fault_servers.kill("redis")
    restarted_at: list[int] = []

    def restart() -> float:
        seconds = fault_servers.restart("redis")
        restarted_at.append(len(cast.acknowledged))  # the trends of earlier tweets went with the wiped cache
        return seconds

    outage(
        cast,
        "redis",
        rounds=3,
        must_work={"get_tweet"},
        must_refuse={"create_tweet", "home"},
        restore=restart,
        test=test,
    )
    retry_refused(cast)
    for n in range(3, 6):
        assert cast.post(n).status_code == 201
    check_nothing_lost(cast, test, trended_from=restarted_at[0])
    check_no_dead_letters(fault_runtime, fault_env["CHIRP_STREAM_NAME"], before, test)


def test_gremlin_frozen_degrades_graph_reads_only(
    fault_runtime: LocalStack, fault_servers: FaultServerSet, fault_env: dict[str, str]
) -> None:
    """Given readers following an author
    When Gremlin Server is stopped with SIGSTOP (it accepts connections and never answers: a TinkerGraph restart
    would lose the in-memory graph, which Neptune never does) and later continued
    Then every route answers within the store timeout plus a small margin: follows 503 + Retry-After (the home
    timeline may answer from the cache), posting, reading, liking and search keep working, as do the routes of
    functions that do not use the graph; afterwards every consumer caught up (timelines, search, mentions, trends)
    and nothing was dead-lettered."""
    test = "gremlin stopped (SIGSTOP)"
    before = _letters(fault_runtime, fault_env)
    cast = make_cast(fault_runtime, "gr", rounds=1)
    assert cast.post(0).status_code == 201
    wait_until(lambda: home_ids(cast.readers[0]) == cast.acknowledged, SETTLE_S)
    fault_servers.freeze("gremlin")
    try:
        outage(
            cast,
            "gremlin",
            rounds=1,
            must_work={"get_tweet", "create_tweet", "search_tweets", "like"},
            must_refuse={"follow"},  # a graph write; reads may be served from the cache
            restore=lambda: _thaw(fault_servers, "gremlin"),
            test=test,
        )
    finally:
        fault_servers.thaw("gremlin")
    retry_refused(cast)
    check_nothing_lost(cast, test)
    check_no_dead_letters(fault_runtime, fault_env["CHIRP_STREAM_NAME"], before, test)


def _thaw(servers: FaultServerSet, name: str) -> float:
    servers.thaw(name)
    return 0.0


def test_opensearch_killed_search_degrades_and_catches_up(
    fault_runtime: LocalStack, fault_servers: FaultServerSet, fault_env: dict[str, str]
) -> None:
    """Given readers following an author
    When the OpenSearch node is SIGKILLed, tweets are posted, and the node is restarted on the same data directory
    Then search answers 503 + Retry-After within the bound while every route of every other function keeps
    working, and afterwards the index catches up from the stream (every acknowledged tweet is searchable), the other
    consumers' effects are all there and nothing was dead-lettered."""
    test = "opensearch killed+restarted"
    before = _letters(fault_runtime, fault_env)
    cast = make_cast(fault_runtime, "os", rounds=2)
    assert cast.post(0).status_code == 201
    wait_until(lambda: search_ids(cast.readers[0], f"#{cast.tag}") == cast.acknowledged, SETTLE_S)
    fault_servers.kill("opensearch")
    outage(
        cast,
        "opensearch",
        rounds=2,
        must_work={"get_tweet", "create_tweet", "home", "like"},
        must_refuse={"search_tweets"},
        restore=lambda: fault_servers.restart("opensearch"),
        test=test,
    )
    check_nothing_lost(cast, test)
    check_no_dead_letters(fault_runtime, fault_env["CHIRP_STREAM_NAME"], before, test)


def test_cassandra_killed_mid_run_then_restarted(
    fault_runtime: LocalStack, fault_servers: FaultServerSet, fault_env: dict[str, str]
) -> None:
    """Given readers following an author and three tweets just acknowledged
    When Cassandra is SIGKILLed mid-run and restarted on the same data directory (commit log replay)
    Then during the outage every route answers within the bound (never 500, never hang), posting is refused with
    503 + Retry-After, the routes that need no records (health, the document, trends) keep working, and afterwards
    every tweet acknowledged before, during and after is readable and every consumer's effect is there; nothing was
    dead-lettered."""
    test = "cassandra killed+restarted"
    before = _letters(fault_runtime, fault_env)
    cast = make_cast(fault_runtime, "cs", rounds=2)
    for n in range(3):
        assert cast.post(n).status_code == 201
    fault_servers.kill("cassandra")
    outage(
        cast,
        "cassandra",
        rounds=2,
        must_work=set(),
        must_refuse={"create_tweet"},  # a record write; reads may be served from the tweet and timeline caches
        restore=lambda: fault_servers.restart("cassandra"),
        test=test,
    )
    retry_refused(cast)
    for n in range(3, 6):
        assert cast.post(n).status_code == 201
    check_nothing_lost(cast, test)
    check_no_dead_letters(fault_runtime, fault_env["CHIRP_STREAM_NAME"], before, test)
