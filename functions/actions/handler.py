"""Stream consumer: applies the writes API Gateway accepted straight onto the stream (likes, retweets, follows, read
markers), a batch at a time: one liveness read for all its tweets."""

from collections.abc import Sequence

from chirp.container import get_container
from chirp.model import Event
from chirp.stream_consumer import make_batch_handler


def handle(events: Sequence[Event]) -> Sequence[BaseException | None]:
    return get_container().actions.on_events(events)


handler = make_batch_handler(handle)
