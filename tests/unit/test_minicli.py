"""`cce-lab cli`'s pure parts: the lab as Mininet sees it (members, ports, wires, names -> IPs),
the lab commands' argv, the shell that enters an existing namespace, and interfaces that refuse changes."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from lab.cli import build_parser
from lab.minicli import topo
from lab.minicli.commands import REFUSED, LabCLI, delegation
from lab.minicli.nodes import LabIntf, LabLink, ReadOnly, shell_argv
from lab.plan import make_plan
from lab.topology import load

ROOT = Path(__file__).resolve().parents[2]


def _plan(name: str, **changes):
    spec = load(ROOT / "topologies" / f"{name}.yaml")
    if changes:
        spec = spec.model_copy(update=changes)
    return make_plan(spec, ovs_kernel_available=False)


@pytest.fixture(params=["tunnel", "vpc", "linux-vxlan"])
def plan(request):
    if request.param == "linux-vxlan":
        return _plan("tunnel", datapath="linux-vxlan")
    return _plan(request.param)


def test_every_namespace_is_one_member(plan) -> None:
    layout = topo.layout(plan)
    names = [m.name for m in layout.members]
    assert len(names) == len(set(names))
    assert sorted(m.netns for m in layout.members) == sorted(plan.netns_names())
    assert [m.name for m in layout.of_kind(topo.POD)] == [p.name for p in plan.pods]
    assert [m.name for m in layout.of_kind(topo.NODE)] == [n.name for n in plan.nodes]


def test_ports_carry_the_plans_addresses(plan) -> None:
    layout = topo.layout(plan)
    for pod in plan.pods:
        assert layout.member(pod.name).ports[0] == topo.Port("eth0", pod.ip, 32, pod.mac)
    for node in plan.nodes:
        first = layout.member(node.name).ports[0]
        assert (first.name, first.ip) == (plan.underlay_if, node.ip)  # br-phy on userspace OVS, else eth0
    for host in plan.hosts:
        assert layout.member(host.name).ip == host.ip


def test_every_wire_joins_two_known_ports(plan) -> None:
    layout = topo.layout(plan)
    for w in layout.wires:
        for member, port in ((w.a, w.a_if), (w.b, w.b_if)):
            assert port in {p.name for p in layout.member(member).ports}, (member, port)
    pod_wires = {(w.a, w.b, w.b_if) for w in layout.wires if w.a_if == "eth0" and w.a in {p.name for p in plan.pods}}
    assert pod_wires == {(p.name, p.node, p.host_if) for p in plan.pods}


def test_names_resolve_to_ips_as_in_mininet() -> None:
    plan = _plan("tunnel")
    layout = topo.layout(plan)
    far = plan.pods_on("node-3")[0]
    assert layout.substitute(["ping", "-c1", far.name]) == ["ping", "-c1", far.ip]
    assert layout.substitute(["curl", "ecs:8080", "vpc-router"]) == ["curl", "ecs:8080", plan.router.ip]


@pytest.fixture
def parsers() -> dict[str, argparse.ArgumentParser]:
    return dict(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]


def test_lab_commands_name_the_lab(parsers) -> None:
    assert delegation("check", [], "mntun", parsers) == ["check", "mntun"]
    assert delegation("check", ["--json"], "mntun", parsers) == ["check", "mntun", "--json"]
    assert delegation("status", [], "mntun", parsers) == ["status", "mntun"]
    assert delegation("explain", ["web"], "mntun", parsers) == ["explain", "web", "--lab", "mntun"]
    assert delegation("explain", ["web", "--lab", "x"], "mntun", parsers) == ["explain", "web", "--lab", "x"]
    for argv in (delegation("check", [], "mntun", parsers), delegation("explain", ["web"], "mntun", parsers)):
        build_parser().parse_args(argv)  # what the child will parse


def test_a_verb_this_version_lacks_is_one_line(parsers) -> None:
    parsers.pop("trace", None)
    line = delegation("trace", ["pod-1-1", "pod-3-1"], "mntun", parsers)
    assert line == "cce-lab trace is not available in this version"


def test_exercise_commands_keep_the_lab_in_place() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("action")
    p.add_argument("--lab")
    parsers = {"exercise": p}
    assert delegation("exercise", ["hint"], "mntun", parsers) == ["exercise", "hint", "--lab", "mntun"]
    for action in ("start", "stop", "solve", "reset"):
        line = delegation("exercise", [action, "x"], "mntun", parsers)
        assert isinstance(line, str) and "leave the CLI" in line
    assert "usage" in delegation("exercise", [], "mntun", parsers)


def test_the_cli_knows_dashed_names_and_refuses_what_would_change_the_lab() -> None:
    shell = object.__new__(LabCLI)  # no __init__: that starts the loop
    assert shell.parseline("pod-1-1 ping -c1 pod-3-1")[:2] == ("pod-1-1", "ping -c1 pod-3-1")
    for verb in ("check", "status", "trace", "explain", "graph", "exercise", "net"):
        assert getattr(LabCLI, f"do_{verb}").__qualname__.startswith("LabCLI"), verb
    for command in REFUSED:
        assert getattr(LabCLI, f"do_{command}").__qualname__.startswith("_refused"), command


def test_the_shell_enters_the_existing_namespace() -> None:
    argv = shell_argv("mntun-pod-1-1", "pod-1-1")
    assert argv[:2] == ["mnexec", "-cd"]  # no -n: stock Mininet's NEW namespace
    assert "--net=/run/netns/mntun-pod-1-1" in argv
    assert argv[-1] == "mininet:pod-1-1"


def test_interfaces_and_links_are_read_only() -> None:
    a = LabIntf("eth0", ip="172.16.0.1", prefixLen=32)
    b = LabIntf("veth-p1")
    link = LabLink(a, b)
    assert a.link is link and b.link is link
    assert (a.IP(), a.updateIP(), b.IP()) == ("172.16.0.1", "172.16.0.1", None)
    for change in (lambda: a.ifconfig("down"), lambda: a.setIP("10.0.0.1/8"), a.delete, lambda: a.rename("x")):
        with pytest.raises(ReadOnly):
            change()
    with pytest.raises(ReadOnly):
        link.delete()
