"""Request bodies of the REST API. Strict: a number where a string belongs is a 400, not a coercion. Constraints here
are also the OpenAPI document's; tweet content is checked by the text rules (code points after trimming) so its
limits appear only in the document."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr, WithJsonSchema, field_validator

from chirp.ids import ID_PATTERN
from chirp.text import EMAIL_PATTERN

USERNAME_PATTERN = r"^[A-Za-z0-9_]{1,15}$"
MEDIA_ID_PATTERN = r"^[0-9a-f]{32}$"
MAX_MEDIA = 15 * 1024 * 1024
ContentType = Literal["image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4"]


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class SignupRequest(_Body):
    username: StrictStr = Field(pattern=USERNAME_PATTERN)
    email: StrictStr = Field(max_length=254, pattern=EMAIL_PATTERN)
    password: StrictStr = Field(min_length=8, max_length=128)
    display_name: StrictStr | None = Field(default=None, max_length=50, pattern=r"\S")


class LoginRequest(_Body):
    username: StrictStr = Field(max_length=64)
    password: StrictStr = Field(max_length=256)


class CreateTweetRequest(_Body):
    content: StrictStr = Field(
        max_length=4000,
        json_schema_extra={"minLength": 1, "maxLength": 280, "pattern": r"[^\s\u0000-\u001f\u007f-\u009f]"},
    )
    media_ids: list[Annotated[StrictStr, Field(pattern=MEDIA_ID_PATTERN)]] = Field(default_factory=list, max_length=4)
    reply_to: StrictStr | None = Field(default=None, pattern=ID_PATTERN)
    quote_tweet: StrictStr | None = Field(default=None, pattern=ID_PATTERN)


class MediaUploadRequest(_Body):
    content_type: ContentType
    size: Annotated[StrictInt | StrictFloat, WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_MEDIA})]

    @field_validator("size")
    @classmethod
    def _whole_bytes(cls, value: int | float) -> int:
        """JSON has one number type: 1024.0 is the integer 1024 (JSON Schema agrees); 1024.5 is not."""
        if isinstance(value, float) and not value.is_integer():
            raise ValueError("size must be a whole number of bytes")
        if not 1 <= value <= MAX_MEDIA:
            raise ValueError(f"size must be between 1 and {MAX_MEDIA} bytes")
        return int(value)


class MarkReadRequest(_Body):
    up_to: StrictStr | None = Field(default=None, pattern=ID_PATTERN)
