"""CCE's rules for NetworkPolicy, per network model, and the labels and namespaces policies select by.

What CCE documents ("Configuring Network Policies to Restrict Pod Access",
cce_10_0059, https://support.huaweicloud.com/intl/en-us/usermanual-cce/cce_10_0059.html):

- tunnel network: enabled by default, enforced in Open vSwitch; ingress rules on
  every cluster version, selecting sources by namespaceSelector and podSelector
  (ipBlock only in egress rules); egress rules from v1.23; no SCTP, no endPort;
  a node always reaches the pods on itself.
- VPC network: disabled by default; only with DataPlane V2 (eBPF) switched on
  when the cluster is created, and from v1.27.16-r30 / v1.28.15-r20 / v1.29.13-r0 /
  v1.30.10-r0 / v1.31.6-r0. The lab models neither DataPlane V2 nor cluster
  versions, so a VPC lab refuses policies, as a default CCE VPC cluster does.

The lab implements ingress rules (the part CCE supports on every version);
egress rules are refused with that reason.
"""

from __future__ import annotations

from lab.errors import SpecError
from lab.spec.model import Spec

CCE_DOC = "CCE cce_10_0059"


def namespaces(spec: Spec) -> dict[str, dict[str, str]]:
    """Every namespace of the lab and its labels: default, the listed ones, those workloads name."""
    known = {"default": {}} | {n.name: dict(n.labels) for n in spec.namespaces}
    for w in spec.workloads:
        known.setdefault(w.namespace, {})
    return {name: {**labels, "kubernetes.io/metadata.name": name} for name, labels in known.items()}


def check_network_policies(spec: Spec) -> None:
    """Labels, namespaces and policies are consistent, and each policy is one CCE enforces on this model."""
    for i, w in enumerate(spec.workloads):
        if "app" in w.labels:
            raise SpecError(f"workloads[{i}].labels", "app is set from the workload's name (app=<name>): leave it out")
    listed: set[str] = set()
    for i, ns in enumerate(spec.namespaces):
        if ns.name in listed:
            raise SpecError(f"namespaces[{i}].name", f"namespace {ns.name!r} is listed twice")
        listed.add(ns.name)
    if not spec.network_policies:
        return
    if spec.model == "vpc":
        raise SpecError(
            "network_policies",
            "CCE's VPC network enforces NetworkPolicy only with DataPlane V2 (eBPF, chosen at cluster creation, "
            f"v1.27.16-r30 and later), which cce-lab does not model: use model: tunnel ({CCE_DOC})",
        )
    if spec.datapath == "linux-vxlan":
        raise SpecError(
            "network_policies",
            f"CCE's tunnel network enforces NetworkPolicy in Open vSwitch ({CCE_DOC}); datapath linux-vxlan has "
            "no OVS: use datapath auto, ovs-userspace or ovs-kernel",
        )
    known = namespaces(spec)
    seen: set[tuple[str, str]] = set()
    for i, pol in enumerate(spec.network_policies):
        where = f"network_policies[{i}]"
        if (pol.namespace, pol.name) in seen:
            raise SpecError(f"{where}.name", f"NetworkPolicy {pol.namespace}/{pol.name} is defined twice")
        seen.add((pol.namespace, pol.name))
        if pol.namespace not in known:
            raise SpecError(f"{where}.namespace", f"{pol.namespace!r} is no namespace here (list it under namespaces:)")
        if "Egress" in pol.policy_types or pol.egress is not None:
            field = f"{where}.policyTypes" if "Egress" in pol.policy_types else f"{where}.egress"
            raise SpecError(
                field,
                f"cce-lab enforces ingress rules only (CCE's tunnel network has egress rules from v1.23, {CCE_DOC}, "
                "not modelled here): drop Egress",
            )
        if "Ingress" not in pol.policy_types:
            raise SpecError(f"{where}.policyTypes", "must contain Ingress (the only type cce-lab enforces)")
        for j, rule in enumerate(pol.ingress):
            for k, peer in enumerate(rule.from_):
                at = f"{where}.ingress[{j}].from[{k}]"
                if peer.ip_block is not None:
                    raise SpecError(
                        f"{at}.ipBlock",
                        "CCE's tunnel network selects ingress sources by podSelector and namespaceSelector only "
                        f"(ipBlock is for egress rules, {CCE_DOC})",
                    )
                if peer.pod_selector is None and peer.namespace_selector is None:
                    raise SpecError(at, "give podSelector or namespaceSelector (an empty entry selects nothing)")
            for k, port in enumerate(rule.ports):
                if port.protocol == "SCTP":
                    raise SpecError(
                        f"{where}.ingress[{j}].ports[{k}].protocol",
                        f"CCE's tunnel network does not support SCTP in NetworkPolicy ({CCE_DOC}): use TCP or UDP",
                    )
