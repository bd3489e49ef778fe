import argparse
import asyncio
import logging
import sys
from collections.abc import Callable
from typing import NoReturn

from kv_api.domain.errors import InvalidField
from kv_api.domain.quotas import OwnLimit, parse_own_limit
from kv_api.infrastructure.settings import Settings, StartupError
from kv_api.infrastructure.settings_loader import load_settings
from kv_api.presentation.logs import configure_logging


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from kv_api.infrastructure.security.exposure import check_secret_exposure
    from kv_api.presentation.server import run

    check_secret_exposure(settings)
    run(settings, max(1, args.workers))
    return 0


class _Parser(argparse.ArgumentParser):
    """Bad arguments get one line and exit 2, as every other refusal of the command does."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _count(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not text.strip().isdigit() or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"expected a whole number from {low} to {high}")
        return int(text)

    return parse


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kv-api", description="Key-value HTTP API on Tarantool")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the HTTP API")
    serve.add_argument(
        "--workers", type=_count(1, 64), default=1, help="API processes sharing the port"
    )
    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.add_argument(
        "--status", action="store_true", help="list migrations and whether applied"
    )
    _add_user_commands(commands)
    backup = commands.add_parser(
        "backup", help="consistent copy of the embedded store (also while serving)"
    )
    backup.add_argument("dir", help="a new or empty folder for the copy and its manifest")
    restore = commands.add_parser(
        "restore", help="restore a backup into a stopped, empty data folder (KV_DATA_DIR)"
    )
    restore.add_argument("dir", help="a folder written by kv-api backup")
    return parser


def _add_user_commands(commands: "argparse._SubParsersAction[_Parser]") -> None:
    user = commands.add_parser("user", help="manage accounts (exit 1: exists / not found)")
    actions = user.add_subparsers(dest="user_command", required=True)
    create = actions.add_parser(
        "create",
        help="create an account; the password is asked twice on a terminal, "
        "else read from the first line of stdin (never from the command line)",
    )
    create.add_argument("name", help="2-64 characters of letters, digits, '_', '.', '-'")
    reset = actions.add_parser(
        "set-password",
        help="set a new password (asked twice on a terminal, else the first line of stdin) "
        "and revoke every token the user holds",
    )
    reset.add_argument("name")
    delete = actions.add_parser("delete", help="delete an account, its keys and its tokens")
    delete.add_argument("name")
    listing = actions.add_parser("list", help="print account names, one per line")
    listing.add_argument(
        "--limit", type=_count(1, 1_000_000), default=100_000, help="at most this many"
    )
    quota = actions.add_parser(
        "quota",
        help="show a user's usage and limits; --keys and --bytes set its own limits "
        "(N, none for unlimited, default for the server's), at once in every process",
    )
    quota.add_argument("name")
    quota.add_argument(
        "--keys", type=_own_limit("keys"), help="keys it may store: N, none or default"
    )
    quota.add_argument(
        "--bytes", type=_own_limit("bytes"), help="stored bytes it may hold: N, none or default"
    )


def _own_limit(option: str) -> Callable[[str], OwnLimit]:
    def parse(text: str) -> OwnLimit:
        try:
            return parse_own_limit(text, option)
        except InvalidField as exc:
            raise argparse.ArgumentTypeError(exc.fields[option][0]) from None

    return parse


def _admin_level(level: str) -> str:
    return level if logging.getLevelName(level) >= logging.WARNING else "WARNING"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        if args.command == "serve":
            configure_logging(settings.log_level, settings.log_format)
            return _serve(settings, args)
        # an operator's command prints plain lines: its log shows only warnings, as text
        configure_logging(_admin_level(settings.log_level), "text")
        from kv_api.presentation.admin import run_admin

        return asyncio.run(run_admin(settings, args))
    except StartupError as exc:
        print(f"kv-api: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
