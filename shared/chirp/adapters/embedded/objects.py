"""Embedded object store (production: S3): files under the data dir, uploaded through HMAC-signed, expiring URLs
that the local runtime serves, with the content type and size fixed by the signature. Like S3's event notifications,
it tells its listeners (the local runtime's object-created triggers) of every object created."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import quote, urlencode

from chirp.model import MultipartTicket, UploadTicket

ObjectCreated = Callable[[str, int, str], None]  # (key, size, content type)
MULTIPART_DIR = ".multipart"  # parts of uploads in progress, by upload id (outside any served or uploaded prefix)


class FileObjectStore:
    def __init__(self, root: Path, *, secret: str, upload_base_url: str, public_base_url: str) -> None:
        self.root = root
        self._secret = secret.encode()
        self._upload_base = upload_base_url.rstrip("/")
        self._public_base = public_base_url.rstrip("/")
        self._listeners: list[ObjectCreated] = []
        root.mkdir(parents=True, exist_ok=True)

    def add_listener(self, listener: ObjectCreated) -> None:
        self._listeners.append(listener)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError("object key escapes the store")
        return path

    def _signature(self, key: str, content_type: str, size: int, expires: int) -> str:
        message = f"{key}\n{content_type}\n{size}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def presign_upload(self, key: str, *, content_type: str, size: int, expires_s: int) -> UploadTicket:
        expires = int(time.time()) + expires_s
        query = urlencode(
            {
                "content_type": content_type,
                "size": size,
                "expires": expires,
                "signature": self._signature(key, content_type, size, expires),
            }
        )
        return UploadTicket(
            url=f"{self._upload_base}/{quote(key)}?{query}",
            method="PUT",
            headers={"Content-Type": content_type},
            fields={},
            expires_in=expires_s,
        )

    def verify_upload(self, key: str, *, content_type: str, size: str, expires: str, signature: str) -> str | None:
        """Checks a presigned upload; returns why it is refused, or None when it may proceed."""
        if not (size.isdigit() and expires.isdigit()):
            return "malformed upload URL"
        expected = self._signature(key, content_type, int(size), int(expires))
        if not hmac.compare_digest(expected, signature):
            return "signature does not match"
        if int(expires) < time.time():
            return "upload URL expired"
        return None

    # ---- multipart uploads (S3's CreateMultipartUpload, presigned UploadPart, CompleteMultipartUpload) -----------

    def _part_signature(self, key: str, upload_id: str, part: int, size: int, expires: int) -> str:
        message = f"{key}\n{upload_id}\n{part}\n{size}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def _parts_dir(self, upload_id: str) -> Path:
        if not (len(upload_id) == 32 and upload_id.isalnum()):
            raise ValueError("malformed upload id")
        return self.root / MULTIPART_DIR / upload_id

    def presign_multipart(
        self, key: str, *, content_type: str, size: int, part_size: int, expires_s: int
    ) -> MultipartTicket:
        """Unlike S3, each part's URL pins its exact size (the last part is the remainder)."""
        upload_id = uuid.uuid4().hex
        parts_dir = self._parts_dir(upload_id)
        parts_dir.mkdir(parents=True)
        manifest = {"key": key, "content_type": content_type, "size": size, "part_size": part_size}
        (parts_dir / "upload.json").write_text(json.dumps(manifest))
        expires = int(time.time()) + expires_s
        urls = []
        for number in range(1, -(-size // part_size) + 1):
            part_bytes = min(part_size, size - (number - 1) * part_size)
            query = urlencode(
                {
                    "upload_id": upload_id,
                    "part": number,
                    "size": part_bytes,
                    "expires": expires,
                    "signature": self._part_signature(key, upload_id, number, part_bytes, expires),
                }
            )
            urls.append(f"{self._upload_base}/{quote(key)}?{query}")
        return MultipartTicket(upload_id=upload_id, part_size=part_size, part_urls=urls, expires_in=expires_s)

    def verify_part(
        self, key: str, *, upload_id: str, part: str, size: str, expires: str, signature: str
    ) -> str | None:
        """Checks a presigned part upload; returns why it is refused, or None when it may proceed."""
        if not (part.isdigit() and size.isdigit() and expires.isdigit()):
            return "malformed upload URL"
        expected = self._part_signature(key, upload_id, int(part), int(size), int(expires))
        if not hmac.compare_digest(expected, signature):
            return "signature does not match"
        if int(expires) < time.time():
            return "upload URL expired"
        try:
            if not (self._parts_dir(upload_id) / "upload.json").is_file():
                return "no such upload"
        except ValueError:
            return "no such upload"
        return None

    def store_part(self, upload_id: str, part: int, data: bytes) -> str:
        """Keeps one part; returns its ETag (the MD5 of its bytes, quoted, as S3's)."""
        (self._parts_dir(upload_id) / str(part)).write_bytes(data)
        return f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'

    def complete_multipart(self, key: str, upload_id: str, etags: Sequence[str]) -> None:
        parts_dir = self._parts_dir(upload_id)
        try:
            manifest = json.loads((parts_dir / "upload.json").read_text())
        except FileNotFoundError:
            raise ValueError("the upload cannot be completed: NoSuchUpload") from None
        expected = -(-int(manifest["size"]) // int(manifest["part_size"]))
        if manifest["key"] != key or len(etags) != expected:
            raise ValueError(f"the upload cannot be completed: {expected} parts expected, {len(etags)} given")
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        with tmp.open("wb") as out:
            for number, etag in enumerate(etags, start=1):
                part = parts_dir / str(number)
                data = part.read_bytes() if part.is_file() else b""
                if f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"' != etag:
                    tmp.unlink()
                    raise ValueError(f"the upload cannot be completed: part {number} is missing or differs")
                out.write(data)
        tmp.replace(path)
        path.with_name(path.name + ".meta").write_text(json.dumps({"content_type": manifest["content_type"]}))
        shutil.rmtree(parts_dir, ignore_errors=True)
        size = path.stat().st_size
        for listener in self._listeners:
            listener(key, size, str(manifest["content_type"]))

    def store(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)
        path.with_name(path.name + ".meta").write_text(json.dumps({"content_type": content_type}))
        for listener in self._listeners:
            listener(key, len(data), content_type)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.store(key, data, content_type)

    def read_range(self, key: str, start: int, end: int) -> bytes:
        stored = self._stored(key)
        if stored is None or end <= start:
            return b""
        with stored[0].open("rb") as file:
            file.seek(start)
            return file.read(end - start)

    def copy(self, source: str, target: str) -> None:
        stored = self._stored(source)
        if stored is None:
            raise FileNotFoundError(source)
        path = self._path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(stored[0], path)
        path.with_name(path.name + ".meta").write_text(json.dumps({"content_type": stored[1]}))
        for listener in self._listeners:
            listener(target, path.stat().st_size, stored[1])

    def delete(self, key: str) -> None:
        try:
            path = self._path(key)
        except ValueError:
            return
        path.unlink(missing_ok=True)
        path.with_name(path.name + ".meta").unlink(missing_ok=True)

    def _stored(self, key: str) -> tuple[Path, str] | None:
        """The object's file and content type, or None (unknown key, or a key outside the store)."""
        try:
            path = self._path(key)
        except ValueError:
            return None
        if not path.is_file():
            return None
        meta = json.loads(path.with_name(path.name + ".meta").read_text())
        return path, str(meta["content_type"])

    def read(self, key: str) -> tuple[bytes, str] | None:
        stored = self._stored(key)
        return (stored[0].read_bytes(), stored[1]) if stored else None

    def head(self, key: str) -> tuple[int, str] | None:
        stored = self._stored(key)
        return (stored[0].stat().st_size, stored[1]) if stored else None

    def public_url(self, key: str) -> str:
        return f"{self._public_base}/{quote(key)}"
