"""The interfaces between services and stores. Embedded adapters (SQLite, in-process) and production adapters
(Keyspaces, ElastiCache, Neptune, OpenSearch, S3, Kinesis, API Gateway management) implement the same ports, and
one contract test suite runs against every adapter of a port."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from chirp.errors import ValidationFailed
from chirp.model import (
    AuthorCard,
    Event,
    MediaProcessing,
    MediaRecord,
    MultipartTicket,
    NotificationRecord,
    Page,
    RateDecision,
    Relation,
    SafetySets,
    SearchHit,
    TrendScore,
    TweetCounts,
    TweetRecord,
    UploadTicket,
    UserRecord,
)
from chirp.query import SearchQuery


class DuplicateKey(Exception):
    """A create found its key already present (username, email, id)."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


class StoreUnavailable(Exception):
    """A backing store could not be reached; services turn it into 503 + Retry-After."""


# Empty string keys: Cassandra refuses an empty partition key ("Key may not be empty") where SQLite stores one, so
# every adapter applies the same rule at its edge, before any store sees the key: a write with an empty key is a
# ValidationFailed (400, nothing written); a lookup by one names nothing. The contract suites hold every adapter to it.


def require_keys(what: str, *keys: str) -> None:
    """Refuse a write whose string key is empty."""
    if not all(keys):
        raise ValidationFailed(f"{what} must not be empty", code="empty_key")


def present_keys(keys: Sequence[str]) -> list[str]:
    """The keys of a lookup that can name something (an empty key names nothing), in order."""
    return [key for key in keys if key]


LIKES_CURSOR_PATTERN = "^[0-9]{1,19}:[0-9]{1,19}$"  # the OpenAPI document states it too


def parse_likes_cursor(cursor: str | None) -> tuple[int, int] | None:
    """A likes-page cursor, ``<liked_at_ms>:<tweet_id>`` (the last like of the previous page); a malformed one is a
    ValidationFailed (400)."""
    if not cursor:
        return None
    if not re.fullmatch(LIKES_CURSOR_PATTERN.strip("^$"), cursor):
        raise ValidationFailed("cursor is not a likes cursor", code="invalid_cursor")
    at, _, last = cursor.partition(":")
    return int(at), int(last)


class UserStore(Protocol):
    def create(self, user: UserRecord) -> None:
        """Insert a user; raises DuplicateKey('username'|'email') when either is taken (case-insensitive)."""

    def bulk_load_users(self, users: Sequence[UserRecord]) -> None:
        """Bulk path for loaders (the benchmark, a migration): write many new users as fast as the store allows,
        with their username and email claims. The caller guarantees ids, usernames and emails are new and unique:
        nothing is checked, so a duplicate overwrites or fails, depending on the store."""

    def get(self, user_id: int) -> UserRecord | None: ...
    def get_many(self, user_ids: Sequence[int]) -> dict[int, UserRecord]: ...
    def get_by_username(self, username: str) -> UserRecord | None: ...
    def update(self, user: UserRecord) -> None:
        """Overwrite the mutable fields of an existing user (display name, bio, avatar, place, password hash, token
        version); the id, username, email and creation time stay. A user that does not exist stays absent."""

    def delete(self, user: UserRecord) -> None:
        """Remove the user row and free its username and email claims (idempotent: a second delete is a no-op)."""


class TweetStore(Protocol):
    def create(self, tweet: TweetRecord) -> None:
        """Insert a tweet and its per-author and per-thread index rows; DuplicateKey('tweet_id') if the id exists."""

    def bulk_load_tweets(self, tweets: Sequence[TweetRecord]) -> None:
        """Bulk path for loaders: write many new tweets with their index rows, adding to the authors' tweet counts.
        The caller guarantees the ids are new (nothing is checked); reply counts are the engagement store's."""

    def get(self, tweet_id: int) -> TweetRecord | None: ...
    def get_many(self, tweet_ids: Sequence[int]) -> dict[int, TweetRecord]: ...
    def delete(self, tweet: TweetRecord) -> bool: ...
    def author_tweet_ids(self, author_id: int, *, before: int | None, limit: int) -> list[int]:
        """Newest first, ids strictly below ``before``."""

    def recent_ids_by_authors(
        self, author_ids: Sequence[int], *, limit: int, before: int | None = None, after: int | None = None
    ) -> list[int]:
        """The newest ``limit`` tweet ids by any of the authors with after < id < before, newest first."""

    def reply_ids(self, parent_id: int, *, after: int | None, limit: int) -> list[int]:
        """Replies to a tweet, oldest first, ids strictly above ``after``."""

    def count_by_author(self, author_id: int) -> int:
        """The tweets the author wrote (their retweet entries are not counted)."""


