"""Media objects in S3: presigned POST uploads whose policy pins the content type and the exact size, presigned
multipart uploads for videos, HEAD to confirm an upload, ranged reads, copies, puts and deletes for the media
processor, and public URLs through the CDN (CloudFront) in front of the bucket."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError

from chirp.model import MultipartTicket, UploadTicket
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

    def read_range(self, key: str, start: int, end: int) -> bytes:
        if end <= start:
            return b""
        try:
            obj = self._s3.get_object(Bucket=self._bucket, Key=key, Range=f"bytes={start}-{end - 1}")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "InvalidRange":  # start at or past the end
                return b""
            raise
        except EndpointConnectionError as exc:
            raise StoreUnavailable(f"s3: {exc}") from exc
        data: bytes = obj["Body"].read()
        return data

    def copy(self, source: str, target: str) -> None:
        try:  # one request up to 5 GB: the media limit is 512 MB
            self._s3.copy_object(Bucket=self._bucket, Key=target, CopySource={"Bucket": self._bucket, "Key": source})
        except EndpointConnectionError as exc:
            raise StoreUnavailable(f"s3: {exc}") from exc

    def presign_multipart(
        self, key: str, *, content_type: str, size: int, part_size: int, expires_s: int
    ) -> MultipartTicket:
        """CreateMultipartUpload now (the content type is fixed here); the client PUTs each part to its presigned
        URL. S3 cannot pin a part's size in a presigned URL: the processor refuses a file whose total size differs
        from the declared one, and the bucket's lifecycle rule aborts uploads never completed (1 day)."""
        upload_id = self._s3.create_multipart_upload(Bucket=self._bucket, Key=key, ContentType=content_type)["UploadId"]
        parts = -(-size // part_size)
        urls = [
            self._s3.generate_presigned_url(
                "upload_part",
                Params={"Bucket": self._bucket, "Key": key, "UploadId": upload_id, "PartNumber": number},
                ExpiresIn=expires_s,
            )
            for number in range(1, parts + 1)
        ]
        return MultipartTicket(upload_id=upload_id, part_size=part_size, part_urls=urls, expires_in=expires_s)

    def complete_multipart(self, key: str, upload_id: str, etags: Sequence[str]) -> None:
        parts = [{"PartNumber": number, "ETag": etag} for number, etag in enumerate(etags, start=1)]
        try:
            self._s3.complete_multipart_upload(
                Bucket=self._bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("InvalidPart", "InvalidPartOrder", "NoSuchUpload", "EntityTooSmall", "MalformedXML"):
                raise ValueError(f"the upload cannot be completed: {code}") from exc
            raise

    def put(self, key: str, data: bytes, content_type: str) -> None:
        try:
            self._s3.put_object(Bucket=self._bucket, Key=key, Body=data, ContentType=content_type)
        except EndpointConnectionError as exc:
            raise StoreUnavailable(f"s3: {exc}") from exc

    def delete(self, key: str) -> None:
        try:
            self._s3.delete_object(Bucket=self._bucket, Key=key)  # S3 answers 204 for a missing key too
        except EndpointConnectionError as exc:
            raise StoreUnavailable(f"s3: {exc}") from exc

    def public_url(self, key: str) -> str:
        return f"{self._public}/{key}"
