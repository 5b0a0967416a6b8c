"""The CLI as a user runs it, for the commands that need no root."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def cce(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lab.cli", *args], capture_output=True, text=True, cwd=ROOT)


def test_plan_prints_capacity_and_binding_rule():
    res = cce("plan", "topologies/vpc.yaml")
    assert res.returncode == 0, res.stderr
    assert "route_quota" in res.stdout and "binds" in res.stdout
    # 200 routes, less the NAT gateway's default route and the peering route
    assert "max nodes: 198" in res.stdout
    assert "VPC route table (4 routes)" in res.stdout


def test_plan_json_is_the_whole_plan():
    res = cce("plan", "topologies/tunnel.yaml", "--json")
    plan = json.loads(res.stdout)
    assert plan["model"] == "tunnel" and plan["pod_mtu"] == 1450
    assert [n["pod_cidrs"] for n in plan["nodes"]] == [["172.16.0.0/28"], ["172.16.0.16/28"], ["172.16.0.32/28"]]
    # the tunnel model puts no pod block in the VPC route table: only the NAT gateway's default route
    assert [(r["dst"], r["via"]) for r in plan["vpc_routes"]] == [("0.0.0.0/0", "192.168.0.252")]


def test_plan_of_a_python_topology_with_params():
    res = cce("plan", "topologies/scale.py", "-p", "nodes=50", "-p", "pods=20", "--json")
    plan = json.loads(res.stdout)
    assert len(plan["nodes"]) == 50 and len(plan["pods"]) == 1000


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ("name: x\nmodel: vpc\nnodes: 300\n", "nodes"),
        ("name: x\nmodel: vpc\nservice_cidr: 192.168.1.0/24\n", "service_cidr"),
        ("name: x\nmodel: tunnel\ncolour: blue\n", "colour"),
    ],
)
def test_bad_topology_exits_2_with_one_line_naming_the_field(tmp_path, content, field):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    res = cce("plan", str(path))
    assert res.returncode == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {field}:"), res.stderr


def test_unknown_command_is_a_usage_error():
    res = cce("frobnicate")
    assert res.returncode == 2 and "invalid choice" in res.stderr


HOSTILE = ["file-binary", "yaml-alias-bomb", "yaml-duplicate-key", "int-huge", "name-huge", "pods-billion"]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_input_gets_one_line_and_exit_2(name: str) -> None:
    path = f"tests/golden/errors/{name}.yaml"
    res = cce("plan", path, "--json")
    assert res.returncode == 2
    assert res.stdout == ""
    (line,) = res.stderr.splitlines()
    assert line == (ROOT / "tests/golden/errors" / f"{name}.txt").read_text().strip().replace("FILE", path)


def test_a_script_printing_keeps_plan_json_clean(tmp_path: Path) -> None:
    script = tmp_path / "noisy.py"
    script.write_text(
        "def topology():\n    print('hello from the script')\n    return {'name': 'noisy', 'model': 'vpc'}\n"
    )
    res = cce("plan", str(script), "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["name"] == "noisy"
    assert "hello from the script" in res.stderr


def test_down_of_an_empty_name_is_refused() -> None:
    res = cce("down", "")
    assert res.returncode == 2
    assert "empty" in res.stderr


def test_perf_runs_take_known_paths_only() -> None:
    import argparse

    from lab.cli.bench import perf_args

    sp = argparse.ArgumentParser()
    perf_args(sp)
    a = sp.parse_args(["--path", "pod-pod across nodes", "--path", "node-node"])
    assert a.paths == ["pod-pod across nodes", "node-node"]
    assert sp.parse_args([]).paths is None  # every path
    res = cce("compare", "topologies/tunnel.yaml", "--path", "pod-pod")
    assert res.returncode == 2 and "invalid choice: 'pod-pod'" in res.stderr