EngagementKind = Literal["like", "retweet"]


@dataclass(frozen=True)
class EngagementChange:
    """One actor's like (or retweet) of a tweet set on or off; ``at_ms`` is the row's time when it is new."""

    user_id: int
    on: bool
    at_ms: int


class EngagementStore(Protocol):
    def set_engagements(self, kind: EngagementKind, tweet_id: int, changes: Sequence[EngagementChange]) -> list[bool]:
        """Apply one tweet's changes in order, each row by its own guarded write (as ``add_like`` ...), then move the
        tweet's count once by their net change (the actions consumer's coalesced counter write); whether each
        changed anything. All or nothing: when a row or the count cannot be written the rows this call changed are
        set back before it raises, so a retry applies (and counts) them afresh."""

    def add_like(self, tweet_id: int, user_id: int, at_ms: int) -> bool:
        """True when this user's like is new (and the count went up by exactly one)."""

    def remove_like(self, tweet_id: int, user_id: int) -> bool: ...
    def add_retweet(self, tweet_id: int, user_id: int, at_ms: int) -> bool: ...
    def remove_retweet(self, tweet_id: int, user_id: int) -> bool: ...
    def liked_by(self, user_id: int, tweet_ids: Sequence[int]) -> set[int]: ...
    def likes_page(self, user_id: int, *, cursor: str | None, limit: int) -> Page[int]:
        """The tweets ``user_id`` liked, newest like first (a user's likes tab); the cursor is opaque."""

    def retweeted_by(self, user_id: int, tweet_ids: Sequence[int]) -> set[int]: ...
    def adjust_replies(self, tweet_id: int, delta: int) -> None: ...
    def counts(self, tweet_ids: Sequence[int]) -> dict[int, TweetCounts]: ...
    def forget_tweet(self, tweet_id: int) -> None:
        """Drop every like, retweet and counter of a deleted tweet."""

    def add_bookmark(self, user_id: int, tweet_id: int, at_ms: int) -> None:
        """Private to the user; adding twice keeps one bookmark."""

    def remove_bookmark(self, user_id: int, tweet_id: int) -> None: ...
    def bookmark_ids(self, user_id: int, *, before: int | None, limit: int) -> list[int]:
        """The user's bookmarked tweet ids, newest tweet first, strictly older than ``before``."""

    def bookmarked_by(self, user_id: int, tweet_ids: Sequence[int]) -> set[int]: ...
    def forget_bookmarks(self, user_id: int) -> None:
        """Drop every bookmark of the user (account deletion)."""

    def forget_likes(self, user_id: int, *, limit: int) -> tuple[list[int], bool]:
        """Take back up to ``limit`` of the user's likes, newest first, each counted down once (account deletion):
        (the tweets whose like count went down, whether likes remain). Idempotent; a like of a tweet deleted since
        leaves the tab without touching any count."""

    def bulk_load_likes(self, likes: Sequence[tuple[int, int, int]]) -> None:
        """Bulk path for loaders: (tweet_id, user_id, at_ms) likes that are new and distinct (nothing is checked),
        each adding one to its tweet's like count."""


