"""Media processing (issue 17): uploads are checked and rendered by the media processor before a tweet may carry
them; hostile files are refused with a reason the uploader reads, and nothing of them is kept."""

from __future__ import annotations

import io
import struct
from typing import Any, cast

import pytest
from PIL import Image

from chirp import api_models as api
from chirp.container import Container
from chirp.errors import Conflict, NotFound, ValidationFailed
from chirp.local.context import LocalLambdaContext
from chirp.object_consumer import consume_objects, s3_event
from chirp.ports import StoreUnavailable
from chirp.services.media_processing import MAX_PIXELS
from chirp.services.tweets import NewTweet
from chirp.tokens import Principal
from support.stack import signup


def jpeg(width: int = 1200, height: int = 800, colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "JPEG", quality=90)
    return out.getvalue()


def png(width: int, height: int, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height)).save(out, "PNG")
    return out.getvalue()


def mp4(duration_s: int = 3, timescale: int = 1000) -> bytes:
    """The boxes a player needs first: ftyp, then moov with its mvhd (version 0) saying the duration."""
    ftyp = struct.pack(">I4s4sI4s", 20, b"ftyp", b"isom", 512, b"isom")
    mvhd_payload = struct.pack(">B3xIIII", 0, 0, 0, timescale, duration_s * timescale) + b"\0" * 80
    mvhd = struct.pack(">I4s", 8 + len(mvhd_payload), b"mvhd") + mvhd_payload
    moov = struct.pack(">I4s", 8 + len(mvhd), b"moov") + mvhd
    mdat = struct.pack(">I4s", 16, b"mdat") + b"\0" * 8
    return ftyp + moov + mdat


def upload(stack: Container, owner: Principal, data: bytes, content_type: str, *, declared: int | None = None) -> str:
    """What a client does: asks for a slot, uploads (here straight into the embedded store), and the processor runs
    on the object-created notification. Returns the media id."""
    slot = stack.media.create_upload(owner, content_type=content_type, size=declared or len(data))
    key = stored_key(stack, slot["media_id"])
    stack.stores.objects.put(key, data, content_type)
    notify(stack, key, len(data))
    return slot["media_id"]


def stored_key(stack: Container, media_id: str) -> str:
    return stack.stores.media.get_many([media_id])[media_id].key


def notify(stack: Container, key: str, size: int) -> dict[str, Any]:
    return consume_objects(
        s3_event("chirp-media", key, size),
        cast(Any, LocalLambdaContext("media_processor", memory_mb=1024, timeout_s=60)),
        stack.media.process_upload,
        stack.media.abandon_upload,
        dead_letters=stack.dead_letters,
        attempts=2,
        name="media_processor",
    )


def served(stack: Container, url: str) -> tuple[bytes, str]:
    key = url.split("/", 3)[3]
    found = stack.stores.objects.read(key)
    assert found is not None, url
    return found


def test_an_image_is_processed_into_a_size_limited_rendition_and_a_thumbnail(stack: Container) -> None:
    alice = signup(stack, "alice")
    media_id = upload(stack, alice, jpeg(4032, 3024), "image/jpeg")
    media = stack.media.get(alice, media_id)
    assert media["status"] == "ready" and media["item"] is not None
    item = media["item"]
    # A 12 MP JPEG decodes at half scale (DCT scaling): 2016 px, within the 2048 px limit.
    assert (item["type"], item["width"], item["height"]) == ("image", 2016, 1512)
    colour = bytes.fromhex(item["dominant_color"].removeprefix("#"))
    assert all(abs(got - want) <= 3 for got, want in zip(colour, (200, 30, 30), strict=True))
    large, large_type = served(stack, item["url"])
    thumb, thumb_type = served(stack, item["thumbnail_url"])
    assert large_type == thumb_type == "image/jpeg"
    assert Image.open(io.BytesIO(large)).size == (2016, 1512)
    assert max(Image.open(io.BytesIO(thumb)).size) == 400
    assert stack.stores.objects.read(stored_key(stack, media_id)) is None  # the upload (with its EXIF) is gone


def test_a_large_png_is_limited_to_2048_pixels_a_side(stack: Container) -> None:
    alice = signup(stack, "alice")
    item = stack.media.get(alice, upload(stack, alice, png(3000, 1000), "image/png"))["item"]
    assert item is not None and (item["width"], item["height"]) == (2048, 683)


