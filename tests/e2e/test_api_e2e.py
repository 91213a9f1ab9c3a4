"""The whole public API over real HTTP against the local runtime: every endpoint and its error cases."""

import base64
import io
import json
import struct
import uuid
from typing import Any

import httpx
import pytest
from PIL import Image

from chirp import wiring
from support.runtime import Client, LocalStack, eventually


def uname(prefix: str = "u") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def test_health_and_openapi_are_public(runtime: LocalStack) -> None:
    assert httpx.get(f"{runtime.api}/health").json() == {"status": "ok"}
    spec = httpx.get(f"{runtime.api}/openapi.json").json()
    assert spec["openapi"].startswith("3.") and "/api/v1/tweets" in spec["paths"]


def test_signup_login_and_duplicates(runtime: LocalStack) -> None:
    name = uname()
    body = {"username": name, "email": f"{name}@x.io", "password": "password-123", "display_name": "Name"}
    created = httpx.post(f"{runtime.api}/auth/signup", json=body)
    assert created.status_code == 201 and created.json()["username"] == name and created.json()["token"]
    assert httpx.post(f"{runtime.api}/auth/signup", json=body).json()["error"]["code"] == "username_taken"
    dup_email = {**body, "username": uname()}
    dup = httpx.post(f"{runtime.api}/auth/signup", json=dup_email)
    assert (dup.status_code, dup.json()["error"]["code"]) == (409, "email_taken")
    login = httpx.post(f"{runtime.api}/auth/login", json={"username": name.upper(), "password": "password-123"})
    assert login.status_code == 200 and login.json()["expires_in"] > 0
    wrong = httpx.post(f"{runtime.api}/auth/login", json={"username": name, "password": "nope-nope"})
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "invalid_credentials")
    client = runtime.client(login.json()["token"])
    assert client.get(f"/users/{name}").json()["display_name"] == "Name"


@pytest.mark.parametrize(
    "body",
    [
        {"username": "bad name", "email": "a@b.io", "password": "password-123"},
        {"username": "okname", "email": "not-an-email", "password": "password-123"},
        {"username": "okname", "email": "a@b.io", "password": "short"},
        {"username": 5, "email": "a@b.io", "password": "password-123"},
        {"email": "a@b.io", "password": "password-123"},
        {"username": "okname", "email": "a@b.io", "password": "password-123", "display_name": "\u200b\u200c"},
    ],
)
def test_invalid_signups_are_400(runtime: LocalStack, body: dict[str, object]) -> None:
    response = httpx.post(f"{runtime.api}/auth/signup", json=body)
    assert response.status_code == 400 and set(response.json()["error"]) == {"code", "message"}


def test_profiles_follow_and_lists(runtime: LocalStack) -> None:
    alice, bob, carol = runtime.user(uname("a")), runtime.user(uname("b")), runtime.user(uname("c"))
    bob.follow(alice.username)
    carol.follow(alice.username)
    assert bob.post(f"/users/{alice.username}/follow").json()["follower_count"] == 2  # idempotent
    alice.tweet("counted")
    profile = bob.get(f"/users/{alice.username}").json()
    assert (profile["follower_count"], profile["following_count"], profile["tweet_count"]) == (2, 0, 1)
    assert profile["followed_by_me"] is True
    first = alice.get(f"/users/{alice.username}/followers", count=1).json()
    second = alice.get(f"/users/{alice.username}/followers", count=1, cursor=first["next_cursor"]).json()
    assert [u["username"] for u in first["users"] + second["users"]] == [carol.username, bob.username]
    assert second["has_more"] is False
    assert [u["username"] for u in bob.get(f"/users/{bob.username}/following").json()["users"]] == [alice.username]
    assert bob.delete(f"/users/{alice.username}/follow").json() == {
        "username": alice.username,
        "following": False,
        "follower_count": 1,
    }
    assert bob.post(f"/users/{bob.username}/follow").status_code == 403
    unknown = bob.post("/tweets", {"content": "pic", "media_ids": ["0" * 32]})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "unknown_media")
    assert bob.get("/users/nobody_here_x").status_code == 404


