"""``facematch COMMAND``: each subcommand is registered by the package that owns it.

``serve`` (mock_server), ``models`` (mock_server, real mode), ``check`` (contract_tests),
``bulk`` (facematch_bulk); ``token`` lives here, since clients and the server both need
it. This module sits on top of every other package, and none of them imports it.
"""

from __future__ import annotations

import argparse
import os
import sys

from contract_tests import cli as check_cli
from facematch_bulk import cli as bulk_cli
from facematch_contract import __version__
from facematch_contract.operation import DEV_JWT_SECRET
from facematch_contract.tokens import mint_token
from facematch_proxy import cli as proxy_cli
from mock_server import cli as serve_cli
from mock_server import cli_models


def add_token(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = subparsers.add_parser(
        "token",
        help="print a development bearer token (HS256 JWT)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    token.add_argument("--expires-in", type=int, default=3600, help="seconds until exp; 0 for no exp claim")
    token.add_argument("--subject", default="facematch-dev", help="the sub claim")
    token.add_argument(
        "--jwt-secret",
        default=os.environ.get("FACEMATCH_JWT_SECRET", DEV_JWT_SECRET),
        help="HS256 secret (env FACEMATCH_JWT_SECRET)",
    )
    token.set_defaults(func=_print_token)


def _print_token(args: argparse.Namespace) -> int:
    expires = None if args.expires_in == 0 else args.expires_in
    print(mint_token(args.jwt_secret, subject=args.subject, expires_in=expires))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="facematch",
        description="Mock server and contract-test kit for the Advanced Facematch API.",
    )
    parser.add_argument("--version", action="version", version=f"facematch-kit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve_cli.register(subparsers)
    add_token(subparsers)
    check_cli.register(subparsers)
    cli_models.register(subparsers)
    bulk_cli.register(subparsers)
    proxy_cli.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
