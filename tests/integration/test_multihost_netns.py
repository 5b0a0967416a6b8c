"""A lab over two hosts, each host stood in for by a namespace this test makes: the fast multi-host variant.

The two "hosts" share one kernel, but the lab does not know it: each holds one
end of the wire between them (a veth, 192.0.2.1 and .2, MTU 1500), each part
is built by `up --inventory --here HOST --host-netns NS` with its own state
directory, and all that passes between the parts is the host tunnel's VXLAN
on that wire. The two-VM test (real hosts, Ansible) is still to come; this one
proves the slicing, the stitching and the MTU accounting.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from conftest import CLI, ROOT

from lab.kernel import netns
from lab.plan.spread import vni_of

HOSTS = {"hosta": "192.0.2.1", "hostb": "192.0.2.2"}
LABS = {
    "vpc": {"name": "mhv", "model": "vpc", "nodes": 2, "pods_per_node": 2},
    "linux-vxlan": {"name": "mht", "model": "tunnel", "datapath": "linux-vxlan", "nodes": 2, "pods_per_node": 2},
}


def _run(ns: str, *argv: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", ns, *argv], capture_output=True, text=True, check=check, timeout=timeout
    )


def _cli(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CCE_LAB_STATE": str(state)}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=180, cwd=ROOT, env=env)


@pytest.fixture
def hosts():
    """Two host namespaces joined by a veth: the wire between two machines."""
    names = [f"mhh-{h[-1]}" for h in HOSTS]
    for ns in names:
        subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(
            ["ip", "link", "add", "wire", "netns", names[0], "type", "veth", "peer", "name", "wire", "netns", names[1]],
            check=True,
        )
        for ns, ip in zip(names, HOSTS.values(), strict=True):
            _run(ns, "ip", "addr", "add", f"{ip}/24", "dev", "wire")
            _run(ns, "ip", "link", "set", "wire", "up")
            _run(ns, "ip", "link", "set", "lo", "up")
        yield dict(zip(HOSTS, names, strict=True))
    finally:
        for ns in names:
            subprocess.run(["ip", "netns", "del", ns], check=False)


@pytest.mark.parametrize("case", sorted(LABS))
def test_a_lab_over_two_hosts(hosts: dict[str, str], tmp_path: Path, case: str) -> None:
    spec = LABS[case]
    name = spec["name"]
    topo = tmp_path / f"{name}.yaml"
    topo.write_text(yaml.safe_dump(spec))
    inv = tmp_path / "hosts.yml"
    inv.write_text(
        yaml.safe_dump(
            {"all": {"hosts": {h: {"ansible_connection": "local", "cce_lab_address": ip} for h, ip in HOSTS.items()}}}
        )
    )
    states = {h: tmp_path / f"state-{h}" for h in HOSTS}
    links_before = {h: _run(ns, "ip", "-o", "link").stdout.count("\n") for h, ns in hosts.items()}
    try:
        for host, ns in hosts.items():
            res = _cli(states[host], "up", str(topo), "--inventory", str(inv), "--here", host, "--host-netns", ns)
            assert res.returncode == 0, res.stderr
            assert f"host {host}'s part" in res.stderr and "pod MTU" in res.stderr
        src, dst = f"{name}-pod-1-1", f"{name}-pod-2-1"  # node-1 on hosta, node-2 on hostb (block placement)
        assert netns.exists(src) and netns.exists(dst)
        dst_ip = _run(dst, "ip", "-4", "-o", "addr", "show", "eth0").stdout.split()[3].split("/")[0]
        pod_mtu = int(_run(src, "cat", "/sys/class/net/eth0/mtu").stdout)
        assert pod_mtu == (1450 if case == "vpc" else 1400)  # the host tunnel's 50 B taken from the underlay

        # what crosses between the hosts is VXLAN on the wire, with the lab's VNI (and, tunnel model, VXLAN inside)
        capture = subprocess.Popen(
            ["ip", "netns", "exec", hosts["hosta"], "tcpdump", "-nli", "wire", "-c", "2", "udp port 4789"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        time.sleep(1)
        ping = _run(src, "ping", "-c", "3", "-W", "2", "-M", "do", "-s", str(pod_mtu - 28), dst_ip, check=False)
        assert ping.returncode == 0, ping.stdout + ping.stderr
        seen, _ = capture.communicate(timeout=10)
        assert f"vni {vni_of(name)}" in seen, seen
        if case != "vpc":
            assert seen.count("VXLAN") >= 2 or "vni 1" in seen, seen  # VXLAN in VXLAN
        over = _run(src, "ping", "-c", "1", "-W", "1", "-M", "do", "-s", str(pod_mtu - 27), dst_ip, check=False)
        assert over.returncode != 0

        # each host's status holds it to its own part: up, not degraded by the other host's namespaces
        for host in HOSTS:
            shown = json.loads(_cli(states[host], "status", name, "--json").stdout)
            assert (shown["state"], shown["host"], shown["placement"]) == (
                "up",
                host,
                {"node-1": "hosta", "node-2": "hostb"},
            )

        # every row of the lab's own check, across both hosts
        checked = _cli(states["hosta"], "check", name)
        assert checked.returncode == 0, checked.stdout[-3000:]
    finally:
        for host in reversed(list(HOSTS)):
            _cli(states[host], "down", name)
    assert not [ns for ns in netns.list_names() if ns.startswith(f"{name}-")]
    assert {h: _run(ns, "ip", "-o", "link").stdout.count("\n") for h, ns in hosts.items()} == links_before
