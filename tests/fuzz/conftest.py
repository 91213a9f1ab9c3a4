"""Fuzzing fixtures: the stand-in servers for the servers backend pass."""

from servers.fixtures import servers  # noqa: F401
