"""Every exercise, end to end as a trainee and a trainer drive it: start (the break is graded as failing, and
named), solve (graded as solved, `cce-lab check` all green), reset (failing again), stop (nothing left)."""

from __future__ import annotations

import json

import pytest
from conftest import cli

from lab.render import faults
from lab.training import catalogue

EXERCISES = catalogue.all_exercises()
LAB = {"tunnel": "extun", "vpc": "exvpc"}


@pytest.fixture(autouse=True)
def record(tmp_path, monkeypatch):
    """A trainee record of the test's own (the CLI subprocesses inherit the variable)."""
    path = tmp_path / "record.jsonl"
    monkeypatch.setenv("CCE_LAB_TRAINING_RECORD", str(path))
    return path


def _grade(lab: str) -> tuple[int, dict]:
    res = cli("exercise", "check", "--lab", lab, "--json", timeout=300)
    assert res.returncode in (0, 1), res.stderr
    return res.returncode, json.loads(res.stdout)


def _failed(grade: dict) -> list[str]:
    return [i["what"] for i in grade["items"] if not i["ok"]]


@pytest.mark.parametrize("ex_id", sorted(EXERCISES))
def test_exercise_start_fails_solve_passes_reset_fails_stop_leaves_nothing(ex_id: str, record) -> None:
    ex = EXERCISES[ex_id]
    model = ex.models[0]
    lab = LAB[model]
    cli("exercise", "start", ex_id, "--model", model, "--lab", lab, check=True, timeout=300)
    try:
        status = json.loads(cli("exercise", "status", "--json", "--lab", lab, check=True).stdout)
        assert (status["exercise"], status["state"], status["model"]) == (ex_id, "attempted", model)

        rc, grade = _grade(lab)
        assert rc == 1 and not grade["solved"]
        if ex.kind == "break-fix":  # what is wrong is named: the rows the fault must fail
            must = faults.fault(_plan(lab), ex.fault, _rundir(lab)).fails
            failing = [i["what"].removeprefix("check: ") for i in grade["items"] if not i["ok"]]
            for pattern in must:
                assert any(faults.matches(s, (pattern,)) for s in failing), (pattern, failing)
        else:
            assert _failed(grade) == [f"answer: {ex.question}"]

        cli("exercise", "solve", "--lab", lab, check=True, timeout=120)
        rc, grade = _grade(lab)
        assert rc == 0 and grade["solved"], _failed(grade)
        healthy = json.loads(cli("check", lab, "--json", timeout=300).stdout)
        unhealthy = {r["scenario"]: r["detail"] for r in healthy["results"] if not r["ok"]}
        assert not unhealthy, f"{ex_id}: rows failing after the reference solution: {unhealthy}"
        assert json.loads(cli("status", lab, "--json", check=True).stdout)["state"] == "up"

        cli("exercise", "reset", "--lab", lab, check=True, timeout=300)
        rc, grade = _grade(lab)
        assert rc == 1 and not grade["solved"]
    finally:
        res = cli("exercise", "stop", "--lab", lab, timeout=120)
    assert res.returncode == 0, res.stderr
    assert cli("status", lab).returncode != 0  # the lab is gone (the fixture checks the root namespace)
    report = cli("exercise", "report", "--format", "csv", check=True).stdout
    row = next(ln for ln in report.splitlines() if f",{ex_id}," in ln)
    assert ",solved by the reference solution," in row and ",true," in row  # the record says who solved it


def _plan(lab: str):
    from lab.observe.status import load_plan

    return load_plan(lab)


def _rundir(lab: str):
    from lab.kernel.journal import lab_dir

    return lab_dir(lab) / "ovs"


def test_a_trainee_answers_and_takes_hints(record) -> None:
    lab = LAB["vpc"]
    cli("exercise", "start", "explore-vpc-routes", "--lab", lab, check=True, timeout=300)
    try:
        hints = [cli("exercise", "hint", "--lab", lab, check=True).stdout for _ in range(4)]
        assert "Hint 1 of 3" in hints[0] and "Hint 3 of 3" in hints[2] and "No more hints" in hints[3]
        wrong = cli("exercise", "answer", "explore-vpc-routes", "one big route", "--lab", lab)
        assert wrong.returncode == 1 and "Not that" in wrong.stdout
        right = cli("exercise", "answer", "explore-vpc-routes", "40, one per node", "--lab", lab)
        assert right.returncode == 0, right.stdout
        assert _grade(lab)[0] == 0
        status = json.loads(cli("exercise", "status", "--json", "--lab", lab, check=True).stdout)
        assert (status["state"], status["hints_used"], status["solution_applied"]) == ("solved", 3, False)
        long = cli("exercise", "answer", "explore-vpc-routes", "x" * 100_000, "--lab", lab)
        assert long.returncode == 2 and len(long.stderr) < 200
    finally:
        cli("exercise", "stop", "--lab", lab, timeout=120)


def test_the_kube_sep_answer_is_the_chain_the_request_took(record) -> None:
    lab = LAB["vpc"]
    cli("exercise", "start", "explore-kube-sep", "--lab", lab, check=True, timeout=300)
    try:
        trace = cli("explain", "web-sticky", "--lab", lab, "--from", "pod-1-1", check=True).stdout
        chains = sorted({w for w in trace.split() if w.startswith("KUBE-SEP-")})
        assert len(chains) == 1, trace  # the request took one endpoint's chain
        others = [c for c in _sep_chains(lab) if c != chains[0]]
        assert cli("exercise", "answer", "explore-kube-sep", others[0], "--lab", lab).returncode == 1
        assert cli("exercise", "answer", "explore-kube-sep", chains[0], "--lab", lab).returncode == 0
    finally:
        cli("exercise", "stop", "--lab", lab, timeout=120)


def _sep_chains(lab: str) -> list[str]:
    from lab.render import kubeproxy

    svc = _plan(lab).service("web-sticky")
    return [kubeproxy.sep_chain(svc, e) for e in svc.endpoints]
