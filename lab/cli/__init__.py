"""cce-lab: the command line, a thin layer over the engine; one module per verb.

Each verb module has `add(subparsers)` (its arguments and help) and `run(args)`
(parse, call the engine, render). Exit codes: 0 success; 1 a failure or a
check that did not match; 2 bad input (topology file, arguments).
"""

from __future__ import annotations

import argparse
import sys

from rich.markup import escape

from lab.cli import (
    bench,
    check,
    compare,
    demo,
    down,
    exercise,
    explain,
    fault,
    graph,
    move,
    plan,
    provision,
    scale,
    schema,
    status,
    trace,
    up,
)
from lab.cli import cli as cli_
from lab.cli import exec as exec_
from lab.cli.console import err
from lab.errors import LabError

VERBS = (
    plan,
    graph,
    up,
    status,
    exec_,
    cli_,
    check,
    explain,
    trace,
    fault,
    move,
    scale,
    exercise,
    bench,
    compare,
    down,
    demo,
    schema,
    provision,
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cce-lab",
        description="Huawei Cloud CCE cluster networks (container tunnel and VPC models) on real namespaces.",
        epilog="Exit codes: 0 ok, 1 failure or check mismatch, 2 bad input. See README.md.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for verb in VERBS:
        verb.add(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["provision"]:  # its options belong to lab.provision
        return provision.run(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except LabError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        return exc.exit_code
    except OSError as exc:  # the kernel said no (a namespace vanished, a device is missing)
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        return 1
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
