"""`cce-lab cli [LAB]`: Mininet's own CLI on a running lab (nodes, net, pingall, iperf, pod-1-1 ping pod-3-1, check)."""

from __future__ import annotations

import argparse

from lab.cli.console import need_root
from lab.errors import LabError
from lab.observe import status


def add(sub) -> None:
    sp = sub.add_parser(
        "cli",
        help="Mininet's CLI on a running lab: nodes, net, pingall, iperf, 'pod-1-1 ping pod-3-1', check, explain",
    )
    sp.add_argument("name", nargs="?", help="lab name (default: the only lab up)")
    # every verb's parser, as build_parser made them: the lab commands are offered only where the verb exists
    sp.set_defaults(func=run, verbs=sub.choices)


def run(a: argparse.Namespace) -> int:
    need_root()
    name = status.pick_lab(a.name)
    state = status.lab_status(name)
    if state.state == "incomplete":
        raise LabError(f"lab {name} is incomplete (its up did not finish): run 'cce-lab down {name}'")
    if state.missing_netns:
        raise LabError(f"lab {name} is degraded: namespaces {', '.join(state.missing_netns[:5])} are gone")
    from lab.minicli import session  # Mininet is imported only by this verb

    return session.run(status.load_plan(name), a.verbs)
