"""`cce-lab exec TARGET -- CMD...`: a command in a node's, pod's or host's namespace."""

from __future__ import annotations

import argparse
import os

from lab.cli.console import need_root
from lab.errors import UsageError
from lab.observe import status


def add(sub) -> None:
    sp = sub.add_parser("exec", help="run a command in a node's, pod's or host's namespace")
    sp.add_argument("target", help="node-1, pod-1-2, ecs, vpc-router (or LAB/NAME, or the netns name)")
    sp.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD ARGS...")
    sp.set_defaults(func=run)


def run(a: argparse.Namespace) -> int:
    need_root()
    command = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not command:
        raise UsageError("exec: give a command after --, e.g. cce-lab exec pod-1-1 -- ip addr")
    ns = status.resolve_netns(a.target)
    os.execvp("ip", ["ip", "netns", "exec", ns, *command])
    return 1  # not reached
