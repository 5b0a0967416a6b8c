"""kube-proxy, iptables mode: the rules a real node holds, as one iptables-restore batch.

Chain names, comments and rule order follow kube-proxy's iptables proxier, so
`iptables-save` inside a lab node reads like a CCE node: KUBE-SERVICES ->
KUBE-SVC-<hash> (one `statistic --mode random` rule per endpoint, 1/n, 1/(n-1),
..., the last unconditional) -> KUBE-SEP-<hash> (hairpin KUBE-MARK-MASQ, then
DNAT), KUBE-NODEPORTS reached by the last rule of KUBE-SERVICES, KUBE-EXT-* for
external traffic, KUBE-SVL-* for `externalTrafficPolicy: Local`, `recent` for
ClientIP affinity, KUBE-MARK-MASQ / KUBE-POSTROUTING masquerading mark 0x4000.
Pure: text in, text out.
"""

from __future__ import annotations

import base64
import hashlib

from lab.plan.model import Endpoint, ServicePlan

MASQ_MARK = "0x4000"
AFFINITY_SECONDS = 10800  # kube-proxy's default sessionAffinityConfig timeout


def chain_suffix(*parts: str) -> str:
    """kube-proxy's chain suffix: base32 of sha256, first 16 characters."""
    digest = hashlib.sha256("".join(parts).encode()).digest()
    return base64.b32encode(digest).decode()[:16]


def _port_name(svc: ServicePlan) -> str:
    return f"default/{svc.name}"


def svc_chain(svc: ServicePlan) -> str:
    return "KUBE-SVC-" + chain_suffix(_port_name(svc), svc.protocol.lower())


def ext_chain(svc: ServicePlan) -> str:
    return "KUBE-EXT-" + chain_suffix(_port_name(svc), svc.protocol.lower())


def svl_chain(svc: ServicePlan) -> str:
    return "KUBE-SVL-" + chain_suffix(_port_name(svc), svc.protocol.lower())


def sep_chain(svc: ServicePlan, ep: Endpoint) -> str:
    return "KUBE-SEP-" + chain_suffix(_port_name(svc), svc.protocol.lower(), f"{ep.ip}:{ep.port}")


def probability(i: int, n: int) -> str:
    """The `statistic` match for the i-th of n choices (none for the last): 1/n, 1/(n-1), ..."""
    return f" -m statistic --mode random --probability {1 / (n - i):0.10f}" if i < n - 1 else ""


def _spread(svc: ServicePlan, chain: str, endpoints: list[Endpoint]) -> list[str]:
    """One jump per endpoint: probability 1/n, 1/(n-1), ..., the last one unconditional."""
    rules = []
    if svc.session_affinity == "ClientIP":
        for ep in endpoints:
            sep = sep_chain(svc, ep)
            rules.append(
                f'-A {chain} -m comment --comment "{_port_name(svc)} -> {ep.ip}:{ep.port}" -m recent --name {sep} '
                f"--mask 255.255.255.255 --rsource --rcheck --seconds {AFFINITY_SECONDS} --reap -j {sep}"
            )
    n = len(endpoints)
    for i, ep in enumerate(endpoints):
        comment = f'-m comment --comment "{_port_name(svc)} -> {ep.ip}:{ep.port}"'
        rules.append(f"-A {chain} {comment}{probability(i, n)} -j {sep_chain(svc, ep)}")
    return rules


def _sep(svc: ServicePlan, ep: Endpoint) -> list[str]:
    chain = sep_chain(svc, ep)
    name = _port_name(svc)
    recent = (
        f" -m recent --name {chain} --mask 255.255.255.255 --rsource --set"
        if svc.session_affinity == "ClientIP"
        else ""
    )
    return [
        f"-A {chain} -s {ep.ip}/32 -m comment --comment {name} -j KUBE-MARK-MASQ",
        f"-A {chain} -p {svc.protocol.lower()} -m comment --comment {name}{recent} -m {svc.protocol.lower()} "
        f"-j DNAT --to-destination {ep.ip}:{ep.port}",
    ]


