"""Tweet and user search on Amazon OpenSearch Service (tests: a real OpenSearch node) through opensearch-py.

Layout, for a prefix P (``Settings.opensearch_index_prefix``):

* monthly tweet indices ``P-YYYY-MM``, the month of the tweet id's time (``chirp.ids.id_time_ms``, UTC), all
  created from the composable index template ``P-tweets`` (pattern ``P-2*``: years 2xxx, so that ``P-users`` is
  not matched) that puts them behind the alias ``P``; searches and counts go through the alias, writes and deletes
  go to the index computed from the id. Old months can be shrunk, force-merged or dropped as a whole.
* ``P-users``: one document per user for ``search_users``.

Documents use ``_id = tweet_id`` (``user_id``), so indexing is an idempotent upsert and re-delivery leaves one
document. ``refresh_interval`` is 500 ms: with the indexer's 1 s batching window a tweet is searchable within ~1.5 s of
being posted (the target is 2 s; the default 1 s interval alone made it 2-2.5 s). Set explicitly, it also keeps the
shards refreshing while no one searches (OpenSearch skips scheduled refreshes of "search idle" shards only when the
interval is left at its default, and the first search after idling would then wait for one). ``refresh()`` forces a
refresh (tests). Bulk requests carry up to 1,000 documents and 8 MiB (inside the smallest domains' 10 MiB HTTP payload
limit); the indexer's batches are smaller, so one stream batch is one request.

Text analysis mirrors the embedded adapter (SQLite FTS5 ``unicode61 remove_diacritics 2``): tokens are runs of
letters, digits and private-use characters (a ``pattern`` tokenizer splitting on everything else, so emoji,
punctuation, apostrophes and underscores separate words, as in unicode61 -- the ``standard`` tokenizer would keep
"don't", "foo_bar" and "3.14" whole), then ``lowercase`` and ``asciifolding``. Every query word is a
``match_phrase`` (FTS5 quotes each word: a word that analyses to several tokens must match as a phrase).
asciifolding also folds letters that have no Unicode decomposition (ø, ł, æ, ß), which unicode61 keeps: those match
more loosely here. ``index_phrases`` also indexes each pair of adjacent tokens, so a two-word phrase (and each step of
a longer one) is a single term lookup instead of a positional intersection.

Query translation (chirp.query.SearchQuery -> bool query), the same semantics as the embedded adapter:
words and phrases -> match_phrase on ``content`` (all of them); hashtags and mentions -> ``term`` filters (all of
them); from_users -> one ``terms`` filter on the lowercased username (any of them); since/until -> a ``tweet_id``
range filter from ``min_id_for_time_ms`` (since inclusive, until exclusive); excluded words, phrases and hashtags ->
``must_not`` (any of them excludes); ``exclude_authors`` (the viewer's blocks) -> a ``terms`` filter on ``user_id`` in
``must_not``; ``before`` -> ids below it (``search_after`` in recent order, a range filter in relevance order).

``order="recent"`` sorts by the ``tweet_id`` doc values, descending, which is also each index's sort
(``index.sort.field``), with ``track_total_hits: false`` and no scores: every clause, the text too, is in filter
context, and each segment stops after the first ``limit`` matches in index order instead of visiting every match.
The next page is ``search_after: [before]`` (the service's opaque cursor is the last id of a page; ids are unique,
so paging is stable). ``order="relevance"``: BM25 score desc, then ``tweet_id`` desc, with only the text in scoring
context (``must``) and ``dfs_query_then_fetch`` so term statistics are global across the monthly indices; the scores
are plain text scores, which the service re-ranks with recency and engagement. Hits come back without ``_source``
or stored fields, and ``filter_path`` trims the response to the sort values: the ids (and scores).

Connection: ``OpenSearchIndex(url, prefix=..., auth=...)``. ``auth="sigv4"`` signs every request with the
function's IAM role (botocore's default credential chain, service ``es``): Amazon OpenSearch Service maps the role to
``chirp_indexer`` through fine-grained access control. ``auth="basic"`` sends a user name and password (an
OpenSearch internal user; refused over plain http); ``"none"`` sends nothing. https URLs verify the server
certificate against ``ca_file`` (PEM) or, without it, the default trust store. Credentials are never logged. The
client keeps up to ``POOL_MAXSIZE`` keep-alive connections, one per concurrent caller, so TLS is negotiated once
per connection, not per request.
Unreachable cluster, 429 and 5xx -> ``StoreUnavailable``.

``chirp.search_role.indexer_role(prefix)`` is the least privilege this adapter needs (the ``chirp_indexer`` role):
the CDK app creates it on the domain and the stand-in server loads it, so both grant exactly what the code calls.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar, cast

from opensearchpy import OpenSearch, helpers
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from opensearchpy.exceptions import RequestError, TransportError

from chirp.ids import id_time_ms, min_id_for_time_ms
from chirp.model import SearchHit, TweetRecord, UserRecord
from chirp.ports import StoreUnavailable
from chirp.query import SearchQuery

R = TypeVar("R")
_MAX_ID = 2**63 - 1
REFRESH_INTERVAL = "500ms"
BULK_MAX_DOCS = 1000
BULK_MAX_BYTES = 8 * 1024 * 1024
POOL_MAXSIZE = 16
_UNAVAILABLE_STATUS = frozenset({429, 502, 503, 504})
TOKEN_PATTERN = r"[^\p{L}\p{N}\p{Co}]+"
SIGV4_SERVICE = "es"  # Amazon OpenSearch Service domains (serverless collections would be "aoss")
Auth = Literal["sigv4", "basic", "none"]


class SearchIndexError(RuntimeError):
    """OpenSearch rejected documents for a reason retrying will not fix (a mapping error: a bug)."""


def month_of(tweet_id: int) -> str:
    return datetime.fromtimestamp(id_time_ms(tweet_id) / 1000, UTC).strftime("%Y-%m")


def tweet_document(tweet: TweetRecord) -> dict[str, Any]:
    return {
        "tweet_id": tweet.tweet_id,
        "user_id": tweet.user_id,
        "username": tweet.username.lower(),
        "content": tweet.content,
        "hashtags": list(tweet.hashtags),
        "mentions": list(tweet.mentions),
        "created_at": tweet.created_at_ms,
        "reply_to": tweet.reply_to,
        "quote_tweet": tweet.quote_tweet,
    }


def user_document(user: UserRecord) -> dict[str, Any]:
    username_key = user.username.lower()
    return {
        "user_id": user.user_id,
        "username_key": username_key,
        "username_len": len(username_key),
        "display_key": user.display_name.casefold(),
    }


def _analysis() -> dict[str, Any]:
    return {
        "tokenizer": {"chirp_words": {"type": "pattern", "pattern": TOKEN_PATTERN}},
        "analyzer": {
            "chirp_text": {"type": "custom", "tokenizer": "chirp_words", "filter": ["lowercase", "asciifolding"]}
        },
    }


def tweet_template(prefix: str, *, shards: int, replicas: int | None) -> dict[str, Any]:
    index: dict[str, Any] = {
        "number_of_shards": shards,
        "refresh_interval": REFRESH_INTERVAL,
        # Segments sorted newest first: recent-order queries (sorted the same way, total hits not tracked) stop
        # after the first page of matches in each segment.
        "sort.field": "tweet_id",
        "sort.order": "desc",
    }
    if replicas is not None:
        index["number_of_replicas"] = replicas
    return {
        "index_patterns": [f"{prefix}-2*"],
        # Composable templates with overlapping patterns must differ in priority; "a-2*" and "a-2b-2*" only overlap
        # when one prefix extends the other, so a longer (more specific) prefix gets a higher priority.
        "priority": 100 + len(prefix),
        "template": {
            "settings": {"index": index, "analysis": _analysis()},
            "mappings": {
                "dynamic": "strict",
                "properties": {
                    "tweet_id": {"type": "long"},
                    "user_id": {"type": "long"},
                    "username": {"type": "keyword"},
                    "content": {"type": "text", "analyzer": "chirp_text", "index_phrases": True},
                    "hashtags": {"type": "keyword"},
                    "mentions": {"type": "keyword"},
                    "created_at": {"type": "date", "format": "epoch_millis"},
                    "reply_to": {"type": "long"},
                    "quote_tweet": {"type": "long"},
                },
            },
            "aliases": {prefix: {}},
        },
        "_meta": {"owner": "chirp", "schema": 2},
    }


def users_index_body(*, replicas: int | None) -> dict[str, Any]:
    index: dict[str, Any] = {"number_of_shards": 1, "refresh_interval": REFRESH_INTERVAL}
    if replicas is not None:
        index["number_of_replicas"] = replicas
    return {
        "settings": {"index": index},
        "mappings": {
            "dynamic": "strict",
            "properties": {
                "user_id": {"type": "long"},
                "username_key": {"type": "keyword"},
                "username_len": {"type": "integer"},
                "display_key": {"type": "keyword"},
            },
        },
    }


class OpenSearchIndex:
    def __init__(
        self,
        url: str,
        *,
        prefix: str = "tweets",
        timeout_s: float = 10.0,
        auth: Auth = "none",
        username: str | None = None,
        password: str | None = None,
        region: str = "us-east-1",
        ca_file: str | None = None,
        shards: int = 1,
        replicas: int | None = None,
    ) -> None:
        if not prefix or prefix != prefix.lower() or prefix.startswith(("-", "_", "+")):
            raise ValueError(f"index prefix {prefix!r} must be lowercase and not start with -, _ or +")
        self.prefix = prefix
        self.alias = prefix
        self.users_index = f"{prefix}-users"
        self._shards = shards
        self._replicas = replicas
        options: dict[str, Any] = {
            "timeout": timeout_s,
            "max_retries": 1,
            "retry_on_timeout": True,
            # Keep-alive TLS connections for every thread that shares this client (the local runtime runs handlers on
            # a thread pool); urllib3's default keeps one and opens, then drops, a new one per concurrent request.
            "pool_maxsize": POOL_MAXSIZE,
        }
        options.update(_client_auth(url, auth=auth, username=username, password=password, region=region))
        if ca_file:
            options["ca_certs"] = ca_file
        self._client = OpenSearch(hosts=[url], **options)
        self._lock = threading.Lock()
        self._ready = False
        self._months: set[str] = set()

    # ---------------------------------------------------------------------------------------------- plumbing

    def _call(self, fn: Callable[[], R]) -> R:
        try:
            return fn()
        except OpenSearchConnectionError as exc:
            raise StoreUnavailable(f"opensearch unreachable: {exc}") from exc
        except TransportError as exc:
            if isinstance(exc.status_code, int) and exc.status_code in _UNAVAILABLE_STATUS:
                raise StoreUnavailable(f"opensearch: {exc}") from exc
            raise

    def close(self) -> None:
        self._client.close()

    def index_name(self, tweet_id: int) -> str:
        return f"{self.prefix}-{month_of(tweet_id)}"

    def ensure_setup(self) -> None:
        """Create (or update) the index template, the users index and the current month's index (so the alias
        exists). Idempotent; called lazily before the first write."""
        self._call(
            lambda: self._client.indices.put_index_template(
                name=f"{self.prefix}-tweets",
                body=tweet_template(self.prefix, shards=self._shards, replicas=self._replicas),
            )
        )
        self._create_index(self.users_index, users_index_body(replicas=self._replicas))
        with self._lock:
            self._ready = True
            self._months.clear()
        self._ensure_months([datetime.now(UTC).strftime("%Y-%m")])

    def _ensure(self) -> None:
        if not self._ready:
            self.ensure_setup()

    def _create_index(self, name: str, body: Mapping[str, Any] | None = None) -> None:
        try:
            self._call(lambda: self._client.indices.create(index=name, body=dict(body or {})))
        except RequestError as exc:
            if exc.error != "resource_already_exists_exception":
                raise

    def _ensure_months(self, months: Iterable[str]) -> None:
        """Create missing monthly indices up front (the template gives them settings, mappings and the alias), so
        writes do not depend on the cluster's action.auto_create_index."""
        for month in sorted(set(months) - self._months):
            self._create_index(f"{self.prefix}-{month}")
            with self._lock:
                self._months.add(month)

    def _bulk(self, actions: list[dict[str, Any]], *, ignore_status: tuple[int, ...] = ()) -> None:
        if not actions:
            return
        _, errors = self._call(
            lambda: helpers.bulk(
                self._client,
                actions,
                raise_on_error=False,
                ignore_status=ignore_status,
                chunk_size=BULK_MAX_DOCS,
                max_chunk_bytes=BULK_MAX_BYTES,
                max_retries=2,
                initial_backoff=0.2,
            )
        )
        failures = [f for f in cast(list[dict[str, Any]], errors) if _item_status(f) not in ignore_status]
        if not failures:
            return
        statuses = {_item_status(f) for f in failures}
        if statuses & _UNAVAILABLE_STATUS:
            raise StoreUnavailable(f"opensearch bulk: {len(failures)} item(s) failed: {failures[:3]}")
        raise SearchIndexError(f"opensearch bulk: {len(failures)} item(s) failed: {failures[:3]}")

    def refresh(self) -> None:
        """Make everything written so far searchable now (tests; production relies on the refresh interval)."""
        self._call(
            lambda: self._client.indices.refresh(
                index=f"{self.alias},{self.users_index}", ignore_unavailable=True, allow_no_indices=True
            )
        )

    # ---------------------------------------------------------------------------------------------- tweets

    def index_tweets(self, tweets: Sequence[TweetRecord]) -> None:
        if not tweets:
            return
        self._ensure()
        self._ensure_months(month_of(t.tweet_id) for t in tweets)
        latest = {t.tweet_id: t for t in tweets}  # the last copy of a tweet in one batch wins, as in a loop of upserts
        self._bulk(
            [
                {
                    "_op_type": "index",
                    "_index": self.index_name(t.tweet_id),
                    "_id": str(t.tweet_id),
                    "_source": tweet_document(t),
                }
                for t in latest.values()
            ]
        )

    def delete_tweets(self, tweet_ids: Sequence[int]) -> None:
        self._bulk(
            [
                {"_op_type": "delete", "_index": self.index_name(tweet_id), "_id": str(tweet_id)}
                for tweet_id in dict.fromkeys(tweet_ids)
            ],
            ignore_status=(404,),  # already gone, or its month's index was never created
        )

    def search(
        self,
        query: SearchQuery,
        *,
        limit: int,
        before: int | None,
        order: str,
        exclude_authors: frozenset[int] = frozenset(),
    ) -> list[SearchHit]:
        if limit <= 0:
            return []
        relevance = order == "relevance" and bool(query.words or query.phrases)
        # filter_path: the sort values are all the service uses, so the response carries nothing else.
        params: dict[str, Any] = {
            "ignore_unavailable": "true",
            "allow_no_indices": "true",
            "filter_path": "hits.hits.sort",
        }
        if relevance:
            params["search_type"] = "dfs_query_then_fetch"
        body = search_body(query, limit=limit, before=before, relevance=relevance, exclude_authors=exclude_authors)
        response = self._call(lambda: self._client.search(index=self.alias, body=body, params=params))
        hits = cast(list[dict[str, Any]], response.get("hits", {}).get("hits", []))  # filtered: {} when none
        if relevance:  # sort values: [score, tweet_id]
            return [SearchHit(tweet_id=int(hit["sort"][1]), text_score=float(hit["sort"][0])) for hit in hits]
        return [SearchHit(tweet_id=int(hit["sort"][0]), text_score=0.0) for hit in hits]

    def tweet_count(self) -> int:
        response = self._call(
            lambda: self._client.count(
                index=self.alias, params={"ignore_unavailable": "true", "allow_no_indices": "true"}
            )
        )
        return int(response["count"])

    # ---------------------------------------------------------------------------------------------- users

    def index_users(self, users: Sequence[UserRecord]) -> None:
        if not users:
            return
        self._ensure()
        self._bulk(
            [
                {"_op_type": "index", "_index": self.users_index, "_id": str(u.user_id), "_source": user_document(u)}
                for u in {u.user_id: u for u in users}.values()
            ]
        )

    def delete_users(self, user_ids: Sequence[int]) -> None:
        if not user_ids:
            return
        self._bulk(
            [{"_op_type": "delete", "_index": self.users_index, "_id": str(u)} for u in dict.fromkeys(user_ids)],
            ignore_status=(404,),  # already gone, or never indexed
        )

    def search_users(self, prefix: str, *, limit: int) -> list[int]:
        """Users whose username or display name starts with ``prefix`` (case-insensitive, a leading @ ignored):
        the exact username first, then shorter usernames, then alphabetical -- as the embedded adapter."""
        key = prefix.strip().lstrip("@").casefold()
        if not key or limit <= 0:
            return []
        body = {
            "query": {
                "bool": {
                    "filter": [
                        {
                            "bool": {
                                "should": [
                                    {"prefix": {"username_key": key}},
                                    {"prefix": {"display_key": key}},
                                ],
                                "minimum_should_match": 1,
                            }
                        }
                    ],
                    "should": [{"constant_score": {"filter": {"term": {"username_key": key}}, "boost": 1.0}}],
                }
            },
            "sort": [{"_score": "desc"}, {"username_len": "asc"}, {"username_key": "asc"}],
            "size": limit,
            "_source": False,
        }
        response = self._call(
            lambda: self._client.search(
                index=self.users_index,
                body=body,
                params={"ignore_unavailable": "true", "allow_no_indices": "true", "filter_path": "hits.hits._id"},
            )
        )
        return [int(hit["_id"]) for hit in response.get("hits", {}).get("hits", [])]


