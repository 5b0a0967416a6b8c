"""The exercise catalogue's data, the trainee's record and the report: pure parts of the training engine."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from lab.errors import UsageError
from lab.plan import make_plan
from lab.render import faults
from lab.spec import build_spec
from lab.training import catalogue, record
from lab.training.grading import LabView, is_right, reference_answer

ROOT = Path(__file__).resolve().parents[2]
EXERCISES = catalogue.all_exercises()
REQUIRED_FAULTS = {  # what the catalogue must cover
    "missing-vpc-route", "mtu-blackhole", "vxlan-port-removed", "kubeproxy-flushed", "sg-no-containers",
    "snat-missing", "eip-unbound", "elb-local-wrong-node", "dnat-wrong-node", "underlay-down", "rp-filter",
}  # fmt: skip


def _plan(model: str, datapath: str = "", topology: str = ""):
    """The shipped topology's plan as `exercise start` builds it here (no OVS module: ovs-userspace)."""
    data = yaml.safe_load((ROOT / f"topologies/{topology or model}.yaml").read_text())
    data |= {"datapath": datapath} if datapath else {}
    return make_plan(build_spec(data), ovs_kernel_available=False)


def test_there_are_at_least_twelve_exercises_over_both_models() -> None:
    assert len(EXERCISES) >= 12
    assert {m for ex in EXERCISES.values() for m in ex.models} == {"tunnel", "vpc"}
    assert {ex.fault for ex in EXERCISES.values()} >= REQUIRED_FAULTS
    assert sum(ex.kind == "exploration" for ex in EXERCISES.values()) >= 3


@pytest.mark.parametrize("ex_id", sorted(EXERCISES))
def test_every_exercise_is_complete(ex_id: str) -> None:
    ex = EXERCISES[ex_id]
    assert ex.briefing.lstrip().startswith("#") and len(ex.briefing) > 100
    assert len(ex.solution) > 50
    assert 2 <= len(ex.hints) <= 4
    assert "DESIGN.md" in ex.learned  # what you learned cites the CCE behaviour
    if ex.kind == "break-fix":
        for model in ex.models:
            plan = _plan(model, ex.datapath, ex.topology)
            assert plan.model == model
            assert ex.fault in faults.applicable(plan), f"{ex.fault} does not apply to {model}"
            fault = faults.fault(plan, ex.fault, Path("/run/x"))
            assert fault.fails and fault.inject and fault.undo
    else:
        assert ex.question.endswith("?")


@pytest.mark.parametrize("ex_id", sorted(e for e, x in EXERCISES.items() if x.kind == "exploration"))
def test_exploration_references_are_right_and_guesses_are_not(ex_id: str) -> None:
    ex = EXERCISES[ex_id]
    for model in ex.models:
        lab = LabView(_plan(model))
        if ex.hook("answer") and "taken" in dir(catalogue._hooks(ex.folder / "hooks.py")):
            continue  # the answer depends on a request sent in the running lab (integration test)
        assert is_right(ex, lab, reference_answer(ex, lab)), (model, reference_answer(ex, lab))
        assert not is_right(ex, lab, "1234")
        assert not is_right(ex, lab, "I do not know")


def test_pod_mtu_needs_the_reason_too() -> None:
    ex = EXERCISES["explore-pod-mtu"]
    tunnel = LabView(_plan("tunnel"))
    assert is_right(ex, tunnel, "1450, because VXLAN adds 50 bytes")
    assert not is_right(ex, tunnel, "1450")
    assert not is_right(ex, tunnel, "1500 because of vxlan")


