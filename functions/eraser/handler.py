"""Stream consumer: erases what is left of deleted accounts (tweets, likes, follows, bookmarks, notifications,
connections), a stage at a time (chirp.services.erasure)."""

from collections.abc import Sequence

from chirp.container import get_container
from chirp.model import Event
from chirp.stream_consumer import make_batch_handler


def handle(events: Sequence[Event]) -> Sequence[BaseException | None]:
    return get_container().eraser.on_events(events)


handler = make_batch_handler(handle)