def test_post_read_thread_engage_delete(runtime: LocalStack) -> None:
    alice, bob = runtime.user(uname("a")), runtime.user(uname("b"))
    root = alice.tweet("root of a thread #e2e")
    assert bob.get(f"/tweets/{root['tweet_id']}").json()["content"] == "root of a thread #e2e"
    reply = bob.tweet(f"@{alice.username} a reply", reply_to=root["tweet_id"])
    quote = bob.tweet("quoting", quote_tweet=root["tweet_id"])
    assert reply["reply_to"] == root["tweet_id"] and quote["quote_tweet"] == root["tweet_id"]
    replies = alice.get(f"/tweets/{root['tweet_id']}/replies").json()
    assert [t["tweet_id"] for t in replies["tweets"]] == [reply["tweet_id"]]
    liked = bob.post(f"/tweets/{root['tweet_id']}/like").json()
    assert (liked["likes_count"], liked["liked_by_user"]) == (1, True)
    assert bob.post(f"/tweets/{root['tweet_id']}/like").json()["likes_count"] == 1
    assert bob.post(f"/tweets/{root['tweet_id']}/retweet").json()["retweets_count"] == 1
    assert bob.delete(f"/tweets/{root['tweet_id']}/retweet").json()["retweets_count"] == 0
    assert bob.delete(f"/tweets/{root['tweet_id']}/like").json()["likes_count"] == 0
    assert alice.get(f"/tweets/{root['tweet_id']}").json()["replies_count"] == 1
    assert bob.delete(f"/tweets/{root['tweet_id']}").status_code == 403
    assert alice.delete(f"/tweets/{root['tweet_id']}").status_code == 200
    assert bob.get(f"/tweets/{root['tweet_id']}").status_code == 404
    assert bob.post(f"/tweets/{root['tweet_id']}/like").status_code == 404
    user_tweets = alice.get(f"/users/{alice.username}/tweets").json()
    assert root["tweet_id"] not in [t["tweet_id"] for t in user_tweets["tweets"]]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"content": ""}, "content_empty"),
        ({"content": "x" * 281}, "content_too_long"),
        ({"content": "\u200b\u200d\u2060"}, "content_invisible"),  # zero-width only: nothing anyone can see
        ({"content": " \u3164 \u2800 "}, "content_invisible"),  # Hangul filler and blank Braille between blanks
        ({"content": "ok", "media_ids": ["nope"]}, "validation_error"),
        ({"content": 7}, "validation_error"),
    ],
)
def test_invalid_tweets_are_400(runtime: LocalStack, body: dict[str, object], code: str) -> None:
    user = runtime.user(uname())
    response = user.post("/tweets", body)
    assert (response.status_code, response.json()["error"]["code"]) == (400, code)


def test_280_emoji_are_accepted(runtime: LocalStack) -> None:
    assert runtime.user(uname()).tweet("🐦" * 280)["content"] == "🐦" * 280


