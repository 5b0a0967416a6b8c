"""The ELB follows its health checks: move the only endpoint of a Local LoadBalancer Service and watch it.

Per model, one lab: a `solo` Deployment of one pod behind a Local LoadBalancer
Service, a `web` one behind a Cluster one. The pod moves to another node; within
the health-check interval (polled with a deadline, never a fixed sleep) the ELB's
chain holds only the new node, the Internet client's requests are answered there
(the nodes' own NodePort counters prove it) and the pod still sees the client's IP.
The check row and its fault are held to the same lab, and `down` leaves nothing.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import CLI, ROOT, cli

from lab.kernel import netns
from lab.kernel.journal import lab_dir
from lab.observe import counters, elbhealth, probe
from lab.observe.status import load_plan
from lab.render import faults as catalogue
from lab.render import health

LABS = {  # case -> (lab, model, datapath): every datapath's runtime pod wiring (auto: ovs-userspace here)
    "tunnel": ("hctun", "tunnel", "auto"),
    "linux-vxlan": ("hctun", "tunnel", "linux-vxlan"),
    "vpc": ("hcvpc", "vpc", "auto"),
}
FOLLOW_DEADLINE = 10.0  # seconds: 2 probes 1 s apart, with room for a loaded machine
ROW = "ELB health check of solo-local: backends = nodes with a local endpoint"


def _spec(name: str, model: str, datapath: str = "auto") -> dict:
    return {
        "name": name,
        "model": model,
        "datapath": datapath,
        "nodes": 3,
        "pods_per_node": 1,
        "internet": True,
        "workloads": [{"name": "solo", "replicas": 1}, {"name": "web", "replicas": 3}],
        "services": [
            {
                "name": "solo-local",
                "type": "LoadBalancer",
                "selector": {"app": "solo"},
                "port": 8090,
                "externalTrafficPolicy": "Local",
                "healthCheckNodePort": 30999,
            },
            {"name": "web-elb", "type": "LoadBalancer", "selector": {"app": "web"}, "port": 8091},
        ],
    }


def _backends(name: str, label: str) -> str:
    plan = load_plan(name)
    svc = next(s for s in plan.services if s.label == label)
    return elbhealth._live(plan, svc)


def _until(name: str, backends: str) -> float:
    """Seconds until the ELB's chain for solo-local holds `backends` (node order), within the deadline."""
    t0 = time.monotonic()
    while (seen := _backends(name, "solo-local")) != backends:
        assert time.monotonic() - t0 < FOLLOW_DEADLINE, f"the ELB still sends to {seen}, not {backends}"
        time.sleep(0.05)
    return time.monotonic() - t0


def _check(name: str) -> dict[str, dict]:
    res = cli("check", name, "--json", timeout=300)
    assert res.returncode in (0, 1), res.stderr
    return {r["scenario"]: r for r in json.loads(res.stdout)["results"]}


