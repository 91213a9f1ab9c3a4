"""The REST API's bodies, the one description of both the JSON and the OpenAPI document (``chirp.openapi`` takes
every schema from here).

Requests are pydantic models. Strict: a number where a string belongs is a 400, not a coercion. Constraints here
are also the OpenAPI document's; tweet content is checked by the text rules (code points after trimming) so its
limits appear only in the document.

Responses are TypedDicts that the services build and the handlers return as they are: mypy --strict checks that
each one is built with exactly these keys and types, pydantic (``TypeAdapter``) turns them into the document's
schemas, and no object is built and dumped again on the hot read paths (a timeline page is many tweets)."""

from __future__ import annotations

from typing import Annotated, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr, WithJsonSchema, field_validator

from chirp.ids import ID_PATTERN
from chirp.model import NotificationType
from chirp.places import PLACE_PATTERN
from chirp.text import EMAIL_PATTERN, VISIBLE_CHAR_PATTERN

USERNAME_PATTERN = r"^[A-Za-z0-9_]{1,15}$"
MEDIA_ID_PATTERN = r"^[0-9a-f]{32}$"
MAX_MEDIA = 512 * 1024 * 1024  # a video, uploaded in parts; images (and single-part uploads) stop at 15 MB
ContentType = Literal["image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4"]


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class SignupRequest(_Body):
    username: StrictStr = Field(pattern=USERNAME_PATTERN)
    email: StrictStr = Field(max_length=254, pattern=EMAIL_PATTERN)
    password: StrictStr = Field(min_length=8, max_length=128)
    display_name: StrictStr | None = Field(default=None, max_length=50, pattern=VISIBLE_CHAR_PATTERN)


class LoginRequest(_Body):
    username: StrictStr = Field(max_length=64)
    password: StrictStr = Field(max_length=256)


class UpdateProfileRequest(_Body):
    """Only the fields sent change. ``bio`` "" clears it, ``place`` "" is worldwide, ``avatar_media_id`` "" removes
    the avatar; a display name or a bio with no visible character is a 400."""

    # The visible-character rule is in the document; the service applies it with a clear error (display_name_invisible)
    display_name: StrictStr | None = Field(
        default=None, max_length=200, json_schema_extra={"maxLength": 50, "pattern": VISIBLE_CHAR_PATTERN}
    )
    bio: StrictStr | None = Field(
        default=None, max_length=2000, json_schema_extra={"maxLength": 400, "pattern": "^$|" + VISIBLE_CHAR_PATTERN}
    )
    place: StrictStr | None = Field(default=None, pattern=PLACE_PATTERN)
    avatar_media_id: StrictStr | None = Field(default=None, pattern=r"^([0-9a-f]{32})?$")


class ChangePasswordRequest(_Body):
    current_password: StrictStr = Field(max_length=256)
    new_password: StrictStr = Field(min_length=8, max_length=128)


class DeleteAccountRequest(_Body):
    password: StrictStr = Field(max_length=256)


