"""One lab over the hosts of an Ansible inventory: inventory parsing, placement, MTU accounting, plan slices.

Golden files: tests/golden/spread/<topology>-<inventory>.json holds the Spread
document `plan --inventory --json` prints and every host's plan slice, for the
shipped topologies on a 2-host (YAML) and a 3-host (INI) inventory;
tests/golden/inventory-errors/*.txt the one line each bad inventory gets.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lab import documents, inventory
from lab.cli import main
from lab.errors import LabError, SpecError
from lab.plan import make_plan, spread
from lab.plan.model import Spread
from lab.spec import build_spec
from lab.spec.inventory import build_inventory
from lab.topology import load

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
INVENTORIES = {"two": GOLDEN / "inventories" / "two.yml", "three": GOLDEN / "inventories" / "three.ini"}
BAD = sorted(p for p in (GOLDEN / "inventory-errors").iterdir() if p.suffix != ".txt")


def _hosts(*mtus: int) -> inventory.Inventory:
    return build_inventory(
        "test", [(f"h{i}", {"ansible_host": f"192.0.2.{i + 1}", "cce_lab_link_mtu": m}) for i, m in enumerate(mtus)]
    )


def _spread(topology: str, hosts: inventory.Inventory, how: str = "block"):
    spec, note = spread.fit_mtu(load(ROOT / "topologies" / topology), hosts)
    placed = spread.place(spec, hosts, how, dict(spec.placement))
    plan = make_plan(spec, ovs_kernel_available=False)
    return plan, spread.spread(plan, hosts, placed, how, note)


@pytest.mark.parametrize("inv", sorted(INVENTORIES))
@pytest.mark.parametrize("topology", ["tunnel.yaml", "vpc.yaml"])
def test_golden_spread_and_slices(topology: str, inv: str, golden) -> None:
    plan, doc = _spread(topology, inventory.load(INVENTORIES[inv]))
    slices = [documents.dump(spread.slice_for(plan, doc, h.host)) for h in doc.hosts]
    golden(
        f"spread/{Path(topology).stem}-{inv}.json",
        json.dumps({"spread": documents.dump(doc), "slices": slices}, indent=2) + "\n",
    )
    assert documents.load(Spread, documents.dump(doc)) == doc
    # every namespace of the plan is built on exactly one host, and every host bridge is its own
    built = [ns for s in slices for ns in s["netns"] if not ns.endswith("-underlay")]
    assert sorted(built) == sorted(plan.netns_names())


def test_inventories_parse_as_ansible_reads_them() -> None:
    two = inventory.load(INVENTORIES["two"])
    assert [(h.name, h.address, h.connection, h.shared, h.link_mtu) for h in two.hosts] == [
        ("controller", "192.0.2.10", "local", True, 1500),
        ("worker", "192.0.2.11", "ssh", False, 1500),
    ]
    three = inventory.load(INVENTORIES["three"])  # INI: group vars, a string "true"
    assert [h.link_mtu for h in three.hosts] == [9000] * 3
    assert three.shared.name == "hv2"


def test_group_vars_beside_the_inventory_count(tmp_path: Path) -> None:
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_text("cce_lab_link_mtu: 1600\n")
    (tmp_path / "hosts.yml").write_text("all:\n  hosts:\n    a: {ansible_host: 192.0.2.1}\n")
    assert inventory.load(tmp_path / "hosts.yml").hosts[0].link_mtu == 1600


def test_an_executable_is_never_run_as_a_dynamic_inventory(tmp_path: Path) -> None:
    witness = tmp_path / "ran"
    script = tmp_path / "hosts"
    script.write_text(f'#!/bin/sh\ntouch {witness}\necho \'{{"all": {{"hosts": ["192.0.2.1"]}}}}\'\n')
    script.chmod(0o755)
    with pytest.raises(SpecError, match="not a YAML or INI Ansible inventory"):
        inventory.load(script)
    assert not witness.exists()


def test_bad_inventory_corpus_is_there() -> None:
    assert len(BAD) >= 10
    assert {p.stem for p in BAD} == {p.stem for p in (GOLDEN / "inventory-errors").glob("*.txt")}


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_inventory(path: Path, golden) -> None:
    with pytest.raises(LabError) as info:
        inventory.load(path)
    line = f"error: {info.value}".replace(str(path), "FILE")
    assert "\n" not in line and len(line) <= 400
    golden(f"inventory-errors/{path.stem}.txt", line + "\n")


def test_mtu_lowered_and_said_or_kept() -> None:
    spec = load(ROOT / "topologies" / "tunnel.yaml")
    lowered, note = spread.fit_mtu(spec, _hosts(1500, 9000))
    assert lowered.mtu == 1450 and make_plan(lowered).pod_mtu == 1400
    assert "lowered from 1500 to 1450" in note and "tunnel pods get 1400" in note and "at least 1550" in note
    kept, note = spread.fit_mtu(spec, _hosts(1550, 9000))
    assert kept.mtu == 1500 and "fit" in note
    alone, _ = spread.fit_mtu(spec, _hosts(1500))
    assert alone.mtu == 1500  # one host: no host tunnel
    with pytest.raises(SpecError, match="link leaves 1230 B inside the host tunnel, under 1280"):
        spread.fit_mtu(spec, _hosts(1280, 1500))


def test_block_round_robin_and_pinned() -> None:
    spec = build_spec({"name": "p", "model": "vpc", "nodes": 5, "placement": {"node-5": "h0"}})
    hosts = _hosts(9000, 9000)
    assert spread.place(spec, hosts, "block", {}) == {
        "node-1": "h0",
        "node-2": "h0",
        "node-3": "h0",
        "node-4": "h1",
        "node-5": "h1",
    }
    assert spread.place(spec, hosts, "round-robin", {})["node-2"] == "h1"
    pinned = spread.place(spec, hosts, "block", dict(spec.placement))
    assert pinned["node-5"] == "h0" and list(pinned.values()).count("h0") == 3


@pytest.mark.parametrize(
    ("nodes", "pinned", "how", "message"),
    [
        (1, {}, "block", "placement: host h1 would hold no node (1 nodes over 2 hosts)"),
        (3, {"node-4": "h0"}, "block", "placement: node-4: is not a node of this lab (node-1 to node-3)"),
        (3, {"node-1": "h9"}, "block", "placement: node-1: host h9 is not in the inventory"),
        (3, {}, "spiral", "placement: 'spiral' is not one of block, round-robin"),
    ],
)
def test_placement_refusals(nodes: int, pinned: dict, how: str, message: str) -> None:
    spec = build_spec({"name": "p", "model": "vpc", "nodes": nodes})
    with pytest.raises(SpecError) as info:
        spread.place(spec, _hosts(9000, 9000), how, pinned)
    assert str(info.value).startswith(message)


@given(nodes=st.integers(1, 60), hosts=st.integers(1, 8), robin=st.booleans())
def test_every_node_on_one_host_and_the_hosts_even(nodes: int, hosts: int, robin: bool) -> None:
    spec = build_spec({"name": "p", "model": "vpc", "nodes": nodes})
    inv = _hosts(*[9000] * hosts)
    if nodes < hosts:  # every host but the shared one needs a node, and the shared host is filled first
        with pytest.raises(SpecError):
            spread.place(spec, inv, "round-robin" if robin else "block", {})
        return
    placed = spread.place(spec, inv, "round-robin" if robin else "block", {})
    assert sorted(placed) == sorted(f"node-{i + 1}" for i in range(nodes))
    counts = [list(placed.values()).count(h.name) for h in inv.hosts]
    assert max(counts) - min(counts) <= 1


def test_plan_cli_refuses_placement_without_inventory(tmp_path: Path, capsys) -> None:
    topo = tmp_path / "p.yaml"
    topo.write_text("name: p\nmodel: vpc\nplacement: {node-1: a}\n")
    assert main(["plan", str(topo)]) == 2
    assert capsys.readouterr().err == "error: placement: places nodes on inventory hosts: give --inventory\n"


def test_plan_cli_shows_the_split(capsys) -> None:
    topo, inv = str(ROOT / "topologies" / "tunnel.yaml"), str(INVENTORIES["two"])
    assert main(["plan", topo, "--inventory", inv, "--datapath", "linux-vxlan"]) == 0
    shown = capsys.readouterr().out
    assert "controller" in shown and "worker" in shown and "lowered from 1500 to 1450" in shown


def test_auto_datapath_is_named_before_a_tunnel_lab_spreads(capsys) -> None:
    args = ["plan", str(ROOT / "topologies" / "tunnel.yaml"), "--inventory", str(INVENTORIES["two"])]
    assert main(args) == 2
    assert "datapath: auto could differ between hosts" in capsys.readouterr().err
    assert main([*args, "--datapath", "linux-vxlan", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["underlay_mtu"] == 1450


def test_here_of_a_slice() -> None:
    plan, doc = _spread("vpc.yaml", inventory.load(INVENTORIES["two"]))
    shared, other = (spread.here_of(plan, spread.slice_for(plan, doc, h.host)) for h in doc.hosts)
    assert shared.shared and shared.bridge_netns == plan.router.netns
    assert not other.shared and other.bridge_netns == "vpc-underlay" and [n.name for n in other.nodes] == ["node-3"]
    assert spread.everything(plan).netns == frozenset(plan.netns_names())


def test_move_and_scale_refuse_a_lab_spread_over_hosts(tmp_path: Path, monkeypatch) -> None:
    from lab.apply import moves
    from lab.kernel import journal

    monkeypatch.setattr(journal, "STATE_ROOT", tmp_path)
    plan, doc = _spread("vpc.yaml", inventory.load(INVENTORIES["two"]))
    journal.Journal("vpc").dir.mkdir()
    assert moves._locked("vpc")[0].dir.name == "vpc"  # one host: fine
    journal.Journal("vpc").save(journal.PART_FILE, documents.dump(spread.slice_for(plan, doc, "worker")))
    with pytest.raises(LabError, match="spread over several hosts: move and scale work on a one-host lab only"):
        moves._locked("vpc")
