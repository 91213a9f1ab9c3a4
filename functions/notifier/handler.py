"""Stream consumer: notifications and their real-time push."""

from chirp.container import get_container
from chirp.model import Event
from chirp.stream_consumer import make_handler


def handle(event: Event) -> None:
    get_container().notifications.handle(event)


handler = make_handler(handle)
