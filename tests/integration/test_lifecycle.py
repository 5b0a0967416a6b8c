"""up/down life cycle: idempotent up, exact down, also after a killed or failed up."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

from conftest import CLI, cli

from lab.kernel import netns
from lab.kernel.journal import lab_dir


def _lab_netns(name: str) -> list[str]:
    return [n for n in netns.list_names() if n.startswith(f"{name}-")]


def _lab_daemons(name: str) -> list[int]:
    """PIDs of OVS daemons whose command line points into this lab's state dir."""
    marker = str(lab_dir(name))
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker in (proc / "cmdline").read_bytes().decode(errors="replace"):
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def test_up_twice_changes_nothing(lab, topology):
    lab(name="itidem", model="tunnel", datapath="ovs-userspace", nodes=2, pods_per_node=1)
    before = (_lab_netns("itidem"), sorted(_lab_daemons("itidem")), (lab_dir("itidem") / "journal.jsonl").read_text())
    again = cli("up", topology(name="itidem", model="tunnel", datapath="ovs-userspace", nodes=2, pods_per_node=1))
    assert again.returncode == 0
    assert "already up" in again.stderr
    after = (_lab_netns("itidem"), sorted(_lab_daemons("itidem")), (lab_dir("itidem") / "journal.jsonl").read_text())
    assert after == before


def test_down_after_killed_up(topology):
    """SIGKILL `up` while OVS daemons are starting; `down` must still remove everything."""
    path = topology(name="itkill", model="tunnel", datapath="ovs-userspace", nodes=6, pods_per_node=3)
    proc = subprocess.Popen([*CLI, "up", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = lab_dir("itkill") / "journal.jsonl"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if journal.exists() and "pidfile" in journal.read_text():
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert "pidfile" in journal.read_text(), "up finished before it could be killed mid-way"
    assert _lab_netns("itkill"), "the killed up left no namespaces to clean: the test proves nothing"
    st = json.loads(cli("status", "itkill", "--json", check=True).stdout)
    assert st["state"] == "incomplete"
    refused = cli("up", path)
    assert refused.returncode == 1 and "cce-lab down itkill" in refused.stderr
    cli("down", "itkill", check=True)
    assert _lab_netns("itkill") == []
    assert _lab_daemons("itkill") == []
    assert not lab_dir("itkill").exists()


def test_failure_half_way_removes_everything(topology):
    """A failure after namespaces and pods exist (OVS run dir cannot be made) undoes all of it."""
    path = topology(name="itfail", model="tunnel", datapath="ovs-userspace", nodes=2, pods_per_node=2)
    lab_dir("itfail").mkdir(parents=True)
    (lab_dir("itfail") / "ovs").write_text("a file where the OVS run directories should go")
    res = cli("up", path)
    assert res.returncode == 1
    assert "error" in res.stderr and "removing what was created" in res.stderr
    assert _lab_netns("itfail") == []
    assert _lab_daemons("itfail") == []
    assert not lab_dir("itfail").exists()


def test_bad_topology_creates_nothing(topology):
    path = topology(name="itbad", model="vpc", nodes=3, pods_per_node=200)
    res = cli("up", path)
    assert res.returncode == 2
    assert "pods_per_node" in res.stderr and "125" in res.stderr
    assert _lab_netns("itbad") == [] and not lab_dir("itbad").exists()


def test_namespace_clash_is_refused_untouched(topology):
    """A namespace the lab did not create is neither used nor removed."""
    netns.create("itclash-pod-1-1")
    try:
        res = cli("up", topology(name="itclash", model="vpc", nodes=1, pods_per_node=1))
        assert res.returncode == 1 and "itclash-pod-1-1" in res.stderr
        assert netns.exists("itclash-pod-1-1")
        assert _lab_netns("itclash") == ["itclash-pod-1-1"]
    finally:
        netns.delete("itclash-pod-1-1")


def test_failure_after_daemons_started_is_rolled_back(topology):
    """nginx's config cannot be written, after OVS and netexec are running: up undoes everything itself."""
    spec = {"name": "itlate", "model": "tunnel", "datapath": "ovs-userspace", "nodes": 2, "pods_per_node": 1}
    spec |= {"internet": True, "workloads": [{"name": "web", "replicas": 2}]}
    spec |= {"services": [{"name": "web", "type": "NodePort", "selector": {"app": "web"}, "port": 80}]}
    spec |= {"ingresses": [{"host": "web.example.com", "service": "web", "port": 80}]}
    path = topology(**spec)
    (lab_dir("itlate") / "nginx.conf").mkdir(parents=True)  # a directory where the config must go
    res = cli("up", path)
    assert res.returncode == 1
    assert "removing what was created" in res.stderr and "nginx.conf" in res.stderr
    assert "starting 2 OVS instances" in res.stderr and "HTTP/UDP servers in every pod" in res.stderr
    assert _lab_netns("itlate") == []
    assert _lab_daemons("itlate") == []
    assert not lab_dir("itlate").exists()