def test_idempotency_key_prevents_a_second_tweet(runtime: LocalStack) -> None:
    user = runtime.user(uname())
    headers = {"Idempotency-Key": "retry-me"}
    first = user.post("/tweets", {"content": "exactly once"}, headers=headers)
    second = user.post("/tweets", {"content": "exactly once"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["tweet_id"] == second.json()["tweet_id"]
    assert user.get(f"/users/{user.username}").json()["tweet_count"] == 1


def test_an_idempotency_key_reused_for_another_body_is_a_422(runtime: LocalStack) -> None:
    user = runtime.user(uname())
    headers = {"Idempotency-Key": "reuse-me"}
    first = user.post("/tweets", {"content": "the first"}, headers=headers)
    reused = user.post("/tweets", {"content": "a different one"}, headers=headers)
    assert first.status_code == 201
    assert (reused.status_code, reused.json()["error"]["code"]) == (422, "idempotency_key_reused")
    same = user.post("/tweets", {"media_ids": [], "content": "the first"}, headers=headers)  # same request, other JSON
    assert (same.status_code, same.json()["tweet_id"]) == (201, first.json()["tweet_id"])
    assert user.get(f"/users/{user.username}").json()["tweet_count"] == 1


def test_rate_limit_answers_429_with_retry_after(runtime: LocalStack) -> None:
    user = runtime.user(uname())  # this runtime allows 40 tweets per window
    statuses = [user.post("/tweets", {"content": f"n{i}"}).status_code for i in range(41)]
    assert statuses[:40] == [201] * 40
    limited = user.post("/tweets", {"content": "again"})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert limited.headers["X-RateLimit-Limit"] == "40"


def test_home_timeline_pages_newest_first_without_gaps(runtime: LocalStack) -> None:
    author, reader = runtime.user(uname("a")), runtime.user(uname("r"))
    reader.follow(author.username)
    reader.home()  # an active reader: fan-out writes into the materialized timeline
    ids = [author.tweet(f"t{i}")["tweet_id"] for i in range(7)]
    eventually(lambda: len(reader.home(count=50)["tweets"]) == 7)
    page1 = reader.home(count=3)
    author.tweet("arrives mid-scroll")
    page2 = reader.home(count=3, cursor=page1["next_cursor"])
    page3 = reader.home(count=3, cursor=page2["next_cursor"])
    seen = [t["tweet_id"] for p in (page1, page2, page3) for t in p["tweets"]]
    assert seen == list(reversed(ids)) and page3["has_more"] is False


def test_celebrity_tweets_are_merged_on_read(celebrity_runtime: LocalStack) -> None:
    celeb = celebrity_runtime.user(uname("c"))
    fans = [celebrity_runtime.user(uname("f")) for _ in range(3)]
    normal = celebrity_runtime.user(uname("n"))
    for fan in fans:
        fan.follow(celeb.username)
    fans[0].follow(normal.username)
    fans[0].home()
    a = celeb.tweet("from the celebrity")
    b = normal.tweet("from a normal account")
    c = celeb.tweet("celebrity again")
    timeline = eventually(
        lambda: [t["tweet_id"] for t in fans[0].home()["tweets"]] == [c["tweet_id"], b["tweet_id"], a["tweet_id"]]
    )
    assert timeline


def test_long_poll_returns_when_a_tweet_arrives(runtime: LocalStack) -> None:
    author, reader = runtime.user(uname("a")), runtime.user(uname("r"))
    reader.follow(author.username)
    first = author.tweet("before")
    eventually(lambda: reader.home()["tweets"])
    empty = reader.get("/timeline/poll", since_id=first["tweet_id"], timeout=1).json()
    assert empty["tweets"] == []
    import threading

    threading.Timer(0.5, lambda: author.tweet("during the poll")).start()
    result = reader.get("/timeline/poll", since_id=first["tweet_id"], timeout=10).json()
    assert [t["content"] for t in result["tweets"]] == ["during the poll"]


def test_search_finds_new_tweets_within_seconds(runtime: LocalStack) -> None:
    author, reader = runtime.user(uname("a")), runtime.user(uname("r"))
    marker = uuid.uuid4().hex[:8]
    author.tweet(f"searchable zebra{marker} #e2esearch")
    author.tweet(f"other zebra{marker} words")
    found = eventually(lambda: reader.get("/search", q=f"zebra{marker} #e2esearch").json()["tweets"])
    assert len(found) == 1
    # the second tweet is indexed on its own schedule (the first one's being searchable says nothing of it)
    by_author = eventually(
        lambda: (
            body
            if len(
                (body := reader.get("/search", q=f"from:{author.username} zebra{marker}", type="top").json())["tweets"]
            )
            == 2
            else None
        )
    )
    assert len(by_author["tweets"]) == 2 and by_author["search_metadata"]["result_type"] == "top"
    assert reader.get("/search", q="since:2026-99-01").status_code == 400
    assert reader.get("/search").status_code == 400
    assert reader.get("/search", q="!!!").json()["tweets"] == []  # symbols alone match nothing
    assert reader.get("/search", q="x", type="best").status_code == 400
    # users are indexed by the stream's indexer too (eventually, like tweets)
    users = eventually(
        lambda: [
            u
            for u in reader.get("/search/users", q=author.username[:6]).json()["users"]
            if u["username"] == author.username
        ]
    )
    assert [u["username"] for u in users] == [author.username]


def test_trends_show_a_burst_hashtag(runtime: LocalStack) -> None:
    tag = f"burst{uuid.uuid4().hex[:6]}"
    for i in range(3):
        runtime.user(uname()).tweet(f"#{tag} number {i}")
    reader = runtime.user(uname())

    def trending() -> list[dict[str, object]]:
        return [t for t in reader.get("/trends", count=30).json()["trends"] if t["hashtag"] == tag]

    found = eventually(lambda: [t for t in trending() if t["tweet_count"] == 3], timeout=20)
    assert found[0]["score"] > 0


def test_notifications_list_and_mark_read(runtime: LocalStack) -> None:
    alice, bob = runtime.user(uname("a")), runtime.user(uname("b"))
    bob.follow(alice.username)
    tweet = alice.tweet("notice me")
    bob.post(f"/tweets/{tweet['tweet_id']}/like")
    bob.tweet(f"hey @{alice.username}")
    listed = eventually(
        lambda: len(alice.get("/notifications").json()["notifications"]) == 3 and alice.get("/notifications").json()
    )
    assert sorted(n["type"] for n in listed["notifications"]) == ["follow", "like", "mention"]
    assert listed["unread_count"] == 3
    assert alice.post("/notifications/read", {}).json() == {"marked": 3, "unread_count": 0}


def _upload(upload: dict[str, Any], data: bytes, content_type: str, *, tamper: bool = False) -> httpx.Response:
    url = upload["url"] + ("x" if tamper else "")
    if upload["method"] == "POST":  # S3 presigned POST: form fields, then the file
        return httpx.post(url, data=upload["fields"], files={"file": ("f", data, content_type)})
    return httpx.put(url, content=data, headers={**upload["headers"], "Content-Type": content_type})


def _image(width: int, height: int, fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(out, fmt)
    return out.getvalue()


def _processed(user: Client, media_id: str) -> dict[str, Any]:
    """The media record once the processor (run by the store's object-created notification) is done with it."""

    def done() -> dict[str, Any] | None:
        media: dict[str, Any] = user.get(f"/media/{media_id}").json()
        return media if media["status"] != "pending" else None

    result: dict[str, Any] = eventually(done, timeout=30)
    return result


def test_media_upload_processing_and_tweet(runtime: LocalStack) -> None:
    user = runtime.user(uname())
    png = _image(1600, 900, "PNG")
    ticket = user.post("/media", {"content_type": "image/png", "size": len(png)})
    assert ticket.status_code == 201
    media_id = ticket.json()["media_id"]
    upload = ticket.json()["upload"]
    if upload["method"] == "PUT":  # the local object store enforces the signed type, size and signature itself
        assert _upload(upload, png, "image/jpeg").status_code == 400
        assert _upload(upload, png, "image/png", tamper=True).status_code == 403
        assert _upload(upload, png + b"extra", "image/png").status_code == 400
    else:  # S3 enforces the POST policy: it must pin the exact size and the content type
        policy = json.loads(base64.b64decode(upload["fields"]["policy"]))
        assert ["content-length-range", len(png), len(png)] in policy["conditions"]
        assert {"Content-Type": "image/png"} in policy["conditions"]
    early = user.post("/tweets", {"content": "too early", "media_ids": [media_id]})
    assert (early.status_code, early.json()["error"]["code"]) == (409, "media_not_ready")
    assert _upload(upload, png, "image/png").status_code in (200, 204)
    media = _processed(user, media_id)
    assert media["status"] == "ready", media
    put = user.http.put(f"/media/{media_id}", json={"alt_text": "a blue rectangle"})
    assert put.status_code == 200 and put.json()["alt_text"] == "a blue rectangle"
    tweet = user.tweet("with a picture", media_ids=[media_id])
    (item,) = tweet["media"]
    assert (item["type"], item["width"], item["height"], item["alt_text"]) == ("image", 1600, 900, "a blue rectangle")
    assert item["dominant_color"].startswith("#") and tweet["media_urls"] == [item["url"]]
    large, thumb = httpx.get(item["url"]), httpx.get(item["thumbnail_url"])
    assert large.headers["Content-Type"] == thumb.headers["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(thumb.content)).size == (400, 225)
    assert user.http.put(f"/media/{media_id}", json={"alt_text": "late"}).status_code == 409
    assert user.post("/media", {"content_type": "text/html", "size": 10}).status_code == 400
    assert user.post("/media", {"content_type": "image/png", "size": 10**9}).status_code == 400


def test_a_file_that_is_not_what_it_claims_is_refused_and_not_kept(runtime: LocalStack) -> None:
    user = runtime.user(uname())
    png = _image(64, 64, "PNG")
    ticket = user.post("/media", {"content_type": "image/jpeg", "size": len(png)}).json()
    assert _upload(ticket["upload"], png, "image/jpeg").status_code in (200, 204)
    media = _processed(user, ticket["media_id"])
    assert media["status"] == "failed" and "first bytes" in media["reason"] and media.get("item") is None
    refused = user.post("/tweets", {"content": "pic", "media_ids": [ticket["media_id"]]})
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "media_failed")
    assert httpx.get(ticket["media_url"]).status_code in (403, 404)  # no rendition was made


def _mp4(size: int, duration_ms: int) -> bytes:
    """An MP4 of exactly ``size`` bytes: ftyp, the media data, then the movie header (as phones write it)."""
    ftyp = struct.pack(">I4s4sI4s", 20, b"ftyp", b"isom", 512, b"isom")
    mvhd = struct.pack(">I4sB3xIIII", 108, b"mvhd", 0, 0, 0, 1000, duration_ms) + bytes(80)
    moov = struct.pack(">I4s", 8 + len(mvhd), b"moov") + mvhd
    filler = size - len(ftyp) - len(moov) - 8
    return ftyp + struct.pack(">I4s", 8 + filler, b"mdat") + bytes(filler) + moov


def test_a_video_above_the_single_upload_limit_goes_in_parts(runtime: LocalStack) -> None:
    user = runtime.user(uname())
    video = _mp4(16 * 1024 * 1024 + 5, duration_ms=61_500)
    ticket = user.post("/media", {"content_type": "video/mp4", "size": len(video)}).json()
    form = ticket["multipart"]
    assert "upload" not in ticket and len(form["parts"]) == 3
    etags = []
    for part in form["parts"]:
        start = (part["part_number"] - 1) * form["part_size"]
        chunk = video[start : start + form["part_size"]]
        if part["part_number"] == 1 and "signature=" in part["url"]:  # the local store pins each part's size
            assert httpx.put(part["url"], content=chunk + b"x").status_code == 400
        answer = httpx.put(part["url"], content=chunk, timeout=60)
        assert answer.status_code == 200, answer.text
        etags.append(answer.headers["ETag"])
    complete = {"upload_id": form["upload_id"], "etags": etags}
    assert user.post(f"/media/{ticket['media_id']}/complete", complete).status_code == 200
    media = _processed(user, ticket["media_id"])
    assert media["status"] == "ready", media
    item = media["item"]
    assert (item["type"], item["duration_ms"], item["url"]) == ("video", 61_500, ticket["media_url"])
    tweet = user.tweet("a clip", media_ids=[ticket["media_id"]])
    assert tweet["media"][0]["type"] == "video"
    served = httpx.get(item["url"], timeout=60)
    assert served.headers["Content-Type"] == "video/mp4" and served.content == video


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/nope", 404),
        ("GET", "/api/v1/tweets/abc", 404),
        ("GET", "/api/v1/tweets/99999", 404),
        ("PUT", "/api/v1/tweets", 405),
        ("GET", "/api/v1/timeline/home?count=0", 400),
        ("GET", "/api/v1/timeline/home?cursor=zz", 400),
        ("GET", "/api/v1/notifications?count=1000", 400),
    ],
)
def test_bad_requests_get_json_errors(runtime: LocalStack, method: str, path: str, status: int) -> None:
    user = runtime.user(uname())
    response = user.http.request(method, runtime.url + path)
    assert response.status_code == status
    assert set(response.json()["error"]) == {"code", "message"}


@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Basic abc"])
def test_protected_routes_need_a_valid_token(runtime: LocalStack, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = httpx.get(f"{runtime.api}/timeline/home", headers=headers)
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"


def test_malformed_json_is_400_not_500(runtime: LocalStack) -> None:
    user: Client = runtime.user(uname())
    response = user.http.post("/tweets", content=b"{not json", headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "malformed_json")
    huge = user.http.post("/tweets", content=b'{"content": "' + b"x" * 70_000 + b'"}')
    assert huge.status_code == 413


def test_large_responses_are_gzip_compressed_for_clients_that_accept_it(runtime: LocalStack) -> None:
    # Given a home page large enough to compress (API Gateway's minimumCompressionSize, from the wiring table)
    author, reader = runtime.user(uname("a")), runtime.user(uname("r"))
    reader.follow(author.username)
    reader.home()
    for i in range(12):
        author.tweet(f"a tweet long enough to make the page big #{i} " + "words " * 20)
    eventually(lambda: len(reader.home(count=20)["tweets"]) == 12)
    url, auth = f"{runtime.api}/timeline/home", {"Authorization": reader.http.headers["Authorization"]}
    # When it is read with and without Accept-Encoding: gzip
    plain = httpx.get(url, params={"count": 20}, headers={**auth, "Accept-Encoding": "identity"})
    packed = httpx.get(url, params={"count": 20}, headers={**auth, "Accept-Encoding": "gzip"})
    # Then the gzip answer is compressed on the wire, decodes to the same JSON and says it varies by encoding
    assert plain.headers.get("Content-Encoding") is None and len(plain.content) >= wiring.RESPONSE_COMPRESSION_MIN_BYTES
    assert packed.headers["Content-Encoding"] == "gzip" and packed.headers["Vary"] == "Accept-Encoding"
    assert packed.num_bytes_downloaded < len(plain.content) / 2
    assert packed.json() == plain.json()
    # and a small answer is never compressed
    small = httpx.get(f"{runtime.api}/health", headers={"Accept-Encoding": "gzip"})
    assert small.headers.get("Content-Encoding") is None and small.json() == {"status": "ok"}


def test_signed_out_readers_get_public_cacheable_reads_without_viewer_flags(runtime: LocalStack) -> None:
    # Given a tweet the reader liked, with a reply
    author, reader = runtime.user(uname("a")), runtime.user(uname("r"))
    tweet_id = author.tweet("public #edgecase words")["tweet_id"]
    author.tweet("a reply", reply_to=tweet_id)
    assert reader.post(f"/tweets/{tweet_id}/like").status_code == 200
    # When it is read signed out, Then the answer is public, cacheable and has no viewer's flags
    anonymous = httpx.get(f"{runtime.api}/tweets/{tweet_id}")
    assert anonymous.status_code == 200 and anonymous.headers["Cache-Control"] == "public, max-age=10, s-maxage=10"
    assert anonymous.json()["liked_by_user"] is False and anonymous.json()["likes_count"] == 1
    for path in (f"/tweets/{tweet_id}/replies", f"/users/{author.username}", f"/users/{author.username}/tweets"):
        response = httpx.get(f"{runtime.api}{path}")
        assert response.status_code == 200 and response.headers["Cache-Control"].startswith("public, max-age="), path
    assert httpx.get(f"{runtime.api}/trends").headers["Cache-Control"] == "public, max-age=30, s-maxage=30"
    # and signed in, the same route carries the viewer's flags and is private
    mine = reader.get(f"/tweets/{tweet_id}")
    assert mine.json()["liked_by_user"] is True and mine.headers["Cache-Control"] == "private, no-store"
    # and a token that does not verify is refused, as the authorizer would (never downgraded to signed out)
    bad = httpx.get(f"{runtime.api}/tweets/{tweet_id}", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401 and bad.headers["Cache-Control"] == "private, no-store"
    # and an error is never cacheable
    assert httpx.get(f"{runtime.api}/tweets/1").headers["Cache-Control"] == "private, no-store"


def test_the_edge_caches_signed_out_reads_and_never_a_signed_in_one(runtime: LocalStack) -> None:
    # Given a tweet, read through the edge (CloudFront's ApiEdge on AWS; the local gateway's stand-in here)
    author = runtime.user(uname("a"))
    tweet_id = author.tweet("cached at the edge")["tweet_id"]
    edge = f"{runtime.url}/_edge{wiring.API_PREFIX}/tweets/{tweet_id}"
    # When a signed-out reader reads it twice, Then the second answer comes from the edge, identical
    first, second = httpx.get(edge), httpx.get(edge)
    assert first.headers["X-Cache"].startswith("Miss") and second.headers["X-Cache"].startswith("Hit")
    assert second.json() == first.json()
    # and a signed-in reader always reaches the function (its answer is private, never kept)
    auth = {"Authorization": author.http.headers["Authorization"]}
    for _ in range(2):
        signed_in = httpx.get(edge, headers=auth)
        assert (
            signed_in.headers["X-Cache"].startswith("Miss")
            and signed_in.headers["Cache-Control"] == "private, no-store"
        )
    # and the edge takes reads only
    assert httpx.post(f"{runtime.url}/_edge{wiring.API_PREFIX}/tweets", json={"content": "x"}).status_code == 403


def test_bookmarks_are_private_pages_newest_first_and_survive_unbookmark_twice(runtime: LocalStack) -> None:
    # Given an author's three tweets, two bookmarked by a reader (one twice)
    author, reader, other = runtime.user(uname("a")), runtime.user(uname("r")), runtime.user(uname("o"))
    ids = [author.tweet(f"keep me {i}")["tweet_id"] for i in range(3)]
    for tweet_id in (ids[0], ids[2], ids[2]):
        answer = reader.post(f"/tweets/{tweet_id}/bookmark")
        assert answer.status_code == 200 and answer.json() == {"tweet_id": tweet_id, "bookmarked": True}
    # Then the reader's bookmarks page newest tweet first, one per tweet, and nobody else sees them
    page = reader.get("/bookmarks", count=1).json()
    assert [t["tweet_id"] for t in page["tweets"]] == [ids[2]] and page["has_more"] is True
    rest = reader.get("/bookmarks", count=5, cursor=page["next_cursor"]).json()
    assert [t["tweet_id"] for t in rest["tweets"]] == [ids[0]] and rest["has_more"] is False
    assert other.get("/bookmarks").json()["tweets"] == []
    # and unbookmarking twice is fine; a bookmark of a tweet that does not exist is a 404
    for _ in range(2):
        assert reader.delete(f"/tweets/{ids[2]}/bookmark").json() == {"tweet_id": ids[2], "bookmarked": False}
    assert [t["tweet_id"] for t in reader.get("/bookmarks").json()["tweets"]] == [ids[0]]
    assert reader.post("/tweets/1/bookmark").status_code == 404
    # and a deleted tweet drops out of the page
    assert author.delete(f"/tweets/{ids[0]}").status_code == 200
    assert reader.get("/bookmarks").json()["tweets"] == []