class GraphStore(Protocol):
    def follow(self, follower_id: int, followee_id: int, at_ms: int) -> bool:
        """True when the edge is new."""

    def unfollow(self, follower_id: int, followee_id: int) -> bool: ...
    def following_among(self, follower_id: int, candidates: Sequence[int]) -> set[int]:
        """The subset of ``candidates`` that ``follower_id`` follows."""

    def followers_page(self, user_id: int, *, cursor: str | None, limit: int) -> Page[int]:
        """Newest follow first; the cursor is opaque (the API's follower lists)."""

    def follower_ids(self, user_id: int, *, batch_size: int) -> Iterator[list[int]]:
        """Every follower of ``user_id`` exactly once, in no particular order, in batches of at most ``batch_size``
        as one streamed read delivers them: fan-out needs no order, so no edge is sorted and no page re-reads."""

    def following_page(self, user_id: int, *, cursor: str | None, limit: int) -> Page[int]: ...
    def following_ids(self, user_id: int, *, limit: int) -> list[int]: ...
    def following_with_follower_counts(self, user_id: int, *, limit: int) -> list[tuple[int, int]]:
        """(followee, its follower count) for the accounts ``user_id`` follows, newest follow first, in one read: a
        timeline rebuild splits them into fanned-out authors and celebrities without a second query."""

    def counts(self, user_id: int) -> tuple[int, int]:
        """(followers, following), exact."""

    def follower_counts(self, user_ids: Sequence[int]) -> dict[int, int]: ...
    def followees_with_min_followers(self, user_id: int, min_followers: int, *, limit: int) -> list[int]:
        """Accounts ``user_id`` follows that have at least ``min_followers`` followers (celebrities)."""

    def bulk_load_follows(self, edges: Sequence[tuple[int, int, int]]) -> None:
        """Bulk path for loaders: (follower_id, followee_id, at_ms) edges that are new and distinct (nothing is
        checked), each adding one to both users' counts. Pages list them newest ``at_ms`` first, like follows, when
        their ``at_ms`` are newer than the follows already stored (the embedded store pages in insertion order)."""

    def add_relation(self, user_id: int, other_id: int, relation: Relation, at_ms: int) -> bool:
        """``user_id`` blocks (mutes) ``other_id``: a durable edge beside the follows; True when it is new. Follows are
        not touched here (the service unfollows both ways first, so timelines unmerge)."""

    def remove_relation(self, user_id: int, other_id: int, relation: Relation) -> bool: ...
    def relation_ids(self, user_id: int, relation: Relation, *, limit: int) -> list[int]:
        """Whom ``user_id`` blocks (mutes), newest first."""

    def safety_sets(self, user_id: int, *, limit: int) -> SafetySets:
        """In one read: whom the user blocks, who blocks them, whom they mute, who mutes them (at most ``limit`` of
        each)."""

    def suggestions(self, user_id: int, *, sample: int, limit: int) -> list[tuple[int, int]]:
        """Who to follow: (account, overlap) for accounts followed by the user's followees (the ``sample`` most recent
        of them) that the user does not follow, is not, and has no block with either way; most followees in common
        first (ties: the higher id), at most ``limit``."""


@dataclass(frozen=True, slots=True)
class HomeView:
    """What a home read needs of the cache about its reader, read at once (``TimelineStore.home_view``)."""

    ids: list[int] | None  # the page, newest first; None: the timeline does not exist
    truncated: bool  # as ``TimelineStore.truncated``
    celebrities: list[int] | None  # the cached celebrity followees; None: not cached
    safety: SafetySets | None  # the cached blocks and mutes; None: not cached


