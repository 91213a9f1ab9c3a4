"""Keyspaces tables derived from the one schema definition, ``chirp.schema.TABLES``: each ``chirp.schema.Table``
becomes one ``KeyspacesTable`` (the columns split into partition key, clustering and regular columns, typed), which
the data stack turns into an ``AWS::Cassandra::Table``. Anything else is refused: the schema module is the only
description of the tables, and a stack without it must not deploy an empty keyspace."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chirp import schema
from chirp.schema import Order, Table


@dataclass(frozen=True, slots=True)
class KeyspacesTable:
    name: str
    partition_key: tuple[tuple[str, str], ...]
    clustering: tuple[tuple[str, str, Order], ...]
    regular: tuple[tuple[str, str], ...]
    default_ttl_s: int | None = None


def keyspaces_table(table: Table) -> KeyspacesTable:
    if not isinstance(table, Table):
        raise TypeError(f"expected a chirp.schema.Table, got {type(table).__name__}: {table!r}")
    types = table.column_types
    if len(types) != len(table.columns):
        raise ValueError(f"table {table.name!r} declares a column twice")
    if not table.partition_key:
        raise ValueError(f"table {table.name!r} has no partition key")
    missing = [name for name in table.key_columns if name not in types]
    if missing:
        raise ValueError(f"table {table.name!r}: key columns {missing} are not among its columns")
    for name, order in table.clustering:
        if order not in ("ASC", "DESC"):
            raise ValueError(f"table {table.name!r}: clustering order of {name!r} must be ASC or DESC, not {order!r}")
    return KeyspacesTable(
        name=table.name,
        partition_key=tuple((name, types[name]) for name in table.partition_key),
        clustering=tuple((name, types[name], order) for name, order in table.clustering),
        regular=tuple((name, types[name]) for name in table.regular_columns),
        default_ttl_s=table.default_ttl_s,
    )


def keyspaces_tables(tables: Sequence[Table] = schema.TABLES) -> list[KeyspacesTable]:
    """The tables to create: ``chirp.schema.TABLES`` unless given."""
    if not tables:
        raise ValueError("no Keyspaces tables: chirp.schema.TABLES is empty")
    return [keyspaces_table(table) for table in tables]
