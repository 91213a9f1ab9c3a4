"""The benchmark data set: N users with a Zipf follower graph (head truncated below the celebrity threshold) plus a
few celebrities above it (one followed by half of all users), M tweets with hashtags, mentions, replies and likes.
Everything comes from one seeded RNG, so two runs with the same size and seed load the same shape of data; tweet
ids are snowflakes spread over the last 14 days before generation (they must sort before anything posted live)."""

from __future__ import annotations

import bisect
import itertools
import random
import time
from dataclasses import dataclass, field

from chirp.ids import CHIRP_EPOCH_MS, TIME_SHIFT
from chirp.model import TweetRecord, UserRecord
from chirp.passwords import hash_password
from chirp.text import parse_tweet_text

PASSWORD = "bench-password-1"
USER_ID_BASE = 7_000_000_000
WORDS = (
    "serverless lambda kinesis redis cassandra timeline fanout latency python coffee launch weekend music football "
    "election space rocket garden recipe travel photo sunrise benchmark cache search trend river mountain city night "
    "morning market storm summer winter review movie stadium concert library bicycle ocean forest castle bridge"
).split()
TAGS = [f"tag{i}" for i in range(40)] + ["python", "aws", "serverless", "coffee", "music", "space", "ai", "chirp"]
CELEBRITY_FRACTIONS = (0.5, 0.35, 0.3, 0.25, 0.22, 0.2, 0.18, 0.16, 0.14, 0.12)
CELEBRITY_THRESHOLD_FRACTION = 0.10  # of all users; every celebrity above, every ordinary account well below
ORDINARY_CAP_FRACTION = 0.06
HISTORY_DAYS = 14


@dataclass(frozen=True)
class DataSpec:
    users: int = 20_000
    tweets: int = 200_000
    seed: int = 42
    mean_following: int = 20
    like_ratio: float = 0.5
    celebrity_fans: int = 200  # users who follow all 10 celebrities (merge-on-read probe)
    realtime_followers: int = 1000  # followers of the real-time probe author (each gets a WebSocket)

    @property
    def celebrity_threshold(self) -> int:
        return max(10, int(self.users * CELEBRITY_THRESHOLD_FRACTION))


@dataclass
class Dataset:
    spec: DataSpec
    users: list[UserRecord]
    follows: list[tuple[int, int]]  # (follower_id, followee_id)
    tweets: list[TweetRecord]
    likes: list[tuple[int, int]]  # (tweet_id, user_id)
    celebrities: list[int]
    celebrity_fans: list[int]
    no_celebrity_users: list[int]
    typical_users: list[int]
    realtime_author: int
    realtime_followers: list[int]
    follower_counts: dict[int, int] = field(default_factory=dict)
    generated_at_ms: int = 0

    @property
    def by_id(self) -> dict[int, UserRecord]:
        return {u.user_id: u for u in self.users}

    def summary(self) -> dict[str, object]:
        ordinary = [c for u, c in self.follower_counts.items() if u not in set(self.celebrities)]
        return {
            "users": len(self.users),
            "follows": len(self.follows),
            "tweets": len(self.tweets),
            "replies": sum(1 for t in self.tweets if t.reply_to is not None),
            "tweets_with_hashtags": sum(1 for t in self.tweets if t.hashtags),
            "tweets_with_mentions": sum(1 for t in self.tweets if t.mentions),
            "likes": len(self.likes),
            "seed": self.spec.seed,
            "celebrity_threshold": self.spec.celebrity_threshold,
            "celebrity_followers": [self.follower_counts.get(c, 0) for c in self.celebrities],
            "max_ordinary_followers": max(ordinary, default=0),
            "mean_following": round(len(self.follows) / max(1, len(self.users)), 1),
            "realtime_followers": len(self.realtime_followers),
            "celebrity_fans": len(self.celebrity_fans),
        }


def snowflake(ms: int, sequence: int) -> int:
    """A tweet id minted at ``ms`` by the reserved bench worker (1023); ``sequence`` disambiguates one ms."""
    return ((ms - CHIRP_EPOCH_MS) << TIME_SHIFT) | (1023 << 12) | (sequence & 0xFFF)


