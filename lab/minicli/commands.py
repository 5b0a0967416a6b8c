"""Mininet's CLI with the lab's own verbs added: check, status, trace, explain, graph, exercise.

Each lab command is the project's CLI entry point itself (`python -m lab.cli
VERB ... LAB`, i.e. `lab.cli.main`), run as a child so it prints exactly what
`cce-lab VERB` prints and cannot take the session's shells down with it (an
in-process call would also need lab.cli.cli -> lab.cli, an import cycle). A
verb is offered only if this version's parser has it (`lab.cli.build_parser`'s
choices, handed in by the `cli` verb); otherwise one line says so.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys

from mininet.cli import CLI
from mininet.log import error, output

from lab.errors import LabError

# verb -> where the lab's name goes when the verb has no --lab option
POSITIONAL = ("check", "status", "graph")
EXERCISE_ACTIONS = ("status", "check", "hint", "answer", "list", "report")  # what leaves the lab in place
REFUSED = {  # stock commands that would change the lab or leave processes behind
    "xterm": "no terminals from cce-lab cli: use 'NODE CMD' here, or 'cce-lab exec NODE -- CMD' elsewhere",
    "gterm": "no terminals from cce-lab cli: use 'NODE CMD' here, or 'cce-lab exec NODE -- CMD' elsewhere",
    "x": "no X11 from cce-lab cli: use 'NODE CMD' here",
    "switch": "the nodes are the lab's: break one with 'cce-lab fault inject', not by stopping it",
    "wait": "the nodes are not OpenFlow switches waiting for a controller",
}


def _has_option(parser: argparse.ArgumentParser, option: str, words: list[str]) -> bool:
    """Whether `parser`, or the sub-command `words[0]` names in it, takes `option`."""
    for action in parser._actions:
        if option in action.option_strings:
            return True
        if isinstance(action, argparse._SubParsersAction) and words and words[0] in action.choices:
            return _has_option(action.choices[words[0]], option, words[1:])
    return False


def delegation(verb: str, words: list[str], lab: str, parsers: dict[str, argparse.ArgumentParser]) -> list[str] | str:
    """The `cce-lab` argv a lab command stands for, or the one line to print instead."""
    if verb not in parsers:
        return f"cce-lab {verb} is not available in this version"
    if verb == "exercise" and (not words or words[0] not in EXERCISE_ACTIONS):
        action = words[0] if words else ""
        if not action:
            return f"usage: exercise {'|'.join(EXERCISE_ACTIONS)} ..."
        return f"exercise {action} changes which lab runs: leave the CLI (exit), then 'cce-lab exercise {action}'"
    if "--lab" in words or any(w.startswith("--lab=") for w in words):
        return [verb, *words]
    if _has_option(parsers[verb], "--lab", words):
        return [verb, *words, "--lab", lab]
    if verb in POSITIONAL:
        return [verb, lab, *words]
    return [verb, *words]


class LabCLI(CLI):
    """Mininet's CLI: node names may hold dashes (pod-1-1), lab verbs added, lab-changing commands refused."""

    identchars = CLI.identchars + "-"
    helpStr = CLI.helpStr.replace("h27", "pod-1-1").replace("h2 ping h3", "pod-1-1 ping pod-3-1") + (
        "Lab commands (the same as cce-lab VERB for this lab):\n"
        "  check | status | trace SRC DST | explain SERVICE | graph | exercise status|check|hint\n\n"
    )

    def __init__(self, mininet, parsers: dict[str, argparse.ArgumentParser], stdin=sys.stdin, **kwargs) -> None:
        self.lab = mininet.plan.name
        self.parsers = parsers
        self.prompt = f"mininet:{self.lab}> "
        super().__init__(mininet, stdin=stdin, **kwargs)

    def onecmd(self, line: str):
        """A lab error (a refused change, a vanished namespace) is one line, never the end of the session."""
        try:
            return super().onecmd(line)
        except LabError as exc:
            error(f"*** {exc}\n")
            return None

    def getLocals(self):
        """Mininet's locals, plus pod_1_1-style aliases (a dash is no Python name) and the plan."""
        found = super().getLocals()
        found.update({name.replace("-", "_"): node for name, node in self.mn.nameToNode.items()})
        found["plan"] = self.mn.plan
        return found

    def do_net(self, _line: str) -> None:
        """List network connections (DEVICE:PEER-DEVICE@PEER-NODE)."""
        for node in self.mn.values():
            parts = [node.name]
            for intf in node.intfList():
                peer = ""
                if intf.link:
                    other = intf.link.intf2 if intf.link.intf1 is intf else intf.link.intf1
                    peer = f"{other.name}@{other.node.name}"
                parts.append(f"{intf.name}:{peer}")
            output(" ".join(parts) + "\n")

    def delegate(self, verb: str, line: str) -> int | None:
        try:
            words = shlex.split(line)
        except ValueError as exc:
            error(f"*** {verb}: {exc}\n")
            return None
        argv = delegation(verb, words, self.lab, self.parsers)
        if isinstance(argv, str):
            output(argv + "\n")
            return None
        sys.stdout.flush()
        rc = subprocess.call([sys.executable, "-m", "lab.cli", *argv], stdin=subprocess.DEVNULL)
        if rc:
            output(f"*** cce-lab {' '.join(argv)}: exit {rc}\n")
        return None

    def do_check(self, line: str) -> None:
        """Run the lab's connectivity checks (cce-lab check LAB [--json])."""
        self.delegate("check", line)

    def do_status(self, line: str) -> None:
        """What is running in this lab (cce-lab status LAB [--json])."""
        self.delegate("status", line)

    def do_trace(self, line: str) -> None:
        """Follow one packet hop by hop (cce-lab trace SRC DST [--proto P] [--port N])."""
        self.delegate("trace", line)

    def do_explain(self, line: str) -> None:
        """Every rule one request to a Service hit, in order (cce-lab explain SERVICE [--from POD])."""
        self.delegate("explain", line)

    def do_graph(self, line: str) -> None:
        """The lab as a picture (cce-lab graph LAB [-o OUT] [--format F])."""
        self.delegate("graph", line)

    def do_exercise(self, line: str) -> None:
        """The running exercise: exercise status | check | hint | answer ID TEXT."""
        self.delegate("exercise", line)


def _refused(command: str):
    def do(self, _line: str, **_kwargs) -> None:
        output(f"{command}: {REFUSED[command]}\n")

    do.__doc__ = f"(not in cce-lab cli) {REFUSED[command]}"
    return do


for _command in REFUSED:
    setattr(LabCLI, f"do_{_command}", _refused(_command))
