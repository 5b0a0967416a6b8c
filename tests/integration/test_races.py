"""Races, kills and neighbours: labs side by side, two `up` at once, `down` racing `up`, SIGKILL at many points.

Every test also runs under the root-namespace snapshot (conftest): whatever
happened, nothing may be left behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import yaml
from conftest import CLI, cli

from lab.kernel import netns

ROOT = Path(__file__).resolve().parents[2]
DELAYS = [0.05 * i for i in range(1, 21)]  # 50 ms to 1 s: namespaces, VPC, pods, OVS daemons, servers


def _copy(tmp_path: Path, shipped: str, name: str) -> str:
    data = yaml.safe_load((ROOT / "topologies" / shipped).read_text())
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({**data, "name": name}))
    return str(path)


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([*CLI, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _left(prefix: str) -> list[str]:
    return [n for n in netns.list_names() if n.startswith(prefix)]


def test_two_labs_side_by_side(tmp_path: Path) -> None:
    """The shipped tunnel and VPC topologies, same addresses, different names: up together, both green."""
    paths = [_copy(tmp_path, "tunnel.yaml", "sbtun"), _copy(tmp_path, "vpc.yaml", "sbvpc")]
    ups = [_start("up", p) for p in paths]
    try:
        for proc in ups:
            _, err = proc.communicate(timeout=180)
            assert proc.returncode == 0, err
        checks = [_start("check", name) for name in ("sbtun", "sbvpc")]
        for proc in checks:
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, out[-2000:] + err[-500:]
    finally:
        for name in ("sbtun", "sbvpc"):
            cli("down", name)
    assert not _left("sbtun-") and not _left("sbvpc-")


def test_two_ups_of_one_lab_at_the_same_moment(tmp_path: Path) -> None:
    path = _copy(tmp_path, "vpc.yaml", "twice")
    first, second = _start("up", path), _start("up", path)
    try:
        results = [(p.wait(timeout=180), p.stderr.read()) for p in (first, second)]
        built = [r for r in results if r[0] == 0 and "up in" in r[1]]
        assert len(built) == 1, results
        other = next(r for r in results if r not in built)
        assert (other[0] == 0 and "already up" in other[1]) or "being built" in other[1], other
        assert cli("check", "twice").returncode == 0
    finally:
        cli("down", "twice")
    assert not _left("twice-")


def test_down_racing_up_leaves_nothing(tmp_path: Path) -> None:
    path = _copy(tmp_path, "tunnel.yaml", "racing")
    up = _start("up", path)
    time.sleep(0.5)
    down = cli("down", "racing")
    up.wait(timeout=180)
    cli("down", "racing")  # whichever order they ended in, a second down finds nothing or finishes the job
    assert not _left("racing-"), down.stderr
    assert not (Path("/run/cce-lab") / "racing").exists()


def _small(tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.yaml"
    spec = {"name": name, "model": "tunnel", "datapath": "ovs-userspace", "nodes": 2, "pods_per_node": 2, "ecs": True}
    spec |= {"workloads": [{"name": "web", "replicas": 2}], "internet": True, "nat_gateway": {"snat": True}}
    path.write_text(yaml.safe_dump(spec))
    return str(path)


def test_sigkill_of_up_at_twenty_points_then_down_leaves_nothing(tmp_path: Path) -> None:
    path = _small(tmp_path, "killup")
    for delay in DELAYS:
        proc = _start("up", path)
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)  # our own child, by PID
        proc.wait(timeout=30)
        res = cli("down", "killup")
        assert res.returncode == 0, (delay, res.stderr)
        assert not _left("killup-"), delay
        assert not (Path("/run/cce-lab") / "killup").exists(), delay


def test_sigkill_of_down_at_twenty_points_then_down_leaves_nothing(tmp_path: Path) -> None:
    path = _small(tmp_path, "killdown")
    for delay in DELAYS[::2]:
        cli("up", path, check=True)
        proc = _start("down", "killdown")
        time.sleep(delay / 4)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        res = cli("down", "killdown")
        assert res.returncode == 0, (delay, res.stderr)
        assert not _left("killdown-"), delay
