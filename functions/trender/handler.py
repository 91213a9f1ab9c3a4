"""Stream consumer: trending hashtags."""

from chirp.container import get_container
from chirp.model import Event
from chirp.stream_consumer import make_handler


def handle(event: Event) -> None:
    get_container().trends.on_event(event)


handler = make_handler(handle)
