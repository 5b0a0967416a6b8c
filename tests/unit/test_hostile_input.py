"""Hostile input: random mutations of the shipped topologies plan, or fail with one bounded line; nothing else.

A property test (hypothesis) mutates tunnel.yaml and vpc.yaml, values of every
type at every depth, deleted and added keys, and runs each through the whole
path the CLI takes (YAML text -> strict parse -> spec -> plan). Any exception
other than a SpecError, a message of several lines or an overlong one fails.
The file-level classes (FIFO, directory, sizes, scripts that hang or exit)
are tested here one by one.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab.errors import MAX_MESSAGE, SpecError
from lab.plan import make_plan
from lab.spec import build_spec
from lab.spec.yamltext import parse
from lab.topology import load

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = [yaml.safe_load((ROOT / "topologies" / f).read_text()) for f in ("tunnel.yaml", "vpc.yaml")]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(
        ["0.0.0.0/0", "169.254.0.0/16", "10.0.0.0/8", "172.16.0.0/2", "192.168.0.0/33", "node-1", "yes", "010"]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            found += _paths(v, (*prefix, i))
    return found


def _mutate(data: Any, path: tuple, action: str, value: Any) -> Any:
    if not path:
        return value if action == "set" else data
    head, rest = path[0], path[1:]
    copy = dict(data) if isinstance(data, dict) else list(data)
    if rest:
        copy[head] = _mutate(copy[head], rest, action, value)
    elif action == "delete":
        del copy[head]
    elif action == "add" and isinstance(copy, dict):
        copy[f"{head}x"] = value
    else:
        copy[head] = value
    return copy


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    data = draw(st.sampled_from(SHIPPED))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(data)
        path = draw(st.sampled_from(paths))
        data = _mutate(data, path, draw(st.sampled_from(["set", "delete", "add"])), draw(values))
    return data


def _one_line(exc: SpecError) -> None:
    text = f"error: {exc}"
    assert "\n" not in text, text
    assert len(str(exc)) <= MAX_MESSAGE, text


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_topologies_plan_or_fail_with_one_line(data: Any) -> None:
    text = yaml.safe_dump(data, allow_unicode=True)
    try:
        make_plan(build_spec(parse(text, "mutant.yaml")))
    except SpecError as exc:
        _one_line(exc)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_any_text_parses_or_fails_with_one_line(blob: bytes | str) -> None:
    text = blob.decode("utf-8", "replace") if isinstance(blob, bytes) else blob
    try:
        build_spec(parse(text, "blob.yaml"))
    except SpecError as exc:
        _one_line(exc)


def _refused(path: Path, *words: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        load(path)
    _one_line(info.value)
    for word in words:
        assert word in info.value.rule
    return info.value


def test_a_fifo_is_refused_without_being_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "topo.yaml"
    os.mkfifo(fifo)
    _refused(fifo, "not a regular file")


def test_a_directory_and_an_empty_path_are_refused(tmp_path: Path) -> None:
    _refused(tmp_path, "is a directory")
    _refused(Path(""), "no file given")


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as f:
        f.truncate(5 << 20)  # sparse: 5 MiB of nothing
    _refused(big, "at most 4 MiB")


def test_a_large_list_loads_with_linear_checks(tmp_path: Path) -> None:
    workloads = "".join(f"  - {{name: w{i}, replicas: 0}}\n" for i in range(20000))
    path = tmp_path / "many.yaml"
    path.write_text(f"name: many\nmodel: vpc\nworkloads:\n{workloads}")
    assert len(load(path).workloads) == 20000


def test_huge_container_cidr_plans_without_enumerating_blocks() -> None:
    spec = build_spec({"name": "wide", "model": "tunnel", "container_cidr": "16.0.0.0/4", "nodes": 3})
    plan = make_plan(spec)
    assert plan.capacity.blocks_total == 2**24
    assert plan.capacity.blocks_used == 3


SCRIPTS = {
    "sleeps": ("import time\ndef topology():\n    time.sleep(60)\n", "no result within"),
    "exits-at-import": ("import sys\nsys.exit(0)\n", "sys.exit(0)"),
    "exits-in-topology": ("import sys\ndef topology():\n    sys.exit('bye')\n", "sys.exit('bye')"),
    "crashes": ("import os\ndef topology():\n    os._exit(9)\n", "exit code 9"),
    "prints": ("def topology():\n    print('noise on stdout')\n    return []\n", "mapping"),
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_hostile_scripts_give_one_line(name: str, tmp_path: Path, monkeypatch, capfd) -> None:
    source, words = SCRIPTS[name]
    monkeypatch.setattr("lab.topology.SCRIPT_SECONDS", 2.0)
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    started = time.monotonic()
    _refused(path, words)
    assert time.monotonic() - started < 30  # a hanging script was stopped (generous: not a timing test)
    assert "noise" not in capfd.readouterr().out  # a script's prints never reach stdout (plan --json)
