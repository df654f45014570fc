"""The `peerchat` command: serve, migrate, users (create, list, disable, enable, set-password),
retention run, score."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from app.core.enums import Role
from app.settings import Settings, SettingsError, load_settings


def _settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        print(f"peerchat: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from app.logs import protect

    protect()


@asynccontextmanager
async def _offline_domain(settings: Settings) -> AsyncIterator[Any]:
    """The domain for a one-off command: the configured database, no bus to tell anyone."""
    from app.assembly import build_domain
    from app.bus.memory import MemoryBus
    from app.storage.database import Database

    db = Database(settings.database_url)
    try:
        yield build_domain(settings, db, MemoryBus())
    finally:
        await db.dispose()


def cmd_serve(args: argparse.Namespace) -> int:
    from app.logs import protect as protect_logs
    from app.main import create_app
    from app.server import Server
    from app.storage.migrate import upgrade

    settings = _settings_or_exit()
    _configure_logging(settings.log_level)
    if settings.is_sqlite:
        # The embedded database is this node's own: bring it up to date before serving.
        upgrade(settings.database_url)
    server = Server(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        ws_max_size=settings.max_frame_bytes,
        # Chat frames are small: compressing each costs CPU on every send and a zlib state
        # (tens of KiB) per connection, for little saving. Browsers fall back to plain frames.
        ws_per_message_deflate=False,
        timeout_graceful_shutdown=10,
        freeze_gc=True,
    )
    protect_logs()  # after uvicorn has set up its loggers
    server.run()
    return 0


def cmd_migrate(_: argparse.Namespace) -> int:
    from app.storage.migrate import upgrade

    settings = _settings_or_exit()
    _configure_logging(settings.log_level)
    upgrade(settings.database_url)
    print("database is up to date")
    return 0


def cmd_users_create(args: argparse.Namespace) -> int:
    from app.accounts import sign_in
    from app.core.errors import DomainError
    from app.storage.migrate import upgrade

    if not args.password_stdin:
        print(
            "peerchat: pass --password-stdin and give the password on standard input "
            "(passwords are never taken as arguments)",
            file=sys.stderr,
        )
        return 2
    password = sys.stdin.readline().rstrip("\r\n")
    settings = _settings_or_exit()
    if settings.is_sqlite:
        upgrade(settings.database_url)

    async def create() -> str:
        async with _offline_domain(settings) as domain:
            user = await sign_in.create_staff(
                domain,
                username=args.username,
                role=args.role,
                password=password,
                handle=args.handle,
                topics=args.topics,
                languages=args.languages,
            )
            return user.id

    try:
        user_id = asyncio.run(create())
    except DomainError as exc:
        print(f"peerchat: {exc.detail}", file=sys.stderr)
        return 1
    print(f"created {args.role} {args.username} ({user_id})")
    return 0


def _prepared_settings() -> Settings:
    from app.storage.migrate import upgrade

    settings = _settings_or_exit()
    if settings.is_sqlite:
        upgrade(settings.database_url)
    return settings


def cmd_users_list(args: argparse.Namespace) -> int:
    import json

    from app.accounts import admin

    settings = _prepared_settings()

    async def run() -> list[dict[str, Any]]:
        async with _offline_domain(settings) as domain:
            return await admin.list_accounts(domain, actor=admin.OPERATOR)

    accounts = asyncio.run(run())
    if args.json:
        for account in accounts:
            print(json.dumps(account))
        return 0
    print(f"{'username':<24} {'role':<12} {'handle':<24} state")
    for a in accounts:
        state = "disabled" if a["disabled"] else "active"
        print(f"{a['username']:<24} {a['role']:<12} {a['handle']:<24} {state}")
    return 0


def cmd_users_change(args: argparse.Namespace) -> int:
    """disable, enable, set-password: one account, by username, audited as the operator."""
    from app.accounts import admin
    from app.core.errors import DomainError

    password = ""
    if args.users_action == "set-password":
        if not args.password_stdin:
            print(
                "peerchat: pass --password-stdin and give the password on standard input "
                "(passwords are never taken as arguments)",
                file=sys.stderr,
            )
            return 2
        password = sys.stdin.readline().rstrip("\r\n")
    settings = _prepared_settings()

    async def run() -> dict[str, Any]:
        async with _offline_domain(settings) as domain:
            actor = admin.OPERATOR
            if args.users_action == "set-password":
                return await admin.set_password(
                    domain, actor=actor, password=password, username=args.username
                )
            return await admin.set_disabled(
                domain, actor=actor, disabled=args.users_action == "disable",
                username=args.username,
            )  # fmt: skip

    try:
        account = asyncio.run(run())
    except DomainError as exc:
        print(f"peerchat: {exc.detail}", file=sys.stderr)
        return 1
    done = {"disable": "disabled", "enable": "enabled", "set-password": "new password set for"}
    print(f"{done[args.users_action]} {account['username']} ({account['user_id']})")
    return 0


def cmd_retention_run(args: argparse.Namespace) -> int:
    """Run the retention purge once, now (the same job every node runs on its interval)."""
    import json
    from dataclasses import asdict

    from app.privacy import retention

    settings = _settings_or_exit()
    _configure_logging(settings.log_level)
    days = settings.retention_days if args.days is None else args.days
    if days <= 0:
        print("retention is off (PEERCHAT_RETENTION_DAYS is 0): nothing deleted")
        return 0

    async def run() -> retention.Purged:
        async with _offline_domain(settings) as domain:
            return await retention.purge(domain, days=days)

    print(json.dumps({"days": days, **asdict(asyncio.run(run()))}))
    return 0


def cmd_score(_: argparse.Namespace) -> int:
    from nlp.cli import run_score

    return run_score(sys.stdin, sys.stdout)


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="peerchat", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(func=cmd_migrate)

    users = sub.add_parser("users", help="manage staff accounts")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    create = users_sub.add_parser("create", help="create a staff account")
    create.add_argument("--username", required=True)
    create.add_argument(
        "--role", required=True, choices=[Role.PEER_WORKER, Role.SUPERVISOR, Role.ADMIN]
    )
    create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input",
    )
    create.add_argument(
        "--handle",
        help="the name participants see (default: generated); choose one that is not the username",
    )
    create.add_argument("--topics", type=_csv, default=None, help="comma-separated topics")
    create.add_argument("--languages", type=_csv, default=None, help="comma-separated languages")
    create.set_defaults(func=cmd_users_create)

    listing = users_sub.add_parser("list", help="list staff accounts")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(func=cmd_users_list)
    for name, helptext in (
        ("disable", "disable an account: no sign-in, its sockets close on every node"),
        ("enable", "enable a disabled account"),
        ("set-password", "set a new password; every earlier sign-in ends"),
    ):
        action = users_sub.add_parser(name, help=helptext)
        action.add_argument("--username", required=True)
        if name == "set-password":
            action.add_argument(
                "--password-stdin",
                action="store_true",
                help="read the password from the first line of standard input",
            )
        action.set_defaults(func=cmd_users_change, users_action=name)

    retention_cmd = sub.add_parser("retention", help="delete data older than the retention")
    retention_sub = retention_cmd.add_subparsers(dest="retention_command", required=True)
    run = retention_sub.add_parser("run", help="purge closed conversations now")
    run.add_argument("--days", type=int, default=None, help="override PEERCHAT_RETENTION_DAYS")
    run.set_defaults(func=cmd_retention_run)

    score = sub.add_parser("score", help="score JSON lines from stdin with the model")
    score.set_defaults(func=cmd_score)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
