"""One `cce-lab cli` session: shells into the lab's namespaces, Mininet's CLI, every shell hung up on the way out."""

from __future__ import annotations

import argparse
import os
import sys
import termios
import time
from concurrent.futures import ThreadPoolExecutor

from mininet.log import lg, output

from lab.minicli import topo
from lab.minicli.commands import LabCLI
from lab.minicli.net import LabNet
from lab.minicli.nodes import LabNode
from lab.plan.model import Plan

WORKERS = 16  # shells started at once: each costs a fork and a wait for its first prompt


def _start(net: LabNet) -> None:
    """Every member's shell; if one fails, those already started are hung up before the error goes on."""
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = [pool.submit(LabNode, m, net.plan) for m in net.layout.members]
    made, failed = [], None
    for f in futures:
        try:
            made.append(f.result())
        except Exception as exc:
            failed = failed or exc
    if failed:
        for node in made:
            node.terminate()
        raise failed
    net.adopt(made)


def run(plan: Plan, parsers: dict[str, argparse.ArgumentParser]) -> int:
    """Attach Mininet's CLI to the running lab `plan`; the lab stays up, no process stays behind."""
    tty = sys.stdin.isatty()
    saved = termios.tcgetattr(sys.stdin.fileno()) if tty else None
    # Piped commands are read by input(); Mininet's key pass-through (for a command's own stdin) only on a terminal.
    quiet_r, quiet_w = (None, None) if tty else os.pipe()
    keys = sys.stdin if tty else os.fdopen(quiet_r, "r")
    net = LabNet(plan, topo.layout(plan))
    # Mininet logs its output to stderr; here the session is one ordered stream on stdout, the lab verbs' tables too
    handlers = [h for h in lg.handlers if hasattr(h, "setStream")]
    streams = [h.setStream(sys.stdout) for h in handlers]
    started = time.monotonic()
    try:
        _start(net)
        output(
            f"*** {plan.name} ({plan.model} model, {plan.datapath}): {len(net.hosts)} pods, {len(net.switches)} nodes, "
            f"{len(net.others)} hosts attached in {time.monotonic() - started:.1f} s; 'help' lists the commands\n"
        )
        LabCLI(net, parsers, stdin=keys)
    finally:
        net.stop()
        for handler, stream in zip(handlers, streams, strict=True):
            handler.setStream(stream)
        if saved is not None:
            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, saved)
        if quiet_w is not None:
            keys.close()
            os.close(quiet_w)
    return 0
