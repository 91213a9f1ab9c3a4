"""Object-created consumer: checks each upload and makes its renditions, or refuses it (chirp.services.media)."""

from chirp.container import get_container
from chirp.object_consumer import make_object_handler


def handle(key: str) -> object:
    return get_container().media.process_upload(key)


def give_up(key: str, error: str) -> None:
    get_container().media.abandon_upload(key, error)


handler = make_object_handler(handle, give_up)