def _client_auth(url: str, *, auth: str, username: str | None, password: str | None, region: str) -> dict[str, Any]:
    """The ``OpenSearch(...)`` options that authenticate each request (values never appear in errors or logs)."""
    if auth == "none":
        return {}
    if auth == "basic":
        if not username or not password:
            raise ValueError("opensearch auth=basic needs a username and a password")
        if not url.lower().startswith("https://"):
            raise ValueError("opensearch auth=basic sends the password in every request: the URL must be https")
        return {"http_auth": (username, password)}
    if auth == "sigv4":
        import boto3
        from opensearchpy import Urllib3AWSV4SignerAuth

        # Refreshable credentials from the default chain (the Lambda role's, from its environment); the signer takes
        # a frozen copy per request, so rotation mid-flight cannot mix an old key with a new secret.
        credentials = boto3.Session().get_credentials()
        if credentials is None:
            raise ValueError("opensearch auth=sigv4: no AWS credentials found (default credential chain)")
        # Urllib3HttpConnection (the client's default) calls the signer with the exact method, URL and body it sends.
        return {"http_auth": Urllib3AWSV4SignerAuth(credentials, region, SIGV4_SERVICE)}
    raise ValueError(f"opensearch auth must be sigv4, basic or none, not {auth!r}")


def _item_status(item: Mapping[str, Any]) -> int:
    """The HTTP status of one bulk response item ({"index": {...}} or {"delete": {...}})."""
    for result in item.values():
        return int(cast(Mapping[str, Any], result).get("status", 0))
    return 0