class TimelineStore(Protocol):
    """Materialized home timelines: capped, ordered sets of tweet ids per user. A timeline that does not exist was
    never built or expired because its owner was inactive; fan-out writes only to timelines that exist. (A second
    store of this kind keeps celebrities' own recent tweets, keyed by author: ``Stores.author_timelines``.)"""

    def exists(self, user_id: int) -> bool: ...
    def build(self, user_id: int, tweet_ids: Sequence[int], *, truncated: bool = False) -> None:
        """Create (or extend) the timeline with these ids, trim to the cap, mark it as existing and active.
        ``truncated`` sets the mark: older ids than these exist (the caller read only the newest ones), or not (a
        complete read, e.g. filling a timeline created empty and truncated); trimming at the cap marks it too."""

    def build_many(self, timelines: Mapping[int, Sequence[int]]) -> None:
        """``build`` of many timelines at once (pipelined: a round trip per chunk of timelines, not per timeline):
        the bulk path for loaders and migrations."""

    def drop(self, user_ids: Sequence[int]) -> None:
        """Delete these timelines and their cached celebrity lists: they no longer exist, as after expiry."""

    def add_if_exists(self, user_ids: Sequence[int], tweet_id: int) -> int:
        """Fan-out one tweet to many timelines; only existing timelines are written. Returns how many were. A
        timeline keeps at least its newest ``cap`` ids; trimming the older ones may be deferred to a later write."""

    def merge(self, user_id: int, tweet_ids: Sequence[int], *, truncated: bool = False) -> None:
        """Add ids to an existing timeline (no-op if it does not exist) and trim; ``truncated`` as for build."""

    def remove(self, user_ids: Sequence[int], tweet_ids: Sequence[int]) -> None: ...
    def page(self, user_id: int, *, before: int | None, after: int | None, limit: int) -> list[int] | None:
        """Newest first, after < id < before; None when the timeline does not exist. Reading keeps it alive."""

    def page_many(
        self, user_ids: Sequence[int], *, before: int | None, after: int | None, limit: int
    ) -> dict[int, list[int] | None]:
        """``page`` of several timelines at once (one round trip)."""

    def oldest(self, user_id: int) -> int | None: ...
    def truncated(self, user_id: int) -> bool:
        """Whether ids older than the timeline's oldest were left out (trimmed at the cap, or built or merged from a
        partial read). A short page of a timeline that is not truncated is the whole story: no store read needed."""

    def celebrities(self, user_id: int) -> list[int] | None:
        """The cached celebrity followees of ``user_id`` (whose tweets its home read merges), None if not cached."""

    def set_celebrities(self, user_id: int, celebrity_ids: Sequence[int]) -> None:
        """Cache them for a while (a missed invalidation heals when the entry expires)."""

    def forget_celebrities(self, user_ids: Sequence[int]) -> None:
        """Drop the cached lists: these users followed or unfollowed someone, or a followee crossed the threshold."""

    def safety(self, user_id: int) -> SafetySets | None:
        """The user's cached blocks and mutes (``GraphStore.safety_sets``), None if not cached."""

    def set_safety(self, user_id: int, sets: SafetySets) -> None:
        """Cache them for a while (every change drops them: ``forget_safety``)."""

    def forget_safety(self, user_ids: Sequence[int]) -> None:
        """Drop the cached sets: these users blocked, muted or were blocked (or the reverse)."""

    def home_view(self, user_id: int, *, before: int | None, after: int | None, limit: int) -> HomeView:
        """``page``, ``truncated``, ``celebrities`` and ``safety`` of one reader in one round trip (its keys share
        the reader's hash slot): the cache reads of a home read whose timeline exists, but for celebrities' lists."""


@dataclass(frozen=True, slots=True)
class CacheStats:
    """Entries a tweet cache answered (hits) and left to the store (misses) since it was built, per kind: tweet
    objects (a tombstone is a hit), counters, and the viewer's like/retweet flags (a tweet's pair is one entry)."""

    tweet_hits: int = 0
    tweet_misses: int = 0
    count_hits: int = 0
    count_misses: int = 0
    flag_hits: int = 0
    flag_misses: int = 0

    @property
    def hits(self) -> int:
        return self.tweet_hits + self.count_hits + self.flag_hits

    @property
    def misses(self) -> int:
        return self.tweet_misses + self.count_misses + self.flag_misses

    @property
    def hit_rate(self) -> float:
        looked_up = self.hits + self.misses
        return self.hits / looked_up if looked_up else 0.0

    def minus(self, earlier: CacheStats) -> CacheStats:
        """The lookups between ``earlier`` and this snapshot."""
        return CacheStats(*(getattr(self, name) - getattr(earlier, name) for name in CacheStats.__dataclass_fields__))

    def counted(self, found: CachedTweets, n: int, *, objects: bool, counts: bool, viewer: bool) -> CacheStats:
        """These figures plus one lookup of ``n`` tweets that answered ``found`` (the kinds asked for only)."""
        tweet_hits = len(found.tweets) + len(found.deleted) if objects else 0
        flag_hits = len(found.liked.keys() & found.retweeted.keys()) if viewer else 0
        return CacheStats(
            tweet_hits=self.tweet_hits + tweet_hits,
            tweet_misses=self.tweet_misses + (n - tweet_hits if objects else 0),
            count_hits=self.count_hits + len(found.counts),
            count_misses=self.count_misses + (len(found.count_versions) if counts else 0),
            flag_hits=self.flag_hits + flag_hits,
            flag_misses=self.flag_misses + (n - flag_hits if viewer else 0),
        )