def _write(tmp_path: Path, name: str, **files: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for file, text in files.items():
        (folder / file).write_text(text)
    return folder


GOOD = (
    "title: A broken thing\nkind: break-fix\nmodels: [vpc]\nfault: dead-pod\n"
    "hints: ['look at the pods first', 'then look at eth0 of each']\n"
    "learned: 'a pod without its link is gone (DESIGN.md)'\n"
)


@pytest.mark.parametrize(
    ("yaml_text", "files", "message"),
    [
        (GOOD.replace("dead-pod", "no-such"), {}, "fault: 'no-such' is not in the catalogue"),
        (GOOD.replace("models: [vpc]", "models: [mesh]"), {}, "models.0: Input should be 'tunnel' or 'vpc'"),
        (GOOD.replace("hints: ['look at the pods first', 'then look at eth0 of each']", "hints: ['x']"), {}, "hints"),
        (GOOD + "colour: red\n", {}, "colour: Extra inputs are not permitted"),
        (GOOD, {"briefing.md": None}, "briefing.md is missing"),
        (GOOD + "verify: {hooks: [nothere]}\n", {}, "verify.hooks: nothere is not a function of hooks.py"),
        ("kind: [\n", {}, "exercise.yaml: unreadable"),
    ],
)
def test_a_bad_exercise_folder_gets_one_line(tmp_path, yaml_text, files, message) -> None:
    texts = {"exercise.yaml": yaml_text, "briefing.md": "# b\n", "solution.md": "s\n"}
    texts.update({k: v for k, v in files.items() if v is not None})
    for k in [k for k, v in files.items() if v is None]:
        texts.pop(k)
    folder = _write(tmp_path, "my-ex", **texts)
    with pytest.raises(UsageError) as exc:
        catalogue.load(folder)
    text = str(exc.value)
    assert message in text and "\n" not in text and text.startswith("my-ex")


def test_a_trainer_adds_an_exercise_by_writing_a_folder(tmp_path, monkeypatch) -> None:
    _write(tmp_path, "my-ex", **{"exercise.yaml": GOOD, "briefing.md": "# b\n", "solution.md": "s\n"})
    monkeypatch.setenv(catalogue.EXTRA_ENV, str(tmp_path))
    assert catalogue.get("my-ex").fault == "dead-pod"
    with pytest.raises(UsageError, match="no such exercise"):
        catalogue.get("x" * 5000)


def _events(*spec: tuple[str, int, dict]) -> list[record.Event]:
    t0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    return [
        record.Event(at=t0 + timedelta(seconds=s), trainee="ana", exercise="ex", event=kind, **extra)
        for kind, s, extra in spec
    ]


def test_the_record_counts_attempts_hints_and_time_to_solve() -> None:
    history = _events(
        ("start", 0, {}), ("check", 30, {"ok": False}), ("hint", 40, {"hint": 1}), ("hint", 50, {"hint": 2}),
        ("check", 90, {"ok": True}), ("check", 100, {"ok": True}),
    )  # fmt: skip
    state = record.summarise(history, "ex", "ana")
    assert (state.state, state.attempts, state.hints_used, state.seconds_to_solve) == ("solved", 3, 2, 90.0)
    assert not state.solution_applied


def test_a_reference_solution_stays_on_the_record() -> None:
    history = _events(("start", 0, {}), ("solve", 5, {}), ("check", 9, {"ok": True}), ("reset", 20, {}))
    state = record.summarise(history, "ex", "ana")
    assert state.state == "solved by the reference solution" and state.solution_applied and state.resets == 1


def test_hints_count_from_the_last_start() -> None:
    history = _events(("start", 0, {}), ("hint", 1, {"hint": 1}), ("hint", 2, {"hint": 2}), ("start", 3, {}))
    assert record.hints_used(history, "ex", "ana") == 0
    assert record.summarise(history, "ex", "ana").hints_used == 2


def test_the_report_has_every_exercise_for_every_trainee(golden) -> None:
    from lab.report import training

    history = _events(("start", 0, {}), ("check", 61, {"ok": True}))
    history.append(record.Event(at=history[0].at, trainee="bo", exercise="other", event="start"))
    report = record.report(history, ["ex", "other"])
    assert [(r.trainee, r.exercise, r.state) for r in report.rows] == [
        ("ana", "ex", "solved"),
        ("ana", "other", "not started"),
        ("bo", "ex", "not started"),
        ("bo", "other", "attempted"),
    ]
    golden("training/report.csv", training.report_csv(report))
    golden("training/report.md", training.report_markdown(report))
    assert re.search(r"^ana,ex,solved,1,0,0,false,61.0$", training.report_csv(report), re.M)


def test_the_record_survives_a_line_cut_short(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(record.RECORD_ENV, str(tmp_path / "r.jsonl"))
    record.add("ex", "start", who="ana")
    with (tmp_path / "r.jsonl").open("a") as f:
        f.write('{"at": "2026-')
    record.add("ex", "hint", who="ana", hint=1)
    assert [e.event for e in record.events()] == ["start", "hint"]
