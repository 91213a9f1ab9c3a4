"""Media processing cost (issue 17): milliseconds per image (a 12 MP JPEG, as phones take them) and per minute of
video, on this machine's CPU, through the same functions the media processor runs (chirp.services.media_processing).

    .venv/bin/python bench/media_processing.py            # 12 MP JPEG x 10, 1 min of 8 Mbit/s MP4 x 5

Video is not transcoded: its cost is the structure check (the box walk to the movie header) plus the copy to its
rendition key, so it grows with the file's size, not with its pixels. Lambda's CPU share follows its memory: the
processor has 1024 MB (a bit over half a vCPU), so expect about twice these figures there."""

from __future__ import annotations

import argparse
import io
import statistics
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shared"))

from PIL import Image, ImageFilter

from chirp.services.media_processing import check_mp4_bytes, process_image


def photo_like_jpeg(width: int = 4032, height: int = 3024) -> bytes:
    """A 12 MP JPEG with photo-like entropy (smoothed noise over a gradient): flat images decode too fast."""
    noise = Image.effect_noise((width // 8, height // 8), 64).resize((width, height), Image.Resampling.BICUBIC)
    gradient = Image.linear_gradient("L").resize((width, height))
    image = Image.merge("RGB", (noise, gradient, noise.filter(ImageFilter.GaussianBlur(3))))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


def minute_of_mp4(bitrate_bps: int = 8_000_000) -> bytes:
    """An MP4 laid out as phones write it (ftyp, mdat with a minute of media data, moov at the end)."""
    ftyp = struct.pack(">I4s4sI4s", 20, b"ftyp", b"isom", 512, b"isom")
    payload = bytes(bitrate_bps * 60 // 8)
    mdat = struct.pack(">I4s", 8 + len(payload), b"mdat") + payload
    mvhd_payload = struct.pack(">B3xIIII", 0, 0, 0, 1000, 60_000) + b"\0" * 80
    mvhd = struct.pack(">I4s", 8 + len(mvhd_payload), b"mvhd") + mvhd_payload
    moov = struct.pack(">I4s", 8 + len(mvhd), b"moov") + mvhd
    return ftyp + mdat + moov


def timed_ms(fn: object, runs: int) -> list[float]:
    assert callable(fn)
    results = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        results.append((time.perf_counter() - start) * 1000)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=10)
    parser.add_argument("--videos", type=int, default=5)
    args = parser.parse_args()
    jpeg = photo_like_jpeg()
    process_image(jpeg, "image/jpeg")  # warm-up: codec tables, first allocations
    image_ms = timed_ms(lambda: process_image(jpeg, "image/jpeg"), args.images)
    video = minute_of_mp4()
    video_ms = timed_ms(lambda: (check_mp4_bytes(video), bytearray(video)), args.videos)  # the check, then the copy
    print(
        f"12 MP JPEG ({len(jpeg) / 1e6:.1f} MB), {args.images} runs: median {statistics.median(image_ms):.0f} ms,"
        f" max {max(image_ms):.0f} ms (DCT-scaled decode, 2016 px + 400 px renditions, colour)"
    )
    print(
        f"1 min MP4 at 8 Mbit/s ({len(video) / 1e6:.0f} MB), {args.videos} runs: median"
        f" {statistics.median(video_ms):.1f} ms, max {max(video_ms):.1f} ms (structure check + copy; no transcoding)"
    )


if __name__ == "__main__":
    main()
