"""``facematch models fetch`` and ``facematch models check``: the liveness models of real mode."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .models_fetch import (
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    MODELS_DIR_ENV,
    ModelsError,
    default_models_dir,
    fetch_models,
    locate_models,
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    models = subparsers.add_parser(
        "models",
        help="download or check the liveness models used by --mode real",
        description=(
            "The MiniFASNet liveness networks (ONNX exports of minivision-ai/"
            "Silent-Face-Anti-Spoofing, Apache-2.0) are data kept outside the package."
        ),
    )
    actions = models.add_subparsers(dest="models_command", metavar="{fetch,check}")
    actions.required = True

    fetch = actions.add_parser(
        "fetch",
        help="download both models and verify their SHA-256",
    )
    fetch.add_argument(
        "--dir",
        type=Path,
        default=None,
        help=f"target directory (default: ${MODELS_DIR_ENV} or ~/.cache/facematch/models)",
    )
    fetch.add_argument(
        "--base-url",
        default=None,
        help=f"where the files are published (default: ${BASE_URL_ENV} or {DEFAULT_BASE_URL})",
    )
    fetch.add_argument("--timeout", type=float, default=60.0, help="network timeout in seconds (default: 60)")
    fetch.set_defaults(func=run_fetch)

    check = actions.add_parser("check", help="verify that a directory holds both models")
    check.add_argument(
        "--dir",
        type=Path,
        default=None,
        help=f"directory to check (default: ${MODELS_DIR_ENV} or ~/.cache/facematch/models)",
    )
    check.set_defaults(func=run_check)


def run_fetch(args: argparse.Namespace) -> int:
    directory = args.dir if args.dir is not None else default_models_dir()
    try:
        located = fetch_models(directory, args.base_url, timeout=args.timeout, log=print)
    except ModelsError as exc:
        print(f"facematch models fetch: {exc}", file=sys.stderr)
        return 1
    print(f"models ready in {directory}: " + ", ".join(m.path.name for m in located))
    print(f"start real mode with: facematch serve --mode real --models-dir {directory}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    directory = args.dir if args.dir is not None else default_models_dir()
    try:
        located = locate_models(directory)
    except ModelsError as exc:
        print(f"facematch models check: {exc}", file=sys.stderr)
        return 1
    for model in located:
        print(f"ok  {model.key:<15} scale {model.scale:<4} {model.path}  sha256 {model.sha256}")
    return 0
