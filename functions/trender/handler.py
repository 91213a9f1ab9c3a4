"""Stream consumer: trending hashtags (a batch at a time: one liveness read for its new tweets)."""

from collections.abc import Sequence

from chirp.container import get_container
from chirp.model import Event
from chirp.stream_consumer import make_batch_handler


def handle(events: Sequence[Event]) -> Sequence[BaseException | None]:
    return get_container().trends.on_events(events)


handler = make_batch_handler(handle)
