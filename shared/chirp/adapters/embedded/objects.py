"""Embedded object store (production: S3): files under the data dir, uploaded through HMAC-signed, expiring URLs
that the local runtime serves, with the content type and size fixed by the signature."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path
from urllib.parse import quote, urlencode

from chirp.model import UploadTicket


class FileObjectStore:
    def __init__(self, root: Path, *, secret: str, upload_base_url: str, public_base_url: str) -> None:
        self.root = root
        self._secret = secret.encode()
        self._upload_base = upload_base_url.rstrip("/")
        self._public_base = public_base_url.rstrip("/")
        root.mkdir(parents=True, exist_ok=True)

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

    def store(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)
        path.with_name(path.name + ".meta").write_text(json.dumps({"content_type": content_type}))

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
