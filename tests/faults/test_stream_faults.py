"""Stream faults on the servers backend (Kinesis stand-in + the local runtime's event source mappings): a consumer
crash mid-batch, duplicate delivery, out-of-order delivery and poison records. Crafted records are published straight
onto the runtime's stream with boto3 ``put_records`` and the outcome is observed through the API.

Rules under test: no loss, no double counts (timelines, search, notifications, likes), a poison record goes to the
dead-letter table intact without blocking its shard, and ``chirp dlq list|replay`` works on those dead letters.
(SIGKILL of the runtime on the embedded backend: tests/e2e/test_persistence_e2e.py.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faults.faultkit import (
    StreamTap,
    dead_letters,
    figure,
    home_ids,
    mention_ids,
    notifications,
    search_ids,
    wait_until,
)

from chirp import wiring
from support.runtime import REPO, Client, LocalStack

SETTLE_S = 30.0
CONSUMERS = {fn.name for fn in wiring.stream_consumers()}  # every mapping dead-letters a poison record


@dataclass
class Trio:
    author: Client
    reader: Client  # follows the author; home timeline materialized
    mentioned: Client
    tag: str


def make_trio(stack: LocalStack, label: str) -> Trio:
    run = uuid.uuid4().hex[:6]
    author, reader, mentioned = (stack.user(f"{label}{role}{run}") for role in ("a", "r", "m"))
    reader.follow(author.username)
    assert home_ids(reader) == []
    return Trio(author, reader, mentioned, tag=f"{label}{run}")


def sentinel(trio: Trio) -> str:
    """A tweet by the same author (same partition key, so the same shard, after everything published before it);
    once every consumer has handled it, every earlier record of that shard has been handled too."""
    tweet_id = str(trio.author.tweet(f"#{trio.tag} sentinel @{trio.mentioned.username}")["tweet_id"])
    wait_until(lambda: tweet_id in (home_ids(trio.reader) or []), SETTLE_S)
    wait_until(lambda: tweet_id in (search_ids(trio.reader, f"#{trio.tag}") or []), SETTLE_S)
    wait_until(lambda: tweet_id in mention_ids(trio.mentioned), SETTLE_S)
    return tweet_id


def unprocessed_at_kill(tap: StreamTap, data_dir: Path, marker: str) -> dict[str, int]:
    """Per consumer, how many of the records carrying ``marker`` lie beyond its checkpoint on their shard (read
    after the kill, before the restart: what the consumers had not finished when the runtime died)."""
    done = tap.checkpoints(data_dir)  # Kinesis: the runtime's mapping table; Kafka: the consumer groups' offsets
    records = [(shard, seq) for shard, seq, _, data in tap.sequenced() if marker.encode() in data]
    assert records, f"no record carries {marker}"
    return {c: sum(1 for shard, seq in records if seq > done.get((c, shard), 0)) for c in sorted(CONSUMERS)}


def test_consumer_crash_mid_batch_redelivers_without_loss_or_double_counts(
    fault_runtime: LocalStack, tap: StreamTap
) -> None:
    """Given a reader following an author and a mentioned user
    When 30 tweets mentioning that user are posted by 3 threads and liked, and the runtime (every consumer) is
    SIGKILLed right after the last acknowledgement, while records of that burst are still unprocessed (checked
    against the mapping's checkpoints after the kill: otherwise the crash proves nothing), then restarted on the
    same data directory
    Then the consumers resume from their checkpoints: every tweet is in the timeline and in search exactly once,
    the mentioned user has exactly one mention notification per tweet, and like counts are exact."""
    trio = make_trio(fault_runtime, "cr")

    def post(n: int) -> str:
        tweet_id = str(trio.author.tweet(f"#{trio.tag} burst {n} @{trio.mentioned.username}")["tweet_id"])
        assert trio.reader.post(f"/tweets/{tweet_id}/like").status_code == 200
        return tweet_id

    with ThreadPoolExecutor(max_workers=3) as pool:
        posted = list(pool.map(post, range(30)))
    fault_runtime.stop(signal.SIGKILL)
    pending = unprocessed_at_kill(tap, fault_runtime.data_dir, trio.tag)
    figure("consumer crash mid-batch", unprocessed_at_kill=pending)
    assert any(pending.values()), f"every record of the burst was processed before the kill: {pending}"
    started = time.monotonic()
    fault_runtime.start()
    figure("consumer crash mid-batch", runtime_restart_s=round(time.monotonic() - started, 2))
    expected = sorted(posted, key=int, reverse=True)
    figure(
        "consumer crash mid-batch",
        timeline_settle_s=wait_until(lambda: home_ids(trio.reader) == expected, SETTLE_S),
        search_settle_s=wait_until(
            lambda: sorted(search_ids(trio.reader, f"#{trio.tag}") or []) == sorted(expected), SETTLE_S
        ),
        mentions_settle_s=wait_until(lambda: len(set(mention_ids(trio.mentioned))) >= 30, SETTLE_S),
        # like notifications come from their own events (keyed by the tweet, not its author): they may settle after
        # the mentions; a lost one makes this wait run out and the exact comparison below fail
        likes_settle_s=wait_until(lambda: len({n["tweet_id"] for n in like_notes(trio.author)}) >= 30, SETTLE_S),
    )
    mentions = mention_ids(trio.mentioned)
    assert sorted(mentions) == sorted(expected), f"{len(mentions)} mention notifications for 30 tweets"
    likes = like_notes(trio.author)
    assert sorted(n["tweet_id"] for n in likes) == sorted(expected), f"{len(likes)} like notifications for 30 likes"
    for tweet_id in expected:
        assert trio.reader.get(f"/tweets/{tweet_id}").json()["likes_count"] == 1


def like_notes(user: Client) -> list[dict[str, Any]]:
    return [n for n in notifications(user) if n["type"] == "like"]


def test_duplicate_delivery_counts_once(fault_runtime: LocalStack, tap: StreamTap) -> None:
    """Given a tweet mentioning a user, liked by a reader, fully processed
    When its tweet_created and tweet_liked records are delivered twice more (same bytes, same partition key)
    Then search, the timeline, the mention and like notifications and the like count each still hold it once."""
    trio = make_trio(fault_runtime, "dp")
    tweet_id = str(trio.author.tweet(f"#{trio.tag} once @{trio.mentioned.username}")["tweet_id"])
    assert trio.reader.post(f"/tweets/{tweet_id}/like").json()["likes_count"] == 1
    first = sentinel(trio)
    originals = tap.find(f'"tweet_id":"{tweet_id}"') or tap.find(tweet_id)
    kinds = sorted(json.loads(data)["type"] for _, data in originals)
    assert "tweet_created" in kinds and "tweet_liked" in kinds, kinds
    for key, data in originals * 2:
        tap.put(data, key)
    last = sentinel(trio)
    assert search_ids(trio.reader, f"#{trio.tag}") == [last, first, tweet_id]
    assert home_ids(trio.reader) == [last, first, tweet_id]
    assert mention_ids(trio.mentioned).count(tweet_id) == 1
    assert [n["tweet_id"] for n in notifications(trio.author) if n["type"] == "like"] == [tweet_id]
    assert trio.reader.get(f"/tweets/{tweet_id}").json()["likes_count"] == 1
    figure("duplicate delivery", records_redelivered=len(originals) * 2, kinds=kinds)


def test_out_of_order_delivery_does_not_resurrect_a_deleted_tweet(fault_runtime: LocalStack, tap: StreamTap) -> None:
    """Given a tweet that was posted and then deleted (both events processed)
    When its tweet_created record is delivered again after the tweet_deleted one (out of order)
    Then the tweet stays gone: 404, not in the reader's timeline, not in search."""
    trio = make_trio(fault_runtime, "oo")
    tweet_id = str(trio.author.tweet(f"#{trio.tag} short-lived")["tweet_id"])
    wait_until(lambda: search_ids(trio.reader, f"#{trio.tag}") == [tweet_id], SETTLE_S)
    assert trio.author.delete(f"/tweets/{tweet_id}").status_code == 200
    wait_until(lambda: search_ids(trio.reader, f"#{trio.tag}") == [], SETTLE_S)
    created = [(k, d) for k, d in tap.find(tweet_id) if json.loads(d)["type"] == "tweet_created"]
    assert len(created) == 1
    tap.put(created[0][1], created[0][0])
    last = sentinel(trio)
    assert trio.reader.get(f"/tweets/{tweet_id}").status_code == 404
    assert home_ids(trio.reader) == [last]
    assert search_ids(trio.reader, f"#{trio.tag}") == [last]


def _poison(tap: StreamTap, trio: Trio, data: bytes) -> None:
    tap.put(data, str(trio.author.user_id))


def test_poison_record_is_dead_lettered_intact_and_the_shard_moves_on(
    fault_runtime: LocalStack, tap: StreamTap, fault_env: dict[str, str]
) -> None:
    """Given a record that is not an event (UTF-8, not JSON) on the author's shard
    When the author then posts a tweet
    Then the tweet is delivered (the poison does not block the shard), and every consumer's dead-letter row holds
    the poison record byte for byte with the error that sent it there."""
    trio = make_trio(fault_runtime, "pz")
    marker = f"poison-{uuid.uuid4().hex}"
    data = f"{{not json: {marker}".encode()
    started = time.monotonic()
    _poison(tap, trio, data)
    sentinel(trio)
    figure("poison (utf-8)", shard_unblocked_s=round(time.monotonic() - started, 2))

    def letters_of_marker() -> list[dict[str, Any]]:
        return [d for d in dead_letters(fault_runtime.data_dir, fault_env["CHIRP_STREAM_NAME"]) if marker in d["data"]]

    wait_until(lambda: len(letters_of_marker()) >= len(CONSUMERS), 10)
    letters = letters_of_marker()
    assert sorted(d["consumer"] for d in letters) == sorted(CONSUMERS), letters
    assert [d["raw"] for d in letters] == [data] * len(CONSUMERS)
    assert all(d["partition_key"] == str(trio.author.user_id) and d["error"] for d in letters)
    figure("poison (utf-8)", dead_letters=len(letters), error=letters[0]["error"][:120])


def _chirp(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chirp.cli", *args],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_chirp_dlq_lists_and_replays_the_servers_runtime_dead_letters(
    fault_runtime: LocalStack, tap: StreamTap, fault_env: dict[str, str]
) -> None:
    """Given a poison record dead-lettered by the runtime on the servers backend
    When the documented commands run against the runtime's data directory and environment
    Then ``chirp dlq list`` shows it (consumer, error, data) and ``chirp dlq replay`` puts it back onto the stream."""
    trio = make_trio(fault_runtime, "dq")
    marker = f"replayable-{uuid.uuid4().hex}"
    data = json.dumps({"event_id": marker, "type": "tweet_created", "occurred_at_ms": 1, "partition_key": "1"})
    _poison(tap, trio, data.encode())  # a valid JSON envelope that no consumer can handle (no data)
    sentinel(trio)
    stream = fault_env["CHIRP_STREAM_NAME"]
    wait_until(
        lambda: len([d for d in dead_letters(fault_runtime.data_dir, stream) if marker in d["data"]]) == len(CONSUMERS),
        10,
    )
    env = {**fault_env, "CHIRP_DATA_DIR": str(fault_runtime.data_dir)}
    listed = _chirp("dlq", "list", "--data-dir", str(fault_runtime.data_dir), env=env)
    assert listed.returncode == 0, listed.stderr[-2000:]
    rows = [json.loads(line) for line in listed.stdout.splitlines() if marker in line]
    figure("chirp dlq (servers)", listed_rows=len(rows), stdout_lines=len(listed.stdout.splitlines()))
    assert {r["consumer"] for r in rows} == CONSUMERS, (
        f"chirp dlq list shows {len(rows)} of {len(CONSUMERS)} dead letters"
    )
    before = len(tap.find(marker))
    replayed = _chirp("dlq", "replay", "--data-dir", str(fault_runtime.data_dir), env=env)
    figure("chirp dlq (servers)", replay_rc=replayed.returncode, replay_out=replayed.stdout[-200:])
    assert replayed.returncode == 0, replayed.stderr[-2000:]
    assert len(tap.find(marker)) > before, "chirp dlq replay did not put the dead letter back onto the Kinesis stream"


def test_binary_poison_record_does_not_block_its_shard(
    fault_runtime: LocalStack, tap: StreamTap, fault_env: dict[str, str]
) -> None:
    """Given a record whose bytes are not UTF-8 (Kinesis data is arbitrary bytes) on the author's shard
    When the author then posts a tweet
    Then the tweet is still delivered to the reader's timeline and search, and every consumer dead-letters the
    record once, its bytes equal to the published bytes (every byte value, invalid UTF-8 and NUL included)."""
    trio = make_trio(fault_runtime, "bz")
    marker = uuid.uuid4().hex
    data = b"\xff\xfe" + marker.encode() + b"\x80\x00\xc3(" + bytes(range(256))
    _poison(tap, trio, data)
    started = time.monotonic()
    sentinel(trio)
    figure("poison (binary)", shard_unblocked_s=round(time.monotonic() - started, 2))

    def letters_of_marker() -> list[dict[str, Any]]:
        return [d for d in dead_letters(fault_runtime.data_dir, fault_env["CHIRP_STREAM_NAME"]) if marker in d["data"]]

    wait_until(lambda: len(letters_of_marker()) >= len(CONSUMERS), 10)
    letters = letters_of_marker()
    assert sorted(d["consumer"] for d in letters) == sorted(CONSUMERS), letters
    for letter in letters:  # byte for byte: a lossy decode (U+FFFD) or re-encoding would differ here
        assert letter["raw"] == data, f"{letter['consumer']}: dead letter {letter['raw']!r} is not {data!r}"
        assert letter["partition_key"] == str(trio.author.user_id) and letter["error"]