def generate(spec: DataSpec) -> Dataset:
    rng = random.Random(spec.seed)
    now = int(time.time() * 1000)
    n = spec.users
    password_hash = hash_password(PASSWORD)
    users = [
        UserRecord(
            user_id=USER_ID_BASE + i,
            username=f"u{i:05d}",
            email=f"u{i:05d}@bench.chirp",
            display_name=f"Bench User {i}",
            password_hash=password_hash,
            created_at_ms=now - rng.randint(30, 720) * 86_400_000,
        )
        for i in range(n)
    ]
    ids = [u.user_id for u in users]
    celebrities = ids[: len(CELEBRITY_FRACTIONS)]
    realtime_author = ids[-1]
    ordinary = ids[len(CELEBRITY_FRACTIONS) : -1]
    cap = max(5, int(n * ORDINARY_CAP_FRACTION))
    edges: set[tuple[int, int]] = set()
    counts: dict[int, int] = dict.fromkeys(ids, 0)

    def add(follower: int, followee: int) -> None:
        if follower != followee and (follower, followee) not in edges:
            edges.add((follower, followee))
            counts[followee] += 1

    # Celebrities: each followed by a fixed fraction of everyone.
    for celebrity, fraction in zip(celebrities, CELEBRITY_FRACTIONS, strict=False):
        for follower in rng.sample(ids, int(n * fraction)):
            add(follower, celebrity)
    fans = rng.sample(ordinary, min(spec.celebrity_fans, len(ordinary) // 50))
    for fan in fans:
        for celebrity in celebrities:
            add(fan, celebrity)
    # Ordinary accounts: Zipf(1) popularity by rank (Zipf-Mandelbrot offset 10), head truncated at ``cap``.
    cumulative = list(itertools.accumulate(1.0 / (rank + 10) for rank in range(len(ordinary))))
    total = cumulative[-1]
    for follower in ids:
        want = min(len(ordinary) - 1, max(3, int(rng.paretovariate(1.6) * spec.mean_following * 0.4)))
        for _ in range(want * 2):
            if want <= 0:
                break
            followee = ordinary[min(len(ordinary) - 1, bisect.bisect_left(cumulative, rng.random() * total))]
            if counts[followee] >= cap or followee == follower or (follower, followee) in edges:
                continue
            add(follower, followee)
            want -= 1
    # The real-time probe: an ordinary author with a fixed audience, each of whom connects a WebSocket.
    rt_count = min(spec.realtime_followers, spec.celebrity_threshold - 1, len(ordinary))
    rt_followers = ordinary[:rt_count]
    for follower in rt_followers:
        add(follower, realtime_author)

    tweets = _tweets(rng, spec, users, celebrities, now)
    likes: set[tuple[int, int]] = set()
    for _ in range(int(len(tweets) * spec.like_ratio)):
        tweet = (
            tweets[min(len(tweets) - 1, int(rng.paretovariate(0.8)) - 1)] if rng.random() < 0.3 else rng.choice(tweets)
        )
        likes.add((tweet.tweet_id, rng.choice(ids)))
    celeb_set = set(celebrities)
    followees_of: dict[int, set[int]] = {}
    for follower, followee in edges:
        followees_of.setdefault(follower, set()).add(followee)
    no_celebrity = [u for u in ordinary if followees_of.get(u) and not followees_of[u] & celeb_set]
    typical = rng.sample(ordinary, min(len(ordinary), 2000))
    return Dataset(
        spec=spec,
        users=users,
        follows=sorted(edges, key=lambda e: (e[1], e[0])),
        tweets=tweets,
        likes=sorted(likes),
        celebrities=celebrities,
        celebrity_fans=fans,
        no_celebrity_users=no_celebrity,
        typical_users=typical,
        realtime_author=realtime_author,
        realtime_followers=rt_followers,
        follower_counts=counts,
        generated_at_ms=now,
    )


def _tweets(
    rng: random.Random, spec: DataSpec, users: list[UserRecord], celebrities: list[int], now: int
) -> list[TweetRecord]:
    start = now - HISTORY_DAYS * 86_400_000
    end = now - 60_000
    step = (end - start) / max(1, spec.tweets)
    by_id = {u.user_id: u for u in users}
    names = [u.username for u in users]
    tag_weights = list(itertools.accumulate(1.0 / (r + 1) for r in range(len(TAGS))))
    tweets: list[TweetRecord] = []
    for i in range(spec.tweets):
        if i % 20 == 0:
            author = by_id[celebrities[(i // 20) % len(celebrities)]]
        elif rng.random() < 0.5:
            author = users[min(len(users) - 1, int(rng.paretovariate(1.0)) - 1 + len(celebrities))]
        else:
            author = rng.choice(users)
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 14)))
        tags = [TAGS[bisect.bisect_left(tag_weights, rng.random() * tag_weights[-1])] for _ in range(rng.randint(0, 2))]
        text = words + "".join(f" #{t}" for t in tags)
        if rng.random() < 0.2:
            text += f" @{rng.choice(names)}"
        parsed = parse_tweet_text(text)
        ms = int(start + i * step)
        parent = tweets[rng.randrange(len(tweets))] if tweets and rng.random() < 0.15 else None
        tweets.append(
            TweetRecord(
                tweet_id=snowflake(ms, i),
                user_id=author.user_id,
                username=author.username,
                content=parsed.content,
                created_at_ms=ms,
                hashtags=parsed.hashtags,
                mentions=parsed.mentions,
                urls=parsed.urls,
                reply_to=parent.tweet_id if parent else None,
                reply_to_user_id=parent.user_id if parent else None,
            )
        )
    return tweets
