"""Integration fixtures: root only, and the root namespace must be left exactly as found."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

WATCHED = {"ovs-vswitchd", "ovsdb-server", "iperf3", "nginx", "tcpdump"}
CLI = [sys.executable, "-m", "lab.cli"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark everything here `integration` (select with -m); skip it without root."""
    skip = pytest.mark.skip(reason="integration tests need root (CI runs them as root)")
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
            if os.geteuid() != 0:
                item.add_marker(skip)


def _ip_json(*args: str) -> list:
    return json.loads(subprocess.run(["ip", "-j", *args], capture_output=True, text=True, check=True).stdout or "[]")


def root_snapshot() -> dict:
    """What a lab must never change: root links, addresses, routes, rules, netns list, daemons."""
    links = sorted((ln["ifname"], ln.get("operstate"), ln.get("mtu")) for ln in _ip_json("link"))
    addrs = sorted((a["ifname"], i["local"], i["prefixlen"]) for a in _ip_json("addr") for i in a.get("addr_info", []))
    routes = sorted(json.dumps(r, sort_keys=True) for r in _ip_json("route", "show", "table", "all"))
    rules = sorted(json.dumps(r, sort_keys=True) for r in _ip_json("rule"))
    netns = sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else []
    procs = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            lab_owned = "/run/cce-lab/" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        # An exited daemon stays a zombie until PID 1 collects it: it no longer runs.
        if (comm in WATCHED or lab_owned) and state != "Z":
            procs.add((int(pid), comm))
    state = sorted(os.listdir("/run/cce-lab")) if os.path.isdir("/run/cce-lab") else []
    nft = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout
    return {
        "nftables": nft,
        "links": links,
        "addrs": addrs,
        "routes": routes,
        "rules": rules,
        "netns": netns,
        "processes": sorted(procs),
        "lab_state": state,
    }


@pytest.fixture(autouse=True)
def root_namespace_unchanged():
    """Every integration test must leave the root namespace as it found it."""
    before = root_snapshot()
    yield
    after = root_snapshot()
    changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    assert not changed, f"root namespace changed by the test: {changed}"


def cli(*args: str, check: bool = False, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real CLI as a user would."""
    res = subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=timeout, cwd=Path(__file__).resolve().parents[2]
    )
    if check and res.returncode != 0:
        raise AssertionError(f"cce-lab {' '.join(args)} exited {res.returncode}:\n{res.stdout}\n{res.stderr}")
    return res


@pytest.fixture
def topology(tmp_path):
    """Write a topology YAML from keyword arguments; returns its path."""
    import yaml

    def write(**spec) -> str:
        path = tmp_path / f"{spec['name']}.yaml"
        path.write_text(yaml.safe_dump(spec))
        return str(path)

    return write


@pytest.fixture
def lab(topology):
    """Bring a lab up from keyword arguments and always take it down again."""
    names: list[str] = []

    def up(**spec) -> str:
        path = topology(**spec)
        names.append(spec["name"])
        cli("up", path, check=True)
        return spec["name"]

    yield up
    for name in names:
        cli("down", name)
