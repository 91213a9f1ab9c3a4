"""What processing does to an upload's bytes (Pillow): check that they are what the declared type says, refuse
decompression bombs and truncated files, and make the renditions that are served (a size-limited image and a
thumbnail, EXIF orientation applied and metadata such as GPS stripped), the placeholder colour and, for an MP4, its
duration. Also the square avatar crops. Pure functions of bytes: the media service reads and writes the objects."""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageOps

# 40 MP: above any phone camera (a 12 MP photo is 4032x3024) and a 2048x... screenshot. Checked from the header,
# before any pixel is decoded; Pillow itself refuses twice its MAX_IMAGE_PIXELS (DecompressionBombError).
MAX_PIXELS = 40_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
MAX_GIF_FRAME_PIXELS = 200_000_000  # frames x pixels of an animated GIF: each frame is decoded to check it
DISPLAY_MAX_SIDE = 2048  # the "large" rendition a tweet shows (Twitter's is 2048 px too)
DRAFT_MIN_SIDE = 1536  # a JPEG decoded at reduced scale keeps at least this many pixels on its longest side
THUMBNAIL_MAX_SIDE = 400  # timeline thumbnails and the composer's previews
AVATAR_SIZES = (48, 96, 400)  # what the web client shows: timeline, profile header, profile page
JPEG_QUALITY = 85

_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}


class MediaRejected(ValueError):
    """The bytes are refused; the message is the reason the client reads (GET /media/{id})."""


@dataclass(frozen=True, slots=True)
class Rendition:
    data: bytes
    content_type: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class ProcessedImage:
    display: Rendition
    thumbnail: Rendition
    dominant_color: str  # "#rrggbb"


def magic_matches(data: bytes, content_type: str) -> bool:
    """Whether the first bytes are those of the declared type (the upload's signature fixed only the header)."""
    if content_type == "image/jpeg":
        return data[:3] == b"\xff\xd8\xff"
    if content_type == "image/png":
        return data[:8] == b"\x89PNG\r\n\x1a\n"
    if content_type == "image/gif":
        return data[:6] in (b"GIF87a", b"GIF89a")
    if content_type == "image/webp":
        return data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    if content_type == "video/mp4":
        return data[4:8] == b"ftyp"
    return False


def _open(data: bytes, content_type: str) -> Image.Image:
    if not magic_matches(data, content_type):
        raise MediaRejected(f"the file is not {content_type}: its first bytes say otherwise")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[_FORMATS[content_type]])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaRejected(f"the image has too many pixels (at most {MAX_PIXELS})") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise MediaRejected(f"the file is not a readable {content_type}: {exc}") from exc
    if image.width * image.height > MAX_PIXELS:
        raise MediaRejected(f"the image has too many pixels: {image.width}x{image.height} (at most {MAX_PIXELS})")
    return image


def _decode(image: Image.Image) -> Image.Image:
    """Every pixel decoded (a truncated file fails here), orientation applied; a GIF's frames are all decoded."""
    frames = getattr(image, "n_frames", 1)
    if frames * image.width * image.height > MAX_GIF_FRAME_PIXELS:
        raise MediaRejected(f"the animation is too large: {frames} frames of {image.width}x{image.height}")
    try:
        for index in range(frames - 1, -1, -1):  # ends on the first frame, the one the renditions show
            image.seek(index)
            image.load()
        oriented = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise MediaRejected(f"the image is truncated or corrupt: {exc}") from exc
    return oriented


def _encode(image: Image.Image, max_side: int) -> Rendition:
    """Fits the image within max_side (never enlarged); JPEG unless it has transparency (then PNG). Only pixels
    are written: no EXIF (GPS), no ICC-less surprises beyond sRGB assumption."""
    copy = image.copy()
    copy.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if copy.mode in ("RGBA", "LA") or (copy.mode == "P" and "transparency" in copy.info):
        copy.convert("RGBA").save(out, "PNG", optimize=False)
        content_type = "image/png"
    else:
        copy.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY, progressive=True)
        content_type = "image/jpeg"
    return Rendition(out.getvalue(), content_type, copy.width, copy.height)


def dominant_color(image: Image.Image) -> str:
    """The mean colour: the placeholder the client paints while the image loads."""
    r, g, b = image.convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))  # type: ignore[misc]
    return f"#{r:02x}{g:02x}{b:02x}"