class CreateTweetRequest(_Body):
    content: StrictStr = Field(
        max_length=4000,
        json_schema_extra={"minLength": 1, "maxLength": 280, "pattern": VISIBLE_CHAR_PATTERN},
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


# -- responses ---------------------------------------------------------------------------------------------------
Id = Annotated[str, Field(pattern=r"^[0-9]{1,19}$")]
"""An id as the API writes it: decimal digits (ids do not fit a JavaScript number)."""
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Count = Annotated[int, Field(ge=0)]


class ErrorDetail(TypedDict):
    code: str
    message: str


class Error(TypedDict):
    error: ErrorDetail


class Tweet(TypedDict):
    tweet_id: Id
    user_id: Id
    username: str
    display_name: str  # the author's, as their profile says now (hydrated, not stored with the tweet)
    avatar_url: str | None  # the author's avatar (96 px square), None without one
    content: str
    created_at: Timestamp
    likes_count: Count
    retweets_count: Count
    replies_count: Count
    media_urls: list[str]
    media: list[MediaItem]
    hashtags: list[str]
    mentions: list[str]
    urls: list[str]
    reply_to: Id | None
    quote_tweet: Id | None
    liked_by_user: bool
    retweeted_by_user: bool
    # A retweet entry (its own id, the retweeter as author, no content): the original, hydrated. None otherwise.
    retweet_of: Tweet | None


class TweetPage(TypedDict):
    tweets: list[Tweet]
    next_cursor: str | None
    has_more: bool


class UserSummary(TypedDict):
    user_id: Id
    username: str
    display_name: str
    follower_count: int
    followed_by_me: bool


class UserPage(TypedDict):
    users: list[UserSummary]
    next_cursor: str | None
    has_more: bool


class UserList(TypedDict):
    users: list[UserSummary]


class Profile(TypedDict):
    user_id: Id
    username: str
    display_name: str
    bio: str
    avatar_url: str | None  # 96 px square; None without an avatar
    created_at: Timestamp
    follower_count: int
    following_count: int
    tweet_count: int
    followed_by_me: bool
    follows_me: bool
    blocking: bool
    muting: bool


class Me(TypedDict):
    """The signed-in user's own profile, with what only they see (email, place)."""

    user_id: Id
    username: str
    email: str
    display_name: str
    bio: str
    avatar_media_id: str | None
    avatar_url: str | None  # 96 px square
    avatar_urls: dict[str, str]  # size in px ("48", "96", "400") -> URL; empty without an avatar
    place: str | None  # ISO 3166-1 alpha-2 (localized trends); None: worldwide
    created_at: Timestamp
    follower_count: int
    following_count: int
    tweet_count: int


class AccountDeletion(TypedDict):
    username: str
    deleted: bool  # the account is gone now; what is left of it (tweets, likes, ...) goes within seconds


class Relationship(TypedDict):
    username: str
    following: bool
    follower_count: int


class SafetyState(TypedDict):
    """The viewer's block and mute of one account, after a change."""

    username: str
    blocking: bool
    muting: bool


class SuggestedUser(UserSummary):
    followed_by_followees: int  # how many of the accounts the viewer follows follow this one


class Suggestions(TypedDict):
    users: list[SuggestedUser]


class Signup(TypedDict):
    user_id: Id
    username: str
    token: str
    expires_in: int


class Login(TypedDict):
    token: str
    expires_in: int
    user_id: Id
    username: str


class Actor(TypedDict):
    user_id: Id
    username: str


class Notification(TypedDict):
    notification_id: Id
    type: NotificationType
    actor: Actor
    tweet_id: Id | None
    created_at: Timestamp
    read: bool


class NotificationPage(TypedDict):
    notifications: list[Notification]
    next_cursor: str | None
    has_more: bool
    unread_count: int


class MarkRead(TypedDict):
    marked: int
    unread_count: int


class Trend(TypedDict):
    hashtag: str
    score: float
    tweet_count: int


class Trends(TypedDict):
    trends: list[Trend]
    as_of: Timestamp
    window_s: int
    place: str | None  # the place asked for (ISO 3166-1 alpha-2); absent: worldwide


class SearchMetadata(TypedDict):
    query: str
    result_type: str
    count: int
    completed_in: float


class SearchResult(TypedDict):
    tweets: list[Tweet]
    next_cursor: str | None
    search_metadata: SearchMetadata


class UploadForm(TypedDict):
    url: str
    method: str
    headers: dict[str, str]
    fields: dict[str, str]


class UploadPart(TypedDict):
    part_number: int
    url: str  # PUT the part's bytes here; keep the response's ETag header for the completion


class MultipartForm(TypedDict):
    """A video above the single-upload limit: PUT part N (bytes [(N-1)*part_size, N*part_size) of the file) to its
    URL, then POST /media/{id}/complete with the upload id and the parts' ETags in order."""

    upload_id: str
    part_size: int
    parts: list[UploadPart]


class MediaUpload(TypedDict):
    media_id: str
    media_url: str  # where the processed rendition will be served once status is "ready" (GET /media/{id})
    upload: UploadForm | None  # one request (up to 15 MB); None when the file goes in parts
    multipart: MultipartForm | None
    expires_in: int


class MediaItem(TypedDict):
    """A processed medium as a tweet carries it."""

    media_id: str
    type: Literal["image", "video"]
    url: str  # the size-limited rendition (images: at most 2048 px a side) or the video
    thumbnail_url: str
    width: int | None
    height: int | None
    duration_ms: int | None  # videos, when their movie header says it
    dominant_color: str  # "#rrggbb" placeholder while loading; empty for videos
    alt_text: str


class Media(TypedDict):
    """An upload's processing state, for its uploader: pending, then ready (with the item) or failed (a reason)."""

    media_id: str
    status: Literal["pending", "ready", "failed"]
    reason: str
    content_type: str
    alt_text: str
    posted: bool
    item: MediaItem | None


class CompleteUploadRequest(_Body):
    upload_id: StrictStr = Field(max_length=1024)
    etags: list[Annotated[StrictStr, Field(max_length=256)]] = Field(min_length=1, max_length=10_000)


class MediaAltTextRequest(_Body):
    alt_text: StrictStr = Field(max_length=1000)  # X allows 1000 characters of alt text


class Poll(TypedDict):
    tweets: list[Tweet]
    newest_id: Id | None


class Deleted(TypedDict):
    deleted: bool
    tweet_id: str


class Bookmark(TypedDict):
    tweet_id: str
    bookmarked: bool


class Health(TypedDict):
    status: str