def _lab_processes(name: str) -> list[int]:
    marker = str(lab_dir(name))
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker in (proc / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


@pytest.mark.parametrize("case", sorted(LABS))
def test_the_elb_follows_a_moved_endpoint(lab, case: str) -> None:
    name = lab(**_spec(*LABS[case]))
    plan = load_plan(name)
    elb, client = plan.host("elb"), plan.host("internet-client")
    assert elb and client
    svc = plan.service("solo-local")
    assert svc and svc.health_check_node_port == 30999 and svc.node_port
    first = svc.endpoints[0].node
    target = next(n.name for n in plan.nodes if n.name != first)

    # kube-proxy's health-check node port on every node: 200 where the pod is, 503 elsewhere (upstream's body)
    for node in plan.nodes:
        res = probe.http(elb.netns, node.ip, 30999, path="/healthz")
        local = int(node.name == first)
        assert res.status == (200 if local else 503), res.detail
        assert res.data == {
            "service": {"namespace": "default", "name": "solo-local"},
            "localEndpoints": local,
            "serviceProxyHealthy": True,
        }
    assert _backends(name, "solo-local") == first
    assert _backends(name, "web-elb") == ", ".join(n.name for n in plan.nodes)  # Cluster: every node

    for bad in (["nobody", target], ["solo-1", "node-9"], ["solo-1", first]):  # refused before anything changes
        refused = cli("move", *bad, "--lab", name)
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    moved = cli("move", "solo-1", target, "--lab", name, check=True)
    assert "solo-2 on " + target in moved.stderr
    followed = _until(name, target)
    print(f"\n{case}: the ELB followed the move in {followed:.2f} s")
    assert followed < (health.FALL + 1) * health.INTERVAL + 2.0
    assert _backends(name, "web-elb") == ", ".join(n.name for n in plan.nodes)  # unchanged

    after = load_plan(name)
    assert [e.pod for e in after.service("solo-local").endpoints] == ["solo-2"]  # type: ignore[union-attr]
    assert netns.exists(f"{name}-solo-2") and not netns.exists(f"{name}-solo-1")
    save = plan.iptables_tool("save")
    before = {n.name: counters.nodeport_connections(n.netns, save, svc.node_port) for n in plan.nodes}
    answers = [probe.http(client.netns, svc.eip, svc.port) for _ in range(12)]
    gained = {n.name: counters.nodeport_connections(n.netns, save, svc.node_port) - before[n.name] for n in plan.nodes}
    assert all(a.status == 200 and a.answered_by == "solo-2" for a in answers), [a.detail for a in answers]
    assert {a.source for a in answers} == {client.ip}  # externalTrafficPolicy Local: the client IP arrives
    assert gained == {n.name: 12 * (n.name == target) for n in plan.nodes}, gained

    rows = _check(name)
    failed = {s: r["detail"] for s, r in rows.items() if not r["ok"]}
    assert not failed, failed
    assert rows[ROW]["actual"] == target

    # the row's fault: the pod's node drops the health checks, the ELB refuses, the row fails; undo heals
    fault = catalogue.fault(after, "elb-health-blocked", Path("/unused"))
    cli("fault", "inject", "elb-health-blocked", "--lab", name, check=True)
    try:
        broken = _check(name)
        refused = probe.http(client.netns, svc.eip, svc.port)  # no healthy backend: refused, not black-holed
    finally:
        cli("fault", "undo", "elb-health-blocked", "--lab", name, check=True)
    assert broken[ROW]["actual"] == elbhealth.NONE, broken[ROW]
    assert refused.status is None and "refused" in refused.detail, refused.detail
    allowed = {s for s in broken if catalogue.matches(s, fault.fails + fault.collateral)}
    unexpected = {s: r["detail"] for s, r in broken.items() if not r["ok"] and s not in allowed}
    assert not unexpected, unexpected
    healed = _check(name)  # the row waits for the checker to take the node back
    assert all(r["ok"] for r in healed.values()), {s: r["detail"] for s, r in healed.items() if not r["ok"]}

    # scale: to zero the ELB refuses; to two, it spreads over the two nodes the scheduler picked
    cli("scale", "solo", "0", "--lab", name, check=True)
    _until(name, elbhealth.NONE)
    assert probe.http(client.netns, svc.eip, svc.port).status is None
    res = cli("scale", "solo", "2", "--lab", name, check=True)
    nodes = sorted(e.node for e in load_plan(name).service("solo-local").endpoints)  # type: ignore[union-attr]
    assert len(set(nodes)) == 2, res.stderr
    _until(name, ", ".join(nodes))
    assert cli("scale", "nothing", "1", "--lab", name).returncode == 2

    cli("down", name, check=True)
    assert [n for n in netns.list_names() if n.startswith(f"{name}-")] == []
    assert _lab_processes(name) == []
    assert not lab_dir(name).exists()


def test_down_after_a_killed_move(lab) -> None:
    """SIGKILL `move` once the new pod's namespace exists: `down` still removes it (and its server, if started)."""
    name = lab(**_spec("hctun", "tunnel"))
    journal = lab_dir(name) / "journal.jsonl"
    proc = subprocess.Popen([*CLI, "move", "solo-1", "node-3", "--lab", name], cwd=ROOT, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not netns.exists(f"{name}-solo-2"):  # made mid-way, and journalled before it was made
        assert time.monotonic() < deadline and proc.poll() is None, "move ended before it could be killed"
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert f'"netns": "{name}-solo-2"' in journal.read_text()
    cli("down", name, check=True)
    assert [n for n in netns.list_names() if n.startswith(f"{name}-")] == []
    assert _lab_processes(name) == []