def rules(services: list[ServicePlan], node: str, container_cidr: str) -> str:
    """The filter and nat tables kube-proxy programs on `node` (iptables-restore input)."""
    flt_chains = ["KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-FORWARD"]
    flt = [
        '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" '
        "-j KUBE-EXTERNAL-SERVICES",
        '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
        '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" '
        "-j KUBE-EXTERNAL-SERVICES",
        '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        "-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP",
        f'-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark {MASQ_MARK}/{MASQ_MARK} '
        "-j ACCEPT",
        '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" '
        "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
    ]
    nat_chains = ["KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"]
    nat = [
        '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
        f"-A KUBE-MARK-MASQ -j MARK --set-xmark {MASQ_MARK}/{MASQ_MARK}",
        f"-A KUBE-POSTROUTING -m mark ! --mark {MASQ_MARK}/{MASQ_MARK} -j RETURN",
        f"-A KUBE-POSTROUTING -j MARK --set-xmark {MASQ_MARK}/0x0",
        '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" '
        "-j MASQUERADE --random-fully",
    ]
    svc_rules: list[str] = []
    nodeport_rules: list[str] = []
    for svc in services:
        name, p = _port_name(svc), svc.protocol.lower()
        if not svc.endpoints:
            flt.append(
                f'-A KUBE-SERVICES -d {svc.cluster_ip}/32 -p {p} -m comment --comment "{name} has no endpoints" '
                f"-m {p} --dport {svc.port} -j REJECT --reject-with icmp-port-unreachable"
            )
            if svc.node_port:
                flt.append(
                    f'-A KUBE-EXTERNAL-SERVICES -m comment --comment "{name} has no endpoints" -m addrtype '
                    f"--dst-type LOCAL -p {p} -m {p} --dport {svc.node_port} "
                    "-j REJECT --reject-with icmp-port-unreachable"
                )
            continue
        svc_c = svc_chain(svc)
        nat_chains.append(svc_c)
        svc_rules.append(
            f'-A KUBE-SERVICES -d {svc.cluster_ip}/32 -p {p} -m comment --comment "{name} cluster IP" '
            f"-m {p} --dport {svc.port} -j {svc_c}"
        )
        nat.append(
            f'-A {svc_c} ! -s {container_cidr} -d {svc.cluster_ip}/32 -p {p} -m comment --comment "{name} cluster IP" '
            f"-m {p} --dport {svc.port} -j KUBE-MARK-MASQ"
        )
        nat += _spread(svc, svc_c, svc.endpoints)
        for ep in svc.endpoints:
            nat_chains.append(sep_chain(svc, ep))
            nat += _sep(svc, ep)
        if not svc.node_port:
            continue
        ext_c = ext_chain(svc)
        nat_chains.append(ext_c)
        nodeport_rules.append(
            f"-A KUBE-NODEPORTS -p {p} -m comment --comment {name} -m {p} --dport {svc.node_port} -j {ext_c}"
        )
        if svc.vip:  # the ELB address in the Service's status: in-cluster clients never leave the node for it
            svc_rules.append(
                f'-A KUBE-SERVICES -d {svc.vip}/32 -p {p} -m comment --comment "{name} loadbalancer IP" '
                f"-m {p} --dport {svc.port} -j {ext_c}"
            )
        if svc.external_traffic_policy == "Local":
            local = [ep for ep in svc.endpoints if ep.node == node]
            nat += [
                f'-A {ext_c} -s {container_cidr} -m comment --comment "pod traffic for {name} external destinations" '
                f"-j {svc_c}",
                f'-A {ext_c} -m comment --comment "masquerade LOCAL traffic for {name} external destinations" '
                "-m addrtype --src-type LOCAL -j KUBE-MARK-MASQ",
                f'-A {ext_c} -m comment --comment "route LOCAL traffic for {name} external destinations" '
                f"-m addrtype --src-type LOCAL -j {svc_c}",
            ]
            if local:
                svl_c = svl_chain(svc)
                nat_chains.append(svl_c)
                nat.append(f"-A {ext_c} -j {svl_c}")
                nat += _spread(svc, svl_c, local)
            else:
                flt.append(
                    f'-A KUBE-EXTERNAL-SERVICES -m comment --comment "{name} has no local endpoints" '
                    f"-m addrtype --dst-type LOCAL -p {p} -m {p} --dport {svc.node_port} -j DROP"
                )
        else:
            nat += [
                f'-A {ext_c} -m comment --comment "masquerade traffic for {name} external destinations" '
                "-j KUBE-MARK-MASQ",
                f"-A {ext_c} -j {svc_c}",
            ]
    svc_rules.append(
        '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in '
        'this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS'
    )
    out = ["*filter", *(f":{c} - [0:0]" for c in flt_chains), *flt, "COMMIT"]
    out += ["*nat", *(f":{c} - [0:0]" for c in dict.fromkeys(nat_chains)), *nat, *svc_rules, *nodeport_rules, "COMMIT"]
    return "\n".join(out) + "\n"
