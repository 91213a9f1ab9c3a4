"""The Keyspaces adapter's rows: named tuples as the driver's default factory makes them (same field names, the same
cleaning of names that are not identifiers) but of one class per column list, and the outcome of a lightweight
transaction read from its ``[applied]`` column. Checked without a server (tests/servers/test_cassandra_auth.py and
the contract suite run them against the Cassandra stand-in)."""

from __future__ import annotations

from types import SimpleNamespace

from cassandra.query import named_tuple_factory  # type: ignore[import-untyped]

from chirp.adapters.keyspaces.connection import row_factory, was_applied


def test_rows_read_by_name_and_position_like_the_drivers() -> None:
    columns = ["user_id", "tweet_id", "hashtags"]
    raw = [(1, 10, ["a"]), (2, 20, [])]
    ours, theirs = row_factory(columns, raw), named_tuple_factory(columns, raw)
    assert [r._fields for r in ours] == [r._fields for r in theirs]
    assert [tuple(r) for r in ours] == raw
    assert ours[1].tweet_id == 20 and ours[0].hashtags == ["a"]


def test_column_names_that_are_not_identifiers_are_cleaned_as_the_driver_does() -> None:
    columns = ["[applied]", "system.count(*)", "user_id"]
    ours, theirs = row_factory(columns, [(True, 3, 7)]), named_tuple_factory(columns, [(True, 3, 7)])
    assert ours[0]._fields == theirs[0]._fields
    assert ours[0].applied is True and ours[0].user_id == 7


def test_one_row_class_per_column_list() -> None:
    first = row_factory(["a", "b"], [(1, 2)])[0]
    again = row_factory(["a", "b"], [(3, 4)])[0]
    other = row_factory(["a", "c"], [(1, 2)])[0]
    assert type(first) is type(again)
    assert type(first) is not type(other) and other.c == 2


def test_was_applied_reads_the_first_column_of_the_first_row() -> None:
    applied = SimpleNamespace(current_rows=row_factory(["[applied]"], [(True,)]))
    refused = SimpleNamespace(current_rows=row_factory(["[applied]", "tweet_id", "user_id"], [(False, 5, 9)]))
    assert was_applied(applied) is True
    assert was_applied(refused) is False
