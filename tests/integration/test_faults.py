"""The checker's failure side: every fault of the catalogue, injected behind the lab's back, fails exactly
the check rows it must (and at most its declared collateral), and after `fault undo` every row passes again.

One lab per model (the shipped topologies under their own names), built once for the module, a
tunnel lab on the Linux VXLAN datapath for the faults only that datapath has, and the NetworkPolicy
lab (topologies/netpol.yaml) for the faults only a lab with policies has.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import cli, shipped_lab

from lab.plan import make_plan
from lab.render import faults as catalogue
from lab.spec import build_spec

ROOT = Path(__file__).resolve().parents[2]
LABS = {  # lab -> (name, model, changes to the shipped topology)
    "tunnel": ("fltun", "tunnel", {}),
    "vpc": ("flvpc", "vpc", {}),
    "linux-vxlan": ("fltunvx", "tunnel", {"datapath": "linux-vxlan"}),
    "netpol": ("nptun", "netpol", {}),  # topologies/netpol.yaml: the NetworkPolicy faults
}


def _applicable(lab: str) -> list[str]:
    _, model, changes = LABS[lab]
    data = yaml.safe_load((ROOT / f"topologies/{model}.yaml").read_text()) | changes
    return catalogue.applicable(make_plan(build_spec(data), ovs_kernel_available=False))  # here: ovs-userspace


def _faults(lab: str) -> list[str]:
    if lab in ("linux-vxlan", "netpol"):  # only what the OVS tunnel lab does not already cover
        return [f for f in _applicable(lab) if f not in _applicable("tunnel")]
    return _applicable(lab)


@pytest.fixture(scope="module", params=sorted(LABS))
def running(request, tmp_path_factory):
    name, model, changes = LABS[request.param]
    with shipped_lab(tmp_path_factory, name, model, **changes):
        yield request.param, name


def _check(name: str) -> dict[str, dict]:
    res = cli("check", name, "--json", timeout=300)
    assert res.returncode in (0, 1), res.stderr
    return {r["scenario"]: r for r in json.loads(res.stdout)["results"]}


def _matching(rows: dict[str, dict], patterns: tuple[str, ...]) -> set[str]:
    return {s for s in rows if catalogue.matches(s, patterns)}


@pytest.mark.parametrize("fault", sorted(catalogue.BUILDERS))
def test_each_fault_fails_its_rows_and_undo_heals(running, fault: str) -> None:
    model, name = running
    if fault not in _faults(model):
        pytest.skip(f"{fault} does not apply to the {model} model here")
    from lab.observe.status import load_plan

    plan = load_plan(name)
    spec = catalogue.fault(plan, fault, Path("/unused"))
    cli("fault", "inject", fault, "--lab", name, check=True)
    try:
        broken = _check(name)
    finally:
        cli("fault", "undo", fault, "--lab", name, check=True)
    failed = {s for s, r in broken.items() if not r["ok"]}
    must = _matching(broken, spec.fails)
    for pattern in spec.fails:
        assert _matching(broken, (pattern,)), f"{fault}: no check row matches {pattern!r}"
    assert must <= failed, f"{fault}: rows that should fail but passed: {sorted(must - failed)}"
    allowed = must | _matching(broken, spec.collateral)
    unexpected = {s: broken[s]["detail"] for s in sorted(failed - allowed)}
    assert not unexpected, f"{fault}: rows that failed unexpectedly: {unexpected}"
    healed = _check(name)
    unhealed = {s: r["detail"] for s, r in healed.items() if not r["ok"]}
    assert not unhealed, f"{fault}: rows still failing after undo: {unhealed}"
