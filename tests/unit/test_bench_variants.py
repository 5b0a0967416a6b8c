"""Which datapaths `compare` measures a topology on (lab.bench.variants): two where the OVS module is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab import topology
from lab.bench.variants import VX_SUFFIX, specs_to_measure
from lab.spec import build_spec

ROOT = Path(__file__).resolve().parents[2]


def _measured(data: dict, ovs_kernel: bool) -> list[tuple[str, str]]:
    measured, note = specs_to_measure(build_spec(data), ovs_kernel)
    assert note == ""
    return [(name, spec.datapath) for spec, name in measured]


def test_auto_without_the_ovs_module_is_measured_on_userspace_ovs_and_kernel_vxlan() -> None:
    assert _measured({"name": "tun", "model": "tunnel"}, ovs_kernel=False) == [
        ("tun", "ovs-userspace"),
        (f"tun{VX_SUFFIX}", "linux-vxlan"),
    ]


@pytest.mark.parametrize(
    ("data", "ovs_kernel", "expected"),
    [
        ({"name": "tun", "model": "tunnel"}, True, [("tun", "auto")]),  # up resolves it to ovs-kernel
        ({"name": "tun", "model": "tunnel", "datapath": "ovs-userspace"}, False, [("tun", "ovs-userspace")]),
        ({"name": "tun", "model": "tunnel", "datapath": "linux-vxlan"}, False, [("tun", "linux-vxlan")]),
        ({"name": "vpc", "model": "vpc"}, False, [("vpc", "auto")]),
    ],
)
def test_a_pinned_datapath_a_vpc_lab_or_a_host_with_the_module_is_measured_once(
    data: dict, ovs_kernel: bool, expected: list[tuple[str, str]]
) -> None:
    assert _measured(data, ovs_kernel) == expected


def test_network_policies_keep_a_lab_on_ovs_and_say_why() -> None:
    spec = topology.load(ROOT / "topologies" / "netpol.yaml")
    measured, note = specs_to_measure(spec, ovs_kernel_available=False)
    assert [(name, s.datapath) for s, name in measured] == [(spec.name, "ovs-userspace")]
    assert note.startswith(f"{spec.name}: not measured on linux-vxlan too: network_policies:")