@dataclass(slots=True)
class CachedTweets:
    """What one cache round trip knew about some tweets; anything absent is a miss for the store to answer."""

    tweets: dict[int, TweetRecord] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)
    """Tombstones: tweets known to be deleted (no store read needed to say so)."""
    counts: dict[int, TweetCounts] = field(default_factory=dict)
    count_versions: dict[int, str] = field(default_factory=dict)
    """For each tweet whose counts missed, the version of its counters at lookup time: pass it back to ``fill``, which
    stores counts read from the store only if no count change happened in between."""
    liked: dict[int, bool] = field(default_factory=dict)
    retweeted: dict[int, bool] = field(default_factory=dict)

    def flags_from_counts(self) -> None:
        """Counters are exact, so a tweet with no likes (retweets) is not liked (retweeted) by the viewer either:
        no flag entry needed — most tweets have none, so most flags are answered this way."""
        for tweet_id, counts in self.counts.items():
            if counts.likes <= 0:
                self.liked[tweet_id] = False
            if counts.retweets <= 0:
                self.retweeted[tweet_id] = False


FlagKind = Literal["like", "retweet"]


class TweetCache(Protocol):
    """A cache in front of the tweet, counter and engagement records, read and filled by hydration (cache-aside).
    Each call is one round trip. Tweets are immutable, so their objects never go stale; counters and flags stay
    exact because the code that changes the durable records tells the cache (``counts_changed``, ``set_flag``,
    ``tweet_deleted``), and fills never overwrite what such a change wrote meanwhile. Entries expire or are evicted
    (bounded); a miss is always answered by the store."""

    def lookup(
        self, tweet_ids: Sequence[int], *, viewer_id: int | None, objects: bool = True, counts: bool = True
    ) -> CachedTweets:
        """Tweet objects and tombstones (if ``objects``), counters (if ``counts``) and, with a viewer, the viewer's
        like/retweet flags of these tweets (from the viewer's entries, or from zero counters: ``flags_from_counts``)."""

    def fill(
        self,
        *,
        tweets: Sequence[TweetRecord] = (),
        counts: Mapping[int, tuple[TweetCounts, str]] | None = None,
        viewer_id: int | None = None,
        liked: Mapping[int, bool] | None = None,
        retweeted: Mapping[int, bool] | None = None,
    ) -> None:
        """Store what the store answered for misses. Never overwrites: a tweet object only where there is no entry
        (a tombstone wins), counters (with the version ``lookup`` reported; "" for a tweet whose counters never
        changed, such as a new one) only if no change came in between, a flag only where there is none."""

    def fill_new(self, tweet: TweetRecord) -> bool:
        """Cache a tweet just posted, before it is stored or published: its object, zero counters and its author's
        unset flags, each only where there is no entry (as ``fill``). Returns False when its id already had an
        object or a tombstone: the id was minted twice (two sandboxes drew the same random worker bits in the same
        millisecond), so the caller mints another. A claim that must survive a failover is waited on (cluster)."""

    def tweet_deleted(self, tweet_ids: Sequence[int]) -> None:
        """Replace the tweets' objects with tombstones and drop their counters (as a count change would)."""

    def deleted(self, tweet_ids: Sequence[int]) -> set[int]:
        """The tweets that have a tombstone (a miss is not proof of life: ask the store)."""

    def counts_changed(self, tweet_ids: Sequence[int]) -> None:
        """The durable counters of these tweets changed: drop the cached ones (and make pending fills stale)."""

    def set_flag(self, user_id: int, tweet_id: int, *, kind: FlagKind, on: bool) -> None:
        """The user's like or retweet of the tweet is now ``on`` (whatever the cache held)."""

    def authors(self, user_ids: Sequence[int]) -> dict[int, AuthorCard]:
        """The cached author cards (display name, avatar) of these users; an absent one is a miss."""

    def fill_authors(self, cards: Sequence[AuthorCard]) -> None:
        """Store cards read from the user store. They expire after a while: a fill that read the store just before
        a profile edit and lands just after its ``author_changed`` is stale for that long at most."""

    def author_changed(self, user_ids: Sequence[int]) -> None:
        """These users' profiles changed (or they are gone): drop their cards."""

    def stats(self) -> CacheStats: ...


