"""Soak test of stopping: `coopbot run` started, given traffic and SIGTERMed, again and
again (the run itself is testbed.soak, which tests/test_cli.py drives in small).

    python -m bench.soak --cycles 200 [--server postgresql://postgres@127.0.0.1:5432/test]
    python -m bench.soak --cycles 3 --sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from testbed.soak import passed, soak

SERVER = "postgresql://postgres@127.0.0.1:5432/test"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak")
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--subscribers", type=int, default=40)
    parser.add_argument("--server", default=os.environ.get("TEST_DATABASE_URL") or SERVER)
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    args = parser.parse_args()
    server = None if args.sqlite else args.server
    figures = asyncio.run(soak(args.cycles, args.subscribers, server))
    sys.exit(0 if passed(figures) else 1)


if __name__ == "__main__":
    main()
