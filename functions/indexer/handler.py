"""Stream consumer: search index."""

from chirp.container import get_container
from chirp.model import Event
from chirp.stream_consumer import make_handler


def handle(event: Event) -> None:
    get_container().indexing.on_event(event)


handler = make_handler(handle)
