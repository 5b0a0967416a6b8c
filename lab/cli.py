"""cce-lab: the command line, a thin layer over the engine.

Exit codes: 0 success; 1 a failure or a check that did not match;
2 bad input (topology file, arguments).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from lab import apply, checks, explain, ovs, report, spec, status, teardown
from lab.errors import LabError, UsageError
from lab.journal import Journal, list_labs
from lab.plan import Plan, make_plan

out = Console(highlight=False, width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True, highlight=False, soft_wrap=True)
DEFAULT_DEMO = ["topologies/tunnel.yaml", "topologies/vpc.yaml"]


def _progress(msg: str) -> None:
    err.print(f"[dim]· {msg}[/dim]")


def _need_root() -> None:
    if os.geteuid() != 0:
        raise LabError("this command changes network namespaces: run it as root (sudo)")


def _params(pairs: list[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--param {pair!r}: use KEY=VALUE")
        params[key] = value
    return params


def _plan_file(path: str, params: list[str], for_up: bool = False) -> Plan:
    """Spec -> plan; `up` really loads the OVS module where it can, so `auto` picks what will work."""
    return make_plan(spec.load(path, _params(params)), ovs.kernel_available(load=for_up))


def _lab_name(arg: str | None) -> str:
    """A lab name, or a topology file whose name is meant."""
    if arg and (arg.endswith((".yaml", ".yml", ".py")) or "/" in arg):
        return spec.load(arg).name
    return status.pick_lab(arg)


def cmd_plan(a: argparse.Namespace) -> int:
    plan = _plan_file(a.file, a.param)
    if a.json:
        print(json.dumps(plan.to_dict(), indent=2))
    else:
        report.print_plan(out, plan, flows=a.flows)
    return 0


def _up(plan: Plan) -> bool:
    t0 = time.monotonic()
    created = apply.up(plan, _progress)
    if not created:
        err.print(f"lab {plan.name} is already up; nothing changed")
        return False
    err.print(
        f"lab [bold]{plan.name}[/bold] up in {time.monotonic() - t0:.2f} s: {len(plan.nodes)} nodes, "
        f"{len(plan.pods)} pods, {plan.model} model, datapath {plan.datapath}, pod MTU {plan.pod_mtu}"
    )
    return True


def cmd_up(a: argparse.Namespace) -> int:
    _need_root()
    plan = _plan_file(a.file, a.param, for_up=True)
    if _up(plan):
        err.print(f"next: cce-lab check {plan.name} | cce-lab status {plan.name} | cce-lab down {plan.name}")
    return 0


def cmd_down(a: argparse.Namespace) -> int:
    _need_root()
    names = list_labs() if a.all else [_lab_name(a.name)]
    for name in names:
        journal = Journal(name)
        if not journal.exists():
            err.print(f"lab {name} is not up; nothing to do")
            continue
        t0 = time.monotonic()
        removed = teardown.undo(journal)
        err.print(
            f"lab {name} down in {time.monotonic() - t0:.2f} s: removed {removed['namespaces']} namespaces, "
            f"stopped {removed['processes']} processes"
        )
    return 0


def cmd_status(a: argparse.Namespace) -> int:
    names = [status.pick_lab(a.name)] if a.name else list_labs()
    states = [status.lab_status(n) for n in names]
    if a.json:
        print(json.dumps(states[0] if a.name else states, indent=2))
    elif not states:
        out.print("no lab is up")
    for st in [] if a.json else states:
        report.print_status(out, st)
    return 0


def cmd_exec(a: argparse.Namespace) -> int:
    _need_root()
    target, command = a.target, a.command
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise UsageError("exec: give a command after --, e.g. cce-lab exec pod-1-1 -- ip addr")
    ns = status.resolve_netns(target)
    os.execvp("ip", ["ip", "netns", "exec", ns, *command])
    return 1  # not reached


def cmd_check(a: argparse.Namespace) -> int:
    _need_root()
    name = status.pick_lab(a.name)
    state = status.lab_status(name)["state"]
    if state != "up":
        raise LabError(f"lab {name} is {state}: bring it down and up again before checking it")
    plan = status.load_plan(name)
    results = checks.run_checks(plan, None if a.json else _progress)
    if a.json:
        print(
            json.dumps(
                {
                    "name": plan.name,
                    "model": plan.model,
                    "datapath": plan.datapath,
                    "results": [{**r.to_dict(), "model": plan.model} for r in results],
                },
                indent=2,
            )
        )
    else:
        report.print_checks(out, plan.name, plan.model, results)
    return 0 if all(r.ok for r in results) else 1


def cmd_explain(a: argparse.Namespace) -> int:
    _need_root()
    plan = status.load_plan(status.pick_lab(a.lab))
    source = None
    if a.source:
        source = next((p for p in plan.pods if a.source in (p.name, p.netns)), None)
        if source is None:
            raise UsageError(f"--from {a.source}: no such pod in lab {plan.name}")
    steps = explain.explain(plan, a.service, source)
    for step in steps:
        out.print(f"[bold]{escape(step.title)}[/bold]")
        for line in step.lines:
            out.print("   " + line, markup=False, soft_wrap=True)
    return 0


def _settings(a: argparse.Namespace):
    from lab import bench  # iperf3 and matplotlib load only for performance runs

    settings = bench.Settings.quick_mode() if a.quick else bench.Settings()
    for field in ("duration", "repetitions", "streams"):
        value = getattr(a, field)
        if value is not None:
            if value <= 0:
                raise UsageError(f"--{field} must be positive")
            setattr(settings, field, value)
    return settings


def _bench_output(a: argparse.Namespace, doc: dict, path: Path) -> int:
    if a.json:
        print(json.dumps(doc, indent=2))
    else:
        report.print_bench(out, doc)
    err.print(f"report: {path}")
    return 0


def cmd_bench(a: argparse.Namespace) -> int:
    _need_root()
    from lab import compare

    plan = status.load_plan(status.pick_lab(a.name))
    doc, path = compare.bench_lab(plan, _settings(a), Path(a.results), _progress)
    return _bench_output(a, doc, path)


def cmd_compare(a: argparse.Namespace) -> int:
    _need_root()
    from lab import compare

    plans = [_plan_file(f, [], for_up=True) for f in a.files]  # bad input fails before anything is built
    names = [p.name for p in plans]
    if len(set(names)) != len(names):
        raise UsageError(f"compare: the topologies must have different names (got {', '.join(names)})")
    doc, path = compare.compare(plans, _settings(a), Path(a.results), _progress)
    return _bench_output(a, doc, path)


def cmd_provision(argv: list[str]) -> int:
    from lab import provision  # ansible-runner is only imported when provisioning

    return provision.main(argv)


def cmd_demo(a: argparse.Namespace) -> int:
    _need_root()
    runs = []
    plans = [(path, _plan_file(path, [], for_up=True)) for path in a.files]  # bad input fails before any up
    for path, plan in plans:
        err.rule(f"{plan.name}: {plan.model} model from {path}")
        if not _up(plan):
            raise LabError(f"lab {plan.name} was already up; the demo leaves it alone ('cce-lab down {plan.name}')")
        try:
            results = checks.run_checks(plan, _progress)
            report.print_checks(out, plan.name, plan.model, results)
            runs.append((plan, results))
        finally:
            removed = teardown.undo(Journal(plan.name))
            err.print(
                f"lab {plan.name} down: removed {removed['namespaces']} namespaces, "
                f"stopped {removed['processes']} processes"
            )
    report.print_side_by_side(out, runs)
    ok = all(r.ok for _, results in runs for r in results)
    out.print("[green]every check matched its expectation[/green]" if ok else "[red]some checks did not match[/red]")
    return 0 if ok else 1


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cce-lab",
        description="Huawei Cloud CCE cluster networks (container tunnel and VPC models) on real namespaces.",
        epilog="Exit codes: 0 ok, 1 failure or check mismatch, 2 bad input. See README.md.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def topo(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("file", help="topology: a .yaml file or a .py script defining topology(**params)")
        sp.add_argument(
            "-p",
            "--param",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="parameter for a .py topology (repeatable), e.g. -p nodes=50",
        )

    sp = sub.add_parser("plan", help="print the address plan and capacity figures (no root needed)")
    topo(sp)
    sp.add_argument("--json", action="store_true", help="the whole plan as JSON")
    sp.add_argument("--flows", action="store_true", help="also print each node's OpenFlow rules")
    sp.set_defaults(func=cmd_plan)

    sp = sub.add_parser("up", help="build a lab from a topology file")
    topo(sp)
    sp.set_defaults(func=cmd_up)

    sp = sub.add_parser("down", help="remove everything a lab created")
    sp.add_argument("name", nargs="?", help="lab name or its topology file (default: the only lab up)")
    sp.add_argument("--all", action="store_true", help="every lab that is up")
    sp.set_defaults(func=cmd_down)

    sp = sub.add_parser("status", help="what is running")
    sp.add_argument("name", nargs="?", help="lab name (default: all labs)")
    sp.add_argument("--json", action="store_true", help="machine-readable (documented in README)")
    sp.set_defaults(func=cmd_status)

    sp = sub.add_parser("exec", help="run a command in a node's, pod's or host's namespace")
    sp.add_argument("target", help="node-1, pod-1-2, ecs, vpc-router (or LAB/NAME, or the netns name)")
    sp.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD ARGS...")
    sp.set_defaults(func=cmd_exec)

    sp = sub.add_parser("check", help="run the connectivity checks; exit 1 on any mismatch")
    sp.add_argument("name", nargs="?", help="lab name (default: the only lab up)")
    sp.add_argument("--json", action="store_true", help="results as JSON")
    sp.set_defaults(func=cmd_check)

    sp = sub.add_parser("explain", help="send one request to a Service and show every rule it hit, in order")
    sp.add_argument("service", help="Service name (see cce-lab status)")
    sp.add_argument("--lab", help="lab name (default: the only lab up)")
    sp.add_argument("--from", dest="source", metavar="POD", help="client pod (default: the first plain pod)")
    sp.set_defaults(func=cmd_explain)

    def perf(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--duration", type=float, help="seconds per iperf3 test (default 5; --quick: 1)")
        sp.add_argument("--repetitions", type=int, help="repetitions of each test (default 3; --quick: 1)")
        sp.add_argument("--streams", type=int, help="parallel TCP streams of the N-stream test (default 4)")
        sp.add_argument("--quick", action="store_true", help="short run for CI: a two-lab compare in under 2 minutes")
        sp.add_argument("--results", default="results", help="where results/<lab>-<time>/ goes (default ./results)")
        sp.add_argument("--json", action="store_true", help="the results document on stdout")

    sp = sub.add_parser("bench", help="measure a running lab and the machine's veth baseline; write a report")
    sp.add_argument("name", nargs="?", help="lab name (default: the only lab up)")
    perf(sp)
    sp.set_defaults(func=cmd_bench)

    sp = sub.add_parser("compare", help="bring each topology up in turn, measure it, take it down; one report")
    sp.add_argument("files", nargs="+", help="topology files, e.g. topologies/tunnel.yaml topologies/vpc.yaml")
    perf(sp)
    sp.set_defaults(func=cmd_compare)

    sp = sub.add_parser(
        "provision", help="set this machine (or an inventory) up with playbooks/site.yml through ansible-runner"
    )
    sp.add_argument("args", nargs="*", help="[--check] [--tags a,b] [--inventory FILE] [PLAYBOOK] (see provision -h)")

    sp = sub.add_parser("demo", help="build each topology, check it, tear it down, compare side by side")
    sp.add_argument("files", nargs="*", default=DEFAULT_DEMO, help=f"topologies (default: {' '.join(DEFAULT_DEMO)})")
    sp.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["provision"]:  # its options belong to lab.provision
        return cmd_provision(argv[1:])
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


if __name__ == "__main__":
    sys.exit(main())