def _phrase(text: str) -> dict[str, Any]:
    return {"match_phrase": {"content": text}}


def search_body(
    query: SearchQuery,
    *,
    limit: int,
    before: int | None,
    relevance: bool,
    exclude_authors: frozenset[int] = frozenset(),
) -> dict[str, Any]:
    """The search request body (see the module docstring): recent order pages with ``search_after`` on the index
    sort; relevance order (only when the query has text) scores the text and filters the rest."""
    body: dict[str, Any] = {
        "size": limit,
        "track_total_hits": False,
        "_source": False,
        "stored_fields": "_none_",
    }
    if relevance:
        body["query"] = build_query(query, before=before, scored_text=True, exclude_authors=exclude_authors)
        body["sort"] = [{"_score": "desc"}, {"tweet_id": "desc"}]
        return body
    body["query"] = build_query(query, before=None, scored_text=False, exclude_authors=exclude_authors)
    body["sort"] = [{"tweet_id": "desc"}]
    if before is not None:
        body["search_after"] = [max(0, min(before, _MAX_ID))]
    return body


def build_query(
    query: SearchQuery,
    *,
    before: int | None,
    scored_text: bool = True,
    exclude_authors: frozenset[int] = frozenset(),
) -> dict[str, Any]:
    """The bool query for a parsed search query (see the module docstring for the semantics). The text goes to
    ``must`` when it is to be scored and to ``filter`` otherwise; everything else is always in filter context."""
    text = [_phrase(w) for w in query.words] + [_phrase(" ".join(p)) for p in query.phrases if p]
    low = min_id_for_time_ms(int(query.since.timestamp() * 1000)) if query.since else 0
    high = min_id_for_time_ms(int(query.until.timestamp() * 1000)) if query.until else _MAX_ID
    if before is not None:
        high = min(high, before)
    filters: list[dict[str, Any]] = []
    if low > 0 or high < _MAX_ID:
        filters.append({"range": {"tweet_id": {"gte": low, "lt": high}}})
    filters += [{"term": {"hashtags": tag}} for tag in query.hashtags]
    filters += [{"term": {"mentions": name}} for name in query.mentions]
    if query.from_users:
        filters.append({"terms": {"username": [u.lower() for u in query.from_users]}})
    must_not = (
        [_phrase(w) for w in query.excluded_words]
        + [_phrase(" ".join(p)) for p in query.excluded_phrases if p]
        + [{"term": {"hashtags": tag}} for tag in query.excluded_hashtags]
    )
    if exclude_authors:  # the viewer's blocks, both ways: one terms filter on user_id
        must_not.append({"terms": {"user_id": sorted(exclude_authors)}})
    boolean: dict[str, Any] = {}
    if scored_text and text:
        boolean["must"] = text
    else:
        filters = text + filters
    if filters:
        boolean["filter"] = filters
    if must_not:
        boolean["must_not"] = must_not
    return {"bool": boolean} if boolean else {"match_all": {}}