def process_image(data: bytes, content_type: str) -> ProcessedImage:
    """The renditions of an uploaded image; MediaRejected when the bytes are not a sound image of that type."""
    image = _open(data, content_type)
    if image.format == "JPEG":
        # DCT scaling: a JPEG decodes at 1/2, 1/4 or 1/8 scale for a fraction of the work. The scale kept leaves at
        # least DRAFT_MIN_SIDE on the longest side: a 12 MP photo (4032 px) decodes at 2016 px, 4x fewer pixels.
        longest = max(image.size)
        image.draft("RGB", (image.width * DRAFT_MIN_SIDE // longest, image.height * DRAFT_MIN_SIDE // longest))
    decoded = _decode(image)
    display = _encode(decoded, DISPLAY_MAX_SIDE)
    thumbnail = _encode(decoded, THUMBNAIL_MAX_SIDE)
    with Image.open(io.BytesIO(thumbnail.data)) as small:
        colour = dominant_color(small)
    return ProcessedImage(display=display, thumbnail=thumbnail, dominant_color=colour)


def square_crops(data: bytes, content_type: str, sizes: tuple[int, ...] = AVATAR_SIZES) -> dict[int, Rendition]:
    """Centre-cropped squares at each size (avatars), from an image that passes the same checks as any upload."""
    image = _open(data, content_type)
    if image.format == "JPEG":
        image.draft("RGB", (max(sizes), max(sizes)))
    decoded = _decode(image).convert("RGB")
    crops: dict[int, Rendition] = {}
    for size in sizes:
        square = ImageOps.fit(decoded, (size, size), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        square.save(out, "JPEG", quality=JPEG_QUALITY)
        crops[size] = Rendition(out.getvalue(), "image/jpeg", size, size)
    return crops


Reader = Callable[[int, int], bytes]  # bytes [start, end) of the file: a ranged GET for a video in S3
MAX_MOOV_BYTES = 64 * 1024 * 1024  # the movie header of a 512 MB phone video is a few MB


def check_mp4(read: Reader, size: int) -> int | None:
    """Checks an MP4's top-level box structure, reading only the box headers and the movie header (moov) itself;
    returns the duration in ms when the movie header (mvhd) says it. Videos are not transcoded: the file is served
    as uploaded once its structure is sound."""
    if not magic_matches(read(0, 12), "video/mp4"):
        raise MediaRejected("the file is not video/mp4: its first bytes say otherwise")
    at = 0
    while at + 8 <= size:
        header = read(at, at + 16)
        box_size, kind = struct.unpack_from(">I4s", header)
        header_size = 8
        if box_size == 1 and len(header) == 16:
            box_size, header_size = struct.unpack_from(">Q", header, 8)[0], 16
        elif box_size == 0:
            box_size = size - at
        if box_size < header_size or at + box_size > size:
            raise MediaRejected("the video is truncated or corrupt: a box runs past the end of the file")
        if kind == b"moov":
            if box_size > MAX_MOOV_BYTES:
                raise MediaRejected("the video's movie header is implausibly large")
            moov = read(at + header_size, at + box_size)
            return _duration_ms(moov)
        at += box_size
    raise MediaRejected("the video is truncated or corrupt: it has no movie header (moov box)")


def check_mp4_bytes(data: bytes) -> int | None:
    return check_mp4(lambda start, end: data[start:end], len(data))


def _duration_ms(moov: bytes) -> int | None:
    mvhd = _box(moov, 0, len(moov), b"mvhd")
    if mvhd is None or mvhd[1] - mvhd[0] < 32:
        return None
    start = mvhd[0]
    if moov[start] == 1:  # version 1: 64-bit times
        timescale, duration = struct.unpack_from(">IQ", moov, start + 20)
    else:
        timescale, duration = struct.unpack_from(">II", moov, start + 12)
    return int(duration * 1000 / timescale) if timescale else None


def _box(data: bytes, start: int, end: int, wanted: bytes) -> tuple[int, int] | None:
    """(payload start, payload end) of the first box of type ``wanted`` in data[start:end]; MediaRejected when a
    box runs past the end (truncated)."""
    at = start
    while at + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, at)
        header = 8
        if size == 1:
            if at + 16 > end:
                break
            size = struct.unpack_from(">Q", data, at + 8)[0]
            header = 16
        elif size == 0:
            size = end - at
        if size < header or at + size > end:
            raise MediaRejected("the video is truncated or corrupt: a box runs past the end of the file")
        if kind == wanted:
            return at + header, at + size
        at += size
    return None