# Mastodon's streams a connection can subscribe to (https://docs.joinmastodon.org/methods/streaming/): the user's
# home and notifications, notifications only, a hashtag (Chirp is one server: its hashtag and hashtag:local agree).
UserStream = Literal["user", "user:notification"]
TagStream = Literal["hashtag", "hashtag:local"]
MastodonStream = UserStream | TagStream
USER_STREAMS: tuple[UserStream, ...] = ("user", "user:notification")
TAG_STREAMS: tuple[TagStream, ...] = ("hashtag", "hashtag:local")


@dataclass(slots=True)
class Listeners:
    """Connections listening to some users (or a celebrity, or a hashtag), by protocol: Chirp's own, and Mastodon's
    by the stream they subscribed to (a push names that stream)."""

    chirp: list[str] = field(default_factory=list)
    mastodon: dict[str, list[str]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.chirp and not any(self.mastodon.values())


class ConnectionRegistry(Protocol):
    """WebSocket connections: Chirp's protocol (home events from the start) or Mastodon's streaming protocol (only
    the streams it subscribed to). ``connections_of`` and celebrity subscriptions cover the connections that
    receive a user's home updates: Chirp's, and Mastodon's subscribed to ``user``."""

    def register(self, connection_id: str, user_id: int, *, mastodon: bool = False) -> None: ...
    def unregister(self, connection_id: str) -> int | None:
        """Remove a connection, its celebrity subscriptions and its streams; returns the owner."""

    def connections_of(self, user_ids: Sequence[int]) -> dict[int, list[str]]: ...
    def listeners_of(self, user_ids: Sequence[int]) -> Listeners:
        """The users' connections by protocol and stream (one round trip): who a push to these users reaches."""

    def subscribe(self, connection_id: str, celebrity_ids: Sequence[int]) -> None: ...
    def unsubscribe(self, connection_id: str, celebrity_ids: Sequence[int]) -> None: ...
    def subscribers(self, celebrity_id: int) -> list[str]: ...
    def celebrity_listeners(self, celebrity_id: int) -> Listeners: ...
    def subscribe_stream(self, connection_id: str, stream: MastodonStream, tag: str | None = None) -> bool:
        """A Mastodon connection joins a stream (``tag``: a hashtag stream's normalized tag); False when the
        connection is unknown or speaks Chirp's protocol. Repeating it changes nothing."""

    def unsubscribe_stream(self, connection_id: str, stream: MastodonStream, tag: str | None = None) -> None: ...
    def tag_listeners(self, tags: Sequence[str]) -> dict[str, Listeners]:
        """The Mastodon connections subscribed to each of these (normalized) hashtags; tags nobody follows are left
        out."""


class Pusher(Protocol):
    def push(self, connection_id: str, message: dict[str, object]) -> bool:
        """Send a JSON message; False when the connection is gone."""

    def push_many(self, connection_ids: Sequence[str], message: dict[str, object]) -> set[str]:
        """Send one JSON message to many connections at once (concurrently); returns those that are gone. Raises
        when some push failed otherwise (after retries), once every push has been tried."""


class EventStream(Protocol):
    def publish(self, events: Sequence[Event]) -> None: ...
    def publish_raw(self, partition_key: str, data: str) -> None:
        """Put one record back exactly as it was, byte for byte (dead-letter replay)."""


@dataclass(frozen=True, slots=True)
class StreamRecord:
    """One record as the event source mapping reads it from a shard. ``seq`` orders a shard (Kinesis sequence
    numbers are up to 128-bit decimals; ``sequence_number`` keeps the stream's own text when it has one)."""

    seq: int
    shard: int
    partition_key: str
    data: str  # records that are not UTF-8 travel as surrogate escapes (raw_bytes/from_raw)
    arrival_ms: int
    sequence_number: str = ""


class StreamReader(Protocol):
    """Reads a stream's shards the way an event source mapping does: the local runtime's poller (on AWS, Lambda's
    event source mapping reads Kinesis and no Chirp code does)."""

    @property
    def shards(self) -> int: ...
    def read(self, shard: int, *, after: int, limit: int) -> list[StreamRecord]:
        """Up to ``limit`` records of ``shard`` after sequence ``after`` (0: from the start), oldest first."""


# Why a consumer gave up on records. Lambda's own conditions (its on-failure destination) keep Lambda's words.
QUARANTINED = "Quarantined"  # the consumer edge isolated a record that kept failing (not an outage)
RETRIES_EXHAUSTED = "RetryAttemptsExhausted"
RECORD_AGE_EXCEEDED = "RecordAgeExceeded"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """Stream records a consumer gave up on, kept whole (every byte, the partition key, the position), so that a
    replay puts exactly them back on the stream. ``id`` is the store's (empty until stored)."""

    consumer: str
    reason: str  # QUARANTINED, RETRIES_EXHAUSTED, RECORD_AGE_EXCEEDED or another condition Lambda names
    error: str
    failed_at_ms: int
    records: tuple[StreamRecord, ...]
    id: str = ""
    replayed: bool = False
    # Where it came from, when known: the stream's ARN, and the invocation that gave up (function ARN, request id).
    source: str = ""
    function_arn: str = ""
    request_id: str = ""


class DeadLetterStore(Protocol):
    """Where stream records a consumer gave up on are kept: the local runtime's table, or on AWS the S3 bucket that
    is both the event source mappings' on-failure destination and the consumers' quarantine."""

    def put(self, letter: DeadLetter) -> str:
        """Keep the letter; returns its id. Raises StoreUnavailable when it could not be kept."""

    def list(self, *, include_replayed: bool = False) -> list[DeadLetter]:
        """Every dead letter (oldest first), with its records."""

    def fetch(self, letter_id: str) -> DeadLetter:
        """One dead letter with its records; KeyError when there is none."""

    def mark_replayed(self, letter_id: str) -> None: ...


def raw_bytes(data: str) -> bytes:
    """A record's exact bytes (records that are not UTF-8 travel as surrogate escapes)."""
    return data.encode("utf-8", "surrogateescape")


def from_raw(data: bytes | str) -> str:
    return data if isinstance(data, str) else data.decode("utf-8", "surrogateescape")


class SearchIndex(Protocol):
    def index_tweets(self, tweets: Sequence[TweetRecord]) -> None:
        """Idempotent: indexing the same tweet twice leaves one document."""

    def delete_tweets(self, tweet_ids: Sequence[int]) -> None: ...
    def search(
        self,
        query: SearchQuery,
        *,
        limit: int,
        before: int | None,
        order: str,
        exclude_authors: frozenset[int] = frozenset(),
    ) -> list[SearchHit]:
        """``order`` is 'recent' (id desc, ids below ``before``; scores optional) or 'relevance' (text score
        desc). ``exclude_authors``: no tweet of these users (the viewer's blocks), left out by the index itself so
        that a page is full and a cursor skips nothing."""

    def index_users(self, users: Sequence[UserRecord]) -> None:
        """Idempotent: indexing a user again replaces their document (a display-name change)."""

    def delete_users(self, user_ids: Sequence[int]) -> None:
        """Remove these users' documents (deleted accounts); ids with none are ignored."""

    def search_users(self, prefix: str, *, limit: int) -> list[int]: ...
    def tweet_count(self) -> int: ...
    def refresh(self) -> None:
        """Make everything indexed so far searchable now: after a bulk load, and in tests (production relies on the
        index's own refresh interval)."""


class TrendStore(Protocol):
    def claim(self, key: str, ttl_s: int) -> bool:
        """Set-if-absent with expiry; True for the first claimant (spam and duplicate suppression)."""

    def add(self, hashtag: str, tweet_id: int, weight: float, at_ms: int, place: str | None = None) -> None:
        """Count the hashtag worldwide and, with a ``place`` (a chirp.places code), in that place too."""

    def remove_tweet(self, tweet_id: int) -> None:
        """Take back everything the tweet counted, worldwide and in its place."""

    def top(
        self, *, now_ms: int, limit: int, window_s: int, half_life_s: float, place: str | None = None
    ) -> list[TrendScore]:
        """The top hashtags worldwide, or (``place``) among tweets counted in that place."""


class RateLimiter(Protocol):
    def hit(self, key: str, *, limit: int, window_s: int, now_ms: int) -> RateDecision: ...


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """What holds an idempotency key: the fingerprint of the request that claimed it and, once that request has
    finished, its result (None while it is still in flight)."""

    fingerprint: str
    result: str | None = None


class IdempotencyStore(Protocol):
    """Idempotency records. Each call is atomic on its key, so two racing requests cannot both claim it."""

    def claim(self, key: str, fingerprint: str, ttl_s: int) -> IdempotencyRecord | None:
        """If the key is free (absent or expired), hold it for an in-flight request for ttl_s and return None;
        otherwise change nothing and return the record that holds it."""

    def complete(self, key: str, fingerprint: str, result: str, ttl_s: int) -> bool:
        """Store the result of the in-flight request with this fingerprint and keep it ttl_s from now. False, changing
        nothing, when the key is not (or no longer) held in flight by that fingerprint."""

    def release(self, key: str, fingerprint: str) -> None:
        """Free the key if the request with this fingerprint still holds it in flight (it failed; a retry may run)."""


class NotificationStore(Protocol):
    def add(self, notification: NotificationRecord) -> bool:
        """False when a notification with the same (user_id, dedupe_key) exists."""

    def page(self, user_id: int, *, before: int | None, limit: int) -> list[NotificationRecord]: ...
    def mark_read(self, user_id: int, *, up_to: int | None) -> int: ...
    def unread_count(self, user_id: int) -> int: ...
    def forget_user(self, user_id: int) -> None:
        """Drop every notification of the user (account deletion); idempotent."""


class MediaCatalog(Protocol):
    def create(self, media: MediaRecord) -> None: ...
    def get_many(self, media_ids: Sequence[str]) -> dict[str, MediaRecord]: ...
    def set_processing(self, media_id: str, outcome: MediaProcessing) -> None:
        """Writes only the processing columns: an alt text set meanwhile is kept."""

    def set_alt_text(self, media_id: str, alt_text: str) -> None: ...
    def mark_posted(self, media_ids: Sequence[str], tweet_id: int) -> None: ...
    def owned_by(self, owner_id: int, *, limit: int) -> list[MediaRecord]:
        """Up to ``limit`` of the owner's media, any order (account deletion walks them)."""

    def forget(self, media: Sequence[MediaRecord]) -> None:
        """Removes the records (their objects are the caller's to delete)."""


class ObjectStore(Protocol):
    def presign_upload(self, key: str, *, content_type: str, size: int, expires_s: int) -> UploadTicket: ...
    def head(self, key: str) -> tuple[int, str] | None:
        """(size, content_type) of a stored object, or None."""

    def read(self, key: str) -> tuple[bytes, str] | None:
        """The object's bytes and content type, or None."""

    def read_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes [start, end) of the object (fewer at its end): a video is checked without reading it whole."""

    def put(self, key: str, data: bytes, content_type: str) -> None: ...
    def copy(self, source: str, target: str) -> None:
        """Copies an object within the store (server-side on S3: a 512 MB video never passes through Lambda)."""

    def presign_multipart(
        self, key: str, *, content_type: str, size: int, part_size: int, expires_s: int
    ) -> MultipartTicket: ...
    def complete_multipart(self, key: str, upload_id: str, etags: Sequence[str]) -> None:
        """Assembles the parts (``etags[i]`` is part i+1's); ValueError when the parts do not match the upload."""

    def delete(self, key: str) -> None:
        """Removes the object; no error when there is none (a redelivered event may find it gone)."""

    def public_url(self, key: str) -> str: ...


Listener = Callable[[], None]