def test_exif_orientation_is_applied_and_metadata_stripped(stack: Container) -> None:
    alice = signup(stack, "alice")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90° clockwise: the stored 300x200 shows as 200x300
    exif[0x010F] = "PhoneCo"
    out = io.BytesIO()
    Image.new("RGB", (300, 200), (0, 0, 255)).save(out, "JPEG", exif=exif)
    item = stack.media.get(alice, upload(stack, alice, out.getvalue(), "image/jpeg"))["item"]
    assert item is not None and (item["width"], item["height"]) == (200, 300)
    large = Image.open(io.BytesIO(served(stack, item["url"])[0]))
    assert not large.getexif()


def test_a_transparent_png_keeps_its_alpha_and_the_upload_url_is_known_in_advance(stack: Container) -> None:
    alice = signup(stack, "alice")
    data = png(64, 64, "RGBA")
    slot = stack.media.create_upload(alice, content_type="image/png", size=len(data))
    key = stored_key(stack, slot["media_id"])
    stack.stores.objects.put(key, data, "image/png")
    notify(stack, key, len(data))
    item = stack.media.get(alice, slot["media_id"])["item"]
    assert item is not None and item["url"] == slot["media_url"]
    assert served(stack, item["url"])[1] == "image/png"


@pytest.mark.parametrize(
    ("data", "content_type", "reason"),
    [
        (png(10, 10), "image/jpeg", "first bytes"),  # wrong magic bytes for the declared type
        (b"GIF89a" + b"\0" * 40, "image/png", "first bytes"),
        (jpeg(800, 600)[:3000], "image/jpeg", "truncated"),
        (png(8000, 6000, "1"), "image/png", "too many pixels"),  # a ~30 KB decompression bomb (48 MP)
        (b"\0\0\0\x18ftypisom" + b"\0" * 12, "video/mp4", "no movie header"),
        (mp4()[:60], "video/mp4", "truncated"),
    ],
    ids=["png-as-jpeg", "gif-as-png", "truncated-jpeg", "decompression-bomb", "mp4-without-moov", "truncated-mp4"],
)
def test_a_hostile_file_is_refused_with_a_reason_and_nothing_is_kept(
    stack: Container, data: bytes, content_type: str, reason: str
) -> None:
    alice = signup(stack, "alice")
    media_id = upload(stack, alice, data, content_type)
    media = stack.media.get(alice, media_id)
    assert media["status"] == "failed" and media["item"] is None
    assert reason in media["reason"]
    assert stack.stores.objects.read(stored_key(stack, media_id)) is None
    assert not list((stack.settings.data_dir / "objects" / "media").rglob("*"))  # no rendition either
    with pytest.raises(ValidationFailed) as err:
        stack.tweets.create(alice, NewTweet(content="pic", media_ids=[media_id]))
    assert err.value.code == "media_failed" and reason in str(err.value)


def test_the_decompression_bomb_limit_is_checked_before_decoding() -> None:
    assert 48_000_000 > MAX_PIXELS >= 12_000_000 * 3  # a 48 MP bomb is refused; a 12 MP photo passes with margin


def test_an_upload_whose_size_differs_from_the_declared_one_is_refused(stack: Container) -> None:
    alice = signup(stack, "alice")
    data = jpeg(100, 100)
    media_id = upload(stack, alice, data, "image/jpeg", declared=len(data) + 5)
    media = stack.media.get(alice, media_id)
    assert media["status"] == "failed" and "declared" in media["reason"]


def test_a_video_is_served_as_uploaded_with_its_duration(stack: Container) -> None:
    alice = signup(stack, "alice")
    data = mp4(duration_s=7)
    item = stack.media.get(alice, upload(stack, alice, data, "video/mp4"))["item"]
    assert item is not None and item["type"] == "video" and item["duration_ms"] == 7000
    assert served(stack, item["url"]) == (data, "video/mp4")


