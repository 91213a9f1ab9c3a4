"""Stream consumer: home-timeline fan-out and real-time push of new tweets (a batch at a time: one liveness read for
all its tweets; FOLLOWER_CHUNK events of large audiences run in parallel)."""

from collections.abc import Sequence

from chirp.container import get_container
from chirp.model import Event
from chirp.stream_consumer import make_batch_handler


def handle(events: Sequence[Event]) -> Sequence[BaseException | None]:
    return get_container().delivery.on_events(events)


handler = make_batch_handler(handle)
