"""``python -m chirp.capacity --scenario ...``: the capacity subcommand on its own."""

from __future__ import annotations

import argparse
import sys

from chirp.capacity.command import register


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chirp")
    subparsers = parser.add_subparsers(dest="command", required=True)
    register(subparsers)
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or arguments[0] != "capacity":
        arguments.insert(0, "capacity")
    args = parser.parse_args(arguments)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