def test_a_tweet_takes_up_to_four_ready_images_or_one_video_and_shows_their_metadata(stack: Container) -> None:
    alice = signup(stack, "alice")
    images = [upload(stack, alice, jpeg(640, 480, (10 * i, 0, 0)), "image/jpeg") for i in range(5)]
    video = upload(stack, alice, mp4(), "video/mp4")
    stack.media.set_alt_text(alice, images[0], "  a red square  ")
    tweet = stack.tweets.create(alice, NewTweet(content="four", media_ids=images[:4]))
    assert [m["media_id"] for m in tweet["media"]] == images[:4]
    first = tweet["media"][0]
    assert first["alt_text"] == "a red square" and (first["width"], first["height"]) == (640, 480)
    assert tweet["media_urls"] == [m["url"] for m in tweet["media"]]
    again = stack.tweets.get(None, int(tweet["tweet_id"]))
    assert again["media"] == tweet["media"]
    for too_many in (images, [*images[:1], video]):
        with pytest.raises(ValidationFailed) as err:
            stack.tweets.create(alice, NewTweet(content="too many", media_ids=too_many))
        assert err.value.code == "too_many_media"
    assert stack.tweets.create(alice, NewTweet(content="clip", media_ids=[video]))["media"][0]["type"] == "video"


def test_posting_pending_media_is_a_409_and_others_media_a_404(stack: Container) -> None:
    alice, bob = signup(stack, "alice"), signup(stack, "bob")
    pending = stack.media.create_upload(alice, content_type="image/jpeg", size=100)["media_id"]
    with pytest.raises(Conflict) as err:
        stack.tweets.create(alice, NewTweet(content="pic", media_ids=[pending]))
    assert err.value.code == "media_not_ready"
    assert stack.media.get(alice, pending)["status"] == "pending"
    ready = upload(stack, alice, jpeg(), "image/jpeg")
    for call in (
        lambda: stack.tweets.create(bob, NewTweet(content="not mine", media_ids=[ready])),
        lambda: stack.media.get(bob, ready),
        lambda: stack.media.set_alt_text(bob, ready, "mine now"),
    ):
        with pytest.raises(NotFound):
            call()


def test_alt_text_is_editable_until_the_media_is_posted(stack: Container) -> None:
    alice = signup(stack, "alice")
    media_id = upload(stack, alice, jpeg(), "image/jpeg")
    assert stack.media.set_alt_text(alice, media_id, "first")["alt_text"] == "first"
    assert stack.media.set_alt_text(alice, media_id, "second")["alt_text"] == "second"
    tweet = stack.tweets.create(alice, NewTweet(content="pic", media_ids=[media_id]))
    assert tweet["media"][0]["alt_text"] == "second"
    with pytest.raises(Conflict) as err:
        stack.media.set_alt_text(alice, media_id, "third")
    assert err.value.code == "media_posted"
    assert stack.media.get(alice, media_id)["posted"] is True


def test_processing_is_idempotent_on_redelivery(stack: Container) -> None:
    alice = signup(stack, "alice")
    data = jpeg()
    slot = stack.media.create_upload(alice, content_type="image/jpeg", size=len(data))
    key = stored_key(stack, slot["media_id"])
    stack.stores.objects.put(key, data, "image/jpeg")
    assert stack.media.process_upload(key) == "ready"
    stack.media.set_alt_text(alice, slot["media_id"], "kept")
    before = stack.media.get(alice, slot["media_id"])
    assert stack.media.process_upload(key) == "ready"  # the redelivered notification changes nothing
    notify(stack, key, len(data))
    assert stack.media.get(alice, slot["media_id"]) == before
    assert stack.media.process_upload("uploads/1/not-a-media-id.jpg") == "ignored"
    assert stack.media.process_upload("media/1/" + slot["media_id"] + "/large") == "ignored"  # its own renditions


