"""The `alertwhisperer` console script: serve, replay, db upgrade, create-admin."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

__all__ = ["main"]


def _cmd_replay(args: argparse.Namespace) -> int:
    from .replay import print_report, read_lines, replay_payloads
    from .storm import StormConfig, generate_storm

    if args.demo:
        lines = [
            d.body for d in generate_storm(StormConfig(alerts=args.demo_alerts, seed=args.seed))
        ]
    elif args.files:
        lines = read_lines(args.files)
    else:
        print("replay: give JSON Lines files or --demo", file=sys.stderr)
        return 2
    report = replay_payloads(lines, now=datetime.now(UTC), total=len(lines))
    print_report(report, sys.stdout)
    return 0


def _cmd_storm(args: argparse.Namespace) -> int:
    from .storm import StormConfig, generate_storm

    for delivery in generate_storm(StormConfig(alerts=args.alerts, seed=args.seed)):
        sys.stdout.write(json.dumps(json.loads(delivery.body)) + "\n")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from .bootstrap import serve

    serve(args.host, args.port, args.workers)
    return 0


def _cmd_db(args: argparse.Namespace) -> int:
    from .bootstrap import database_url

    url = database_url()
    if url.startswith(("mongodb://", "mongodb+srv://")):
        # MongoDB has no schema to migrate: opening the store creates its collections and indexes.
        import asyncio

        from .mongo import open_mongo_store

        async def prepare() -> None:
            store = await open_mongo_store(url)
            await store.close()

        asyncio.run(prepare())
    else:
        from .sql import upgrade_database

        upgrade_database(url)
    print(f"database at head: {_redacted(url)}")
    return 0


def _redacted(url: str) -> str:
    """The URL without its password, for printing."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def _cmd_create_admin(args: argparse.Namespace) -> int:
    from .bootstrap import create_admin

    create_admin(args.email, args.password)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alertwhisperer", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the reference HTTP server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(func=_cmd_serve)

    replay = sub.add_parser(
        "replay", help="correlate JSON Lines of payloads; print incidents and KPIs"
    )
    replay.add_argument("files", nargs="*", help="JSON Lines files, one source payload per line")
    replay.add_argument("--demo", action="store_true", help="replay a generated MSP alert storm")
    replay.add_argument("--demo-alerts", type=int, default=2000)
    replay.add_argument("--seed", type=int, default=42)
    replay.set_defaults(func=_cmd_replay)

    storm = sub.add_parser("storm", help="print a generated alert storm as JSON Lines")
    storm.add_argument("--alerts", type=int, default=1000)
    storm.add_argument("--seed", type=int, default=42)
    storm.set_defaults(func=_cmd_storm)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser("upgrade", help="apply schema migrations up to head")
    upgrade.set_defaults(func=_cmd_db)

    admin = sub.add_parser("create-admin", help="create an MSP admin user")
    admin.add_argument("--email", required=True)
    admin.add_argument("--password", help="read from AW_ADMIN_PASSWORD or prompted when omitted")
    admin.set_defaults(func=_cmd_create_admin)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
