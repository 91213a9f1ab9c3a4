"""Media objects in S3: presigned POST uploads whose policy pins the content type and the exact size, HEAD to
confirm an upload, and public URLs through the CDN (CloudFront) in front of the bucket."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError

from chirp.model import UploadTicket
from chirp.ports import StoreUnavailable


class S3ObjectStore:
    def __init__(self, client: Any, *, bucket: str, public_base_url: str) -> None:
        self._s3 = client
        self._bucket = bucket
        self._public = public_base_url.rstrip("/")

    def presign_upload(self, key: str, *, content_type: str, size: int, expires_s: int) -> UploadTicket:
        post = self._s3.generate_presigned_post(
            Bucket=self._bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", size, size]],
            ExpiresIn=expires_s,
        )
        return UploadTicket(
            url=post["url"], method="POST", headers={}, fields=dict(post["fields"]), expires_in=expires_s
        )

    def head(self, key: str) -> tuple[int, str] | None:
        try:
            meta = self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        except EndpointConnectionError as exc:
            raise StoreUnavailable(f"s3: {exc}") from exc
        return int(meta["ContentLength"]), str(meta.get("ContentType", "application/octet-stream"))

    def read(self, key: str) -> tuple[bytes, str] | None:
        """The object's bytes and content type (what the CDN fetches from the bucket)."""
        try:
            obj = self._s3.get_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return obj["Body"].read(), str(obj.get("ContentType", "application/octet-stream"))

    def public_url(self, key: str) -> str:
        return f"{self._public}/{key}"
