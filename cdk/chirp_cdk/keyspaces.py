"""Keyspaces tables derived from the one schema definition, ``chirp.schema.TABLES``.

The schema module is optional: without it the keyspace is created with no tables. Each entry of ``TABLES`` (a
sequence of table specs, or a mapping of table name to spec) may be an object or a dict with these fields:

- ``name`` (or ``table``/``table_name``; taken from the mapping key when TABLES is a mapping)
- ``columns``: mapping of column name to CQL type, or a sequence of ``(name, type)`` pairs
- ``partition_key``: sequence of column names (a single name is accepted)
- ``clustering`` (or ``clustering_key``/``clustering_columns``): sequence of names, ``(name, "ASC"|"DESC")`` pairs
  or ``name DESC`` strings; ascending when not given
- ``ttl_s`` (or ``default_ttl_s``/``default_ttl``/``ttl``): the table's default time to live in seconds
  (CloudFormation enables TTL on a Keyspaces table only through a default, so a table that needs TTL declares one)
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Order = Literal["ASC", "DESC"]


@dataclass(frozen=True, slots=True)
class KeyspacesTable:
    name: str
    partition_key: tuple[tuple[str, str], ...]
    clustering: tuple[tuple[str, str, Order], ...]
    regular: tuple[tuple[str, str], ...]
    default_ttl_s: int | None = None


def _field(spec: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        if isinstance(spec, Mapping):
            if name in spec:
                return spec[name]
        elif hasattr(spec, name):
            return getattr(spec, name)
    return default


def _names(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def _columns(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    out: dict[str, str] = {}
    for item in value:
        if isinstance(item, str):
            raise ValueError(f"column {item!r} has no CQL type")
        name = _field(item, "name", default=None)
        ctype = _field(item, "type", "cql_type", default=None)
        if name is None:
            name, ctype = item
        out[str(name)] = str(ctype)
    return out


def _clustering(value: Any) -> list[tuple[str, Order]]:
    out: list[tuple[str, Order]] = []
    for item in _names(value):
        if isinstance(item, str):
            parts = item.split()
            name, order = parts[0], (parts[1].upper() if len(parts) > 1 else "ASC")
        elif isinstance(item, Sequence):
            name, order = str(item[0]), str(item[1]).upper()
        else:
            name = str(_field(item, "name"))
            order = str(_field(item, "order", "order_by", default="ASC")).upper()
        if order not in ("ASC", "DESC"):
            raise ValueError(f"clustering order of {name!r} must be ASC or DESC, not {order!r}")
        out.append((name, order))  # type: ignore[arg-type]
    return out


def table_from_spec(spec: Any, name: str | None = None) -> KeyspacesTable:
    table_name = str(_field(spec, "name", "table", "table_name", default=name))
    if not table_name or table_name == "None":
        raise ValueError(f"table spec has no name: {spec!r}")
    columns = _columns(_field(spec, "columns"))
    partition = [str(n) for n in _names(_field(spec, "partition_key", "partition_keys"))]
    clustering = _clustering(_field(spec, "clustering", "clustering_key", "clustering_columns"))
    if not partition:
        raise ValueError(f"table {table_name!r} has no partition key")
    keyed = set(partition) | {n for n, _ in clustering}
    missing = keyed - set(columns)
    if missing:
        raise ValueError(f"table {table_name!r}: key columns {sorted(missing)} have no type in columns")
    ttl = _field(spec, "ttl_s", "default_ttl_s", "default_ttl", "ttl")
    default_ttl = int(ttl) if ttl is not None and not isinstance(ttl, bool) and int(ttl) > 0 else None
    return KeyspacesTable(
        name=table_name,
        partition_key=tuple((n, columns[n]) for n in partition),
        clustering=tuple((n, columns[n], order) for n, order in clustering),
        regular=tuple((n, t) for n, t in columns.items() if n not in keyed),
        default_ttl_s=default_ttl,
    )


def keyspaces_tables(tables: Iterable[Any] | Mapping[str, Any] | None = None) -> list[KeyspacesTable]:
    """The tables to create: from ``tables`` if given, else from ``chirp.schema.TABLES``, else none."""
    if tables is None:
        try:
            schema = importlib.import_module("chirp.schema")
        except ModuleNotFoundError as exc:
            if exc.name not in ("chirp.schema", "chirp"):
                raise
            return []
        tables = getattr(schema, "TABLES", None)
        if tables is None:
            return []
    if isinstance(tables, Mapping):
        return [table_from_spec(spec, str(name)) for name, spec in tables.items()]
    return [table_from_spec(spec) for spec in tables]
