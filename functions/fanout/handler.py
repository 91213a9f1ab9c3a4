"""Stream consumer: home-timeline fan-out and real-time push of new tweets."""

from chirp.container import get_container
from chirp.model import Event
from chirp.stream_consumer import make_handler


def handle(event: Event) -> None:
    get_container().delivery.on_event(event)


handler = make_handler(handle)