def test_a_store_outage_is_raised_for_the_retry_and_a_poison_upload_is_dead_lettered(
    stack: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = signup(stack, "alice")
    data = jpeg()
    slot = stack.media.create_upload(alice, content_type="image/jpeg", size=len(data))
    key = stored_key(stack, slot["media_id"])
    stack.stores.objects.put(key, data, "image/jpeg")

    def down(*_args: object) -> None:
        raise StoreUnavailable("s3 down")

    with monkeypatch.context() as patch:
        patch.setattr(stack.stores.objects, "read", down)
        with pytest.raises(StoreUnavailable):
            notify(stack, key, len(data))
    assert stack.media.get(alice, slot["media_id"])["status"] == "pending"
    assert not stack.dead_letters.list()

    def bug(*_args: object) -> None:
        raise RuntimeError("Pillow crashed")

    with monkeypatch.context() as patch:
        patch.setattr("chirp.services.media_processing.process_image", bug)
        notify(stack, key, len(data))
    letters = stack.dead_letters.list()
    assert [(letter.consumer, letter.records[0].partition_key) for letter in letters] == [("media_processor", key)]
    assert "Pillow crashed" in letters[0].error
    media = stack.media.get(alice, slot["media_id"])
    assert media["status"] == "failed" and media["reason"] == "the file could not be processed"
    assert stack.stores.objects.read(key) is None


def test_avatar_renditions_are_square_crops_of_a_processed_image(stack: Container) -> None:
    alice = signup(stack, "alice")
    media_id = upload(stack, alice, jpeg(900, 600), "image/jpeg")
    urls = stack.media.avatar_renditions(alice, media_id)
    assert sorted(urls) == [48, 96, 400]
    for size, url in urls.items():
        assert Image.open(io.BytesIO(served(stack, url)[0])).size == (size, size)
    assert stack.media.avatar_renditions(alice, media_id) == urls  # idempotent
    video = upload(stack, alice, mp4(), "video/mp4")
    with pytest.raises(ValidationFailed):
        stack.media.avatar_renditions(alice, video)
    pending = stack.media.create_upload(alice, content_type="image/png", size=10)["media_id"]
    with pytest.raises(Conflict):
        stack.media.avatar_renditions(alice, pending)


def test_the_media_json_types_match_the_api_models(stack: Container) -> None:
    from pydantic import TypeAdapter

    alice = signup(stack, "alice")
    media = stack.media.get(alice, upload(stack, alice, jpeg(), "image/jpeg"))
    TypeAdapter(api.Media).validate_python(media, strict=True)


def big_mp4(size: int) -> bytes:
    """An MP4 of exactly ``size`` bytes, moov at the end (as phones write it)."""
    head, tail = mp4()[:20], mp4()[20:136]
    filler = size - len(head) - len(tail) - 8
    return head + struct.pack(">I4s", 8 + filler, b"mdat") + bytes(filler) + tail


def test_a_large_video_uploads_in_parts_and_is_checked_without_reading_it_whole(
    stack: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = signup(stack, "alice")
    data = big_mp4(stack.settings.media_max_bytes + 1024)
    slot = stack.media.create_upload(alice, content_type="video/mp4", size=len(data))
    assert slot["upload"] is None and slot["multipart"] is not None
    form = slot["multipart"]
    assert [part["part_number"] for part in form["parts"]] == [1, 2]
    objects: Any = stack.stores.objects
    etags = [
        objects.store_part(form["upload_id"], n, data[(n - 1) * form["part_size"] : n * form["part_size"]])
        for n in (1, 2)
    ]
    with pytest.raises(ValidationFailed) as err:  # a part missing
        stack.media.complete_upload(alice, slot["media_id"], upload_id=form["upload_id"], etags=etags[:1])
    assert err.value.code == "upload_incomplete"
    with pytest.raises(NotFound):
        stack.media.complete_upload(signup(stack, "bob"), slot["media_id"], upload_id=form["upload_id"], etags=etags)
    stack.media.complete_upload(alice, slot["media_id"], upload_id=form["upload_id"], etags=etags)
    monkeypatch.setattr(objects, "read", lambda *_: pytest.fail("a video is read by ranges, never whole"))
    notify(stack, stored_key(stack, slot["media_id"]), len(data))
    item = stack.media.get(alice, slot["media_id"])["item"]
    assert item is not None and item["duration_ms"] == 3000
    assert objects.read_range(item["url"].split("/", 3)[3], 0, len(data) + 10) == data
    # completed already: a client's retry hears what the first call said, and nothing changes
    again = stack.media.complete_upload(alice, slot["media_id"], upload_id=form["upload_id"], etags=etags)
    assert again == stack.media.get(alice, slot["media_id"])
    assert objects.read_range(item["url"].split("/", 3)[3], 0, len(data) + 10) == data


def test_video_and_image_size_limits(stack: Container) -> None:
    alice = signup(stack, "alice")
    for content_type, size in (("image/jpeg", stack.settings.media_max_bytes + 1), ("video/mp4", 512 * 2**20 + 1)):
        with pytest.raises(ValidationFailed) as err:
            stack.media.create_upload(alice, content_type=content_type, size=size)
        assert err.value.code == "invalid_media_size"
    small = stack.media.create_upload(alice, content_type="video/mp4", size=1000)
    assert small["multipart"] is None and small["upload"] is not None
