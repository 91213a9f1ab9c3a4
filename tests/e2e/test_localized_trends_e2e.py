"""Localized trends over real HTTP against the local runtime (every backend): a hashtag trends in its author's place
(the profile's) and worldwide; ``GET /trends?place=`` reads one place, an unknown place is a 400."""

import uuid

from support.runtime import LocalStack, eventually


def test_trends_per_place_and_worldwide(runtime: LocalStack) -> None:
    tag = f"local{uuid.uuid4().hex[:8]}"
    author = runtime.user(f"t{uuid.uuid4().hex[:10]}")
    assert author.http.patch("/users/me", json={"place": "NZ"}).status_code == 200
    author.tweet(f"Kia ora #{tag}")

    def tags(place: str | None = None) -> set[str]:
        response = author.get("/trends", **({"place": place} if place is not None else {}), count=30)
        assert response.status_code == 200, response.text
        return {t["hashtag"] for t in response.json()["trends"]}

    eventually(lambda: tag in tags("NZ"), timeout=15)  # the trender runs on the stream; reads refresh every few s
    eventually(lambda: tag in tags(), timeout=15)
    assert tag not in tags("AU")
    refused = author.get("/trends", place="XX")
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "unknown_place")
