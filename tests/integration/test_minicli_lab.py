"""`cce-lab cli`: Mininet's CLI on a live lab, driven through a pseudo-terminal (and once through a pipe).

One lab per model (the shipped topologies as mntun / mnvpc), built once for the
module. Each session must leave the lab exactly as it was: still up, the same
processes in its namespaces, the same links, addresses and MTUs, no new
namespace (the root snapshot of conftest checks the root namespace itself).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pexpect
import pytest
from conftest import CLI, cli, shipped_lab

from lab.minicli import topo
from lab.observe.status import load_plan
from lab.render import faults as catalogue

ROOT = Path(__file__).resolve().parents[2]
LABS = {"tunnel": "mntun", "vpc": "mnvpc"}
IPERF_FIGURE = re.compile(r"\*\*\* Results: \['(\d+(?:\.\d+)?) ([KMG])bits/sec', '\d+(?:\.\d+)? [KMG]bits/sec'\]")


@pytest.fixture(scope="module", params=sorted(LABS))
def running(request, tmp_path_factory):
    with shipped_lab(tmp_path_factory, LABS[request.param], request.param) as name:
        yield name


class Session:
    """`cce-lab cli NAME` on a pseudo-terminal; `run` sends one command and returns what it printed."""

    def __init__(self, name: str, home: Path) -> None:
        env = {**os.environ, "HOME": str(home), "TERM": "dumb", "COLUMNS": "200"}
        self.prompt = f"mininet:{name}> "
        started = time.monotonic()
        self.child = pexpect.spawn(CLI[0], [*CLI[1:], "cli", name], cwd=ROOT, env=env, encoding="utf-8", timeout=60)
        self.child.setwinsize(50, 200)
        self.child.expect_exact(self.prompt)
        self.start_seconds = time.monotonic() - started
        self.banner = self.child.before

    def run(self, command: str, timeout: float = 60) -> str:
        self.child.sendline(command)
        self.child.expect_exact(self.prompt, timeout=timeout)
        text = self.child.before.replace("\r\n", "\n")
        return text.split("\n", 1)[1] if text.startswith(command) else text

    def exit(self, how: str = "exit") -> int:
        if how == "eof":
            self.child.sendeof()
        else:
            self.child.sendline(how)
        self.child.expect(pexpect.EOF, timeout=30)
        self.child.close()
        return self.child.exitstatus


def _lab_pids(netns_names: list[str]) -> set[int]:
    """Every process whose network namespace is one of the lab's."""
    inodes = {os.stat(f"/run/netns/{ns}").st_ino for ns in netns_names}
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            ino = os.stat(f"/proc/{pid}/ns/net").st_ino
        except OSError:
            continue
        if ino in inodes:
            found.add(int(pid))
    return found


def _ip(ns: str, *args: str) -> list:
    out = subprocess.run(["ip", "-n", ns, "-j", *args], capture_output=True, text=True, check=True).stdout
    return json.loads(out or "[]")


def _lab_state(name: str) -> dict:
    """Links (name, MTU, admin state, MAC, master), addresses and processes of every lab namespace, and the netns
    list. The admin state (the UP flag), not the operstate: a bridge's operstate moves from UNKNOWN to UP by itself
    once its ports forward, whoever watches."""
    plan = load_plan(name)
    names = plan.netns_names()
    links = {
        ns: sorted(
            (ln["ifname"], ln.get("mtu"), "UP" in ln.get("flags", []), ln.get("address"), ln.get("master"))
            for ln in _ip(ns, "link")
        )
        for ns in names
    }
    addrs = {
        ns: sorted((a["ifname"], i["local"], i["prefixlen"]) for a in _ip(ns, "addr") for i in a.get("addr_info", []))
        for ns in names
    }
    return {"links": links, "addrs": addrs, "pids": _lab_pids(names), "netns": sorted(os.listdir("/run/netns"))}


def _assert_left_as_found(name: str, before: dict) -> None:
    assert json.loads(cli("status", name, "--json", check=True).stdout)["state"] == "up"
    deadline = time.monotonic() + 5  # a hung-up shell may take a moment to be reaped
    after = _lab_state(name)
    while after["pids"] != before["pids"] and time.monotonic() < deadline:
        time.sleep(0.2)
        after = _lab_state(name)
    assert after["netns"] == before["netns"], "cce-lab cli changed the namespaces"
    assert after["pids"] == before["pids"], f"processes: {sorted(after['pids'] ^ before['pids'])}"
    for key in ("links", "addrs"):
        changed = {
            ns: (sorted(set(before[key][ns]) - set(after[key][ns])), sorted(set(after[key][ns]) - set(before[key][ns])))
            for ns in before[key]
            if before[key][ns] != after[key].get(ns)
        }
        assert not changed, f"cce-lab cli changed the lab's {key} (before, after): {changed}"


def test_the_layout_is_the_kernels(running: str) -> None:
    """Every port the CLI shows exists in its member's namespace with the address it shows."""
    layout = topo.layout(load_plan(running))
    for member in layout.members:
        links = {ln["ifname"] for ln in _ip(member.netns, "link")}
        addrs = {(a["ifname"], i["local"]) for a in _ip(member.netns, "addr") for i in a.get("addr_info", [])}
        for port in member.ports:
            assert port.name in links, f"{member.name}: no {port.name} in {member.netns}"
            if port.ip:
                assert (port.name, port.ip) in addrs, f"{member.name}: {port.name} lacks {port.ip}"


