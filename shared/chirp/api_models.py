"""Request bodies of the REST API. Strict: a number where a string belongs is a 400, not a coercion."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class SignupRequest(_Body):
    username: StrictStr = Field(max_length=64)
    email: StrictStr = Field(max_length=254)
    password: StrictStr = Field(max_length=256)
    display_name: StrictStr | None = Field(default=None, max_length=200)


class LoginRequest(_Body):
    username: StrictStr = Field(max_length=64)
    password: StrictStr = Field(max_length=256)


class CreateTweetRequest(_Body):
    content: StrictStr = Field(max_length=4000)
    media_ids: list[StrictStr] = Field(default_factory=list, max_length=10)
    reply_to: StrictStr | None = None
    quote_tweet: StrictStr | None = None


class MediaUploadRequest(_Body):
    content_type: StrictStr = Field(max_length=100)
    size: StrictInt


class MarkReadRequest(_Body):
    up_to: StrictStr | None = None
