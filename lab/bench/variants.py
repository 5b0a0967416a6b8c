"""Which datapaths `compare` measures a topology on (pure): where the OVS kernel module is missing, two.

CCE runs Open vSwitch's kernel datapath. Where its module is missing (this
machine, most containers and CI runners), `datapath: auto` means ovs-userspace:
the same OpenFlow rules, but one ovs-vswitchd thread per node copying every
packet, whose cost is not the tunnel model's. So a tunnel topology that leaves
its datapath to `auto` is measured there on both ovs-userspace (fidelity) and
linux-vxlan (the kernel VXLAN encapsulation, `vxlan_sys_4789`, that the OVS
kernel datapath uses too), the second under the lab's name with VX_SUFFIX. A
topology that pins `datapath:` is measured on that alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.errors import SpecError
from lab.plan.model import Plan
from lab.spec import Spec, build_spec

VX_SUFFIX = "-vx"  # the result name of a lab's linux-vxlan measurement


@dataclass(frozen=True)
class Run:
    """One lab `compare` brings up and measures; `result` names its LabResult (the lab's name, or suffixed)."""

    plan: Plan
    result: str


def specs_to_measure(spec: Spec, ovs_kernel_available: bool) -> tuple[list[tuple[Spec, str]], str]:
    """(spec, result name) for each datapath to measure the topology on, and a note when one is left out."""
    if spec.model != "tunnel" or spec.datapath != "auto" or ovs_kernel_available:
        return [(spec, spec.name)], ""
    userspace = build_spec(spec.model_copy(update={"datapath": "ovs-userspace"}))
    try:
        kernel_vxlan = build_spec(spec.model_copy(update={"datapath": "linux-vxlan"}))
    except SpecError as exc:  # NetworkPolicies need OVS
        return [(userspace, spec.name)], f"{spec.name}: not measured on linux-vxlan too: {exc}"
    return [(userspace, spec.name), (kernel_vxlan, spec.name + VX_SUFFIX)], ""