def test_a_session_runs_mininets_commands_and_leaves_the_lab_as_it_was(running: str, tmp_path: Path) -> None:
    plan = load_plan(running)
    far = plan.pods_on(plan.nodes[-1].name)[0]
    before = _lab_state(running)
    s = Session(running, tmp_path)
    assert s.start_seconds < 15, s.start_seconds
    try:
        nodes = s.run("nodes")
        for obj in (*plan.pods, *plan.nodes, *plan.hosts):
            assert obj.name in nodes.split(), f"{obj.name} missing from nodes"
        net = s.run("net")
        assert "pod-1-1 eth0:veth-p1@node-1" in net
        assert "node-1" in net and "eth0:node-1@vpc-router" in net
        dump = s.run("dump")
        assert f"<LabNode {far.name}: eth0:{far.ip} pid=" in dump
        route = s.run("pod-1-1 ip route")
        assert "default via 169.254.1.1 dev eth0" in route
        ping = s.run(f"pod-1-1 ping -c1 {far.name}")
        assert f"PING {far.ip} " in ping and "1 received" in ping, ping
        pingall = s.run("pingall", timeout=120)
        n = len(plan.pods)
        assert f"*** Results: 0% dropped ({n * (n - 1)}/{n * (n - 1)} received)" in pingall, pingall
        iperf = s.run(f"iperf pod-1-1 {far.name}", timeout=60)
        figure = IPERF_FIGURE.search(iperf)
        assert figure and float(figure.group(1)) > 0, iperf
        check = s.run("check", timeout=300)
        assert "scenario" in check and "PASS" in check and "FAIL" not in check, check
        explain = s.run("explain web", timeout=60)
        assert "connects to web at" in explain, explain
        assert "error:" in s.run("explain no-such-service")  # the verb's own one line, and the session goes on
        assert s.run("py pod_1_1.IP()").strip() == plan.pods[0].ip
        assert "links are the lab's" in s.run("link pod-1-1 node-1 down")
    finally:
        assert s.exit() == 0
    _assert_left_as_found(running, before)


def test_pingall_names_the_dead_pod(running: str, tmp_path: Path) -> None:
    plan = load_plan(running)
    dead = catalogue.fault(plan, "dead-pod", Path("/nonexistent")).summary.split(",")[0]
    assert dead in {p.name for p in plan.pods}
    cli("fault", "inject", "dead-pod", "--lab", running, check=True)
    try:
        before = _lab_state(running)
        s = Session(running, tmp_path)
        try:
            started = time.monotonic()
            out = s.run("pingall", timeout=180)
            seconds = time.monotonic() - started
        finally:
            assert s.exit("eof") == 0  # Ctrl-D leaves as exit does
        rows = {line.split(" -> ")[0]: line.split(" -> ")[1].split() for line in out.splitlines() if " -> " in line}
        assert set(rows[dead]) == {"X"}, rows[dead]
        for src, seen in rows.items():
            if src != dead:
                assert dead not in seen and seen.count("X") == 1, (src, seen)
        n = len(plan.pods)
        lost = 2 * (n - 1)
        assert f"({n * (n - 1) - lost}/{n * (n - 1)} received)" in out, out
        assert seconds < 60, f"pingall on a dead pod took {seconds:.0f} s"
        altered = json.loads(cli("status", running, "--json", check=True).stdout)
        assert altered["state"] == "altered"
        assert _lab_state(running)["pids"] == before["pids"]
    finally:
        cli("fault", "undo", "dead-pod", "--lab", running, check=True)


def test_ctrl_c_stops_a_command_and_a_killed_session_leaves_no_shell(running: str, tmp_path: Path) -> None:
    before = _lab_state(running)
    s = Session(running, tmp_path)
    s.child.sendline("pod-1-1 sleep 300")
    time.sleep(0.5)
    started = time.monotonic()
    s.child.sendintr()  # Ctrl-C reaches the command through its shell's terminal, the session goes on
    s.child.expect_exact(s.prompt, timeout=10)
    assert time.monotonic() - started < 5
    assert "eth0" in s.run("pod-1-1 ip -o link show eth0")
    s.child.sendline("pod-1-1 sleep 301")
    time.sleep(0.5)
    s.child.kill(9)  # no finally runs: the shells must still go (their terminal's master is gone)
    s.child.close(force=True)
    _assert_left_as_found(running, before)


def test_piped_commands(running: str, tmp_path: Path) -> None:
    """A script on stdin runs command after command (no key pass-through eats the next line)."""
    plan = load_plan(running)
    far = plan.pods[-1]
    script = f"pod-1-1 ping -c1 {far.name}\nnodes\ntrace pod-1-1 {far.name}\nexit\n"
    env = {**os.environ, "HOME": str(tmp_path)}
    res = subprocess.run(
        [*CLI, "cli", running], input=script, capture_output=True, text=True, timeout=120, cwd=ROOT, env=env
    )
    assert res.returncode == 0, res.stderr
    out = res.stdout  # one ordered stream: Mininet's output, then the next command's
    assert f"PING {far.ip} " in out and "1 received" in out, out
    assert out.index("1 received") < out.index("available nodes are:") and "vpc-router" in out
    from lab.cli import build_parser

    verbs = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    if "trace" not in verbs:
        assert "cce-lab trace is not available in this version" in res.stdout


def test_an_unknown_lab_is_one_line() -> None:
    res = subprocess.run([*CLI, "cli", "nosuchlab"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert res.returncode == 1
    assert res.stderr.strip().count("\n") == 0 and "nosuchlab" in res.stderr, res.stderr
