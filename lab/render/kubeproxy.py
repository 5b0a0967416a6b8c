"""kube-proxy, iptables mode: the rules a real node holds, as one iptables-restore batch.

Chains, comments, jumps and their order follow upstream kube-proxy's iptables
proxier (and the kubelet's KUBE-FIREWALL beside it), so `iptables-save` inside a lab
node reads like a CCE node's:

- filter: INPUT, FORWARD and OUTPUT jump (in upstream's order) to
  KUBE-PROXY-FIREWALL, KUBE-NODEPORTS, KUBE-EXTERNAL-SERVICES, KUBE-FORWARD,
  KUBE-SERVICES and the kubelet's KUBE-FIREWALL; REJECT for a Service port
  without endpoints, DROP for a `Local` policy on a node without a local endpoint
  (ClusterIP, NodePort and load-balancer IPs alike), and the source-range drops;
- nat: KUBE-SERVICES -> KUBE-SVC-<hash> (one `statistic --mode random` rule per
  endpoint, 1/n, 1/(n-1), ..., the last unconditional; endpoints ordered by the
  text "ip:port") -> KUBE-SEP-<hash> (hairpin KUBE-MARK-MASQ, then DNAT);
  KUBE-SVL-* for a `Local` policy, KUBE-EXT-* for external traffic, KUBE-FW-* for
  loadBalancerSourceRanges, `recent` for ClientIP affinity, KUBE-NODEPORTS reached
  by the last rule of KUBE-SERVICES, KUBE-MARK-MASQ / KUBE-POSTROUTING (mark 0x4000);
- the KUBE-PROXY-CANARY and KUBE-KUBELET-CANARY chains in mangle, nat and filter.

A Service port is named `namespace/name` or `namespace/name:port` (ServicePlan.port_id):
that text seeds the chain hashes and is the comment. Rules are written as
iptables-save prints them (lab/render/iptsave.py knows the few places the kernel
rewrites them). Pure: text in, text out.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from ipaddress import ip_address, ip_network

from lab.plan.model import Endpoint, ServicePlan

MASQ_MARK = "0x4000"
BUILTIN = {
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
    "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
}
CANARIES = ("KUBE-KUBELET-CANARY", "KUBE-PROXY-CANARY")
NEW = "-m conntrack --ctstate NEW "
LB_FIREWALL = '-m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL'
SERVICE_PORTALS = '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES'
EXTERNAL_PORTALS = '-m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES'
# The jumps from the built-in chains, in the order a node shows them: kube-proxy prepends each of
# its own (so the last one it ensures comes first), the kubelet appends KUBE-FIREWALL.
FILTER_JUMPS = (
    f"-A INPUT {NEW}{LB_FIREWALL}",
    '-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS',
    f"-A INPUT {NEW}{EXTERNAL_PORTALS}",
    "-A INPUT -j KUBE-FIREWALL",
    f"-A FORWARD {NEW}{LB_FIREWALL}",
    '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
    f"-A FORWARD {NEW}{SERVICE_PORTALS}",
    f"-A FORWARD {NEW}{EXTERNAL_PORTALS}",
    f"-A OUTPUT {NEW}{LB_FIREWALL}",
    f"-A OUTPUT {NEW}{SERVICE_PORTALS}",
    "-A OUTPUT -j KUBE-FIREWALL",
)
NAT_JUMPS = (
    f"-A PREROUTING {SERVICE_PORTALS}",
    f"-A OUTPUT {SERVICE_PORTALS}",
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
)


def chain_suffix(*parts: str) -> str:
    """kube-proxy's chain suffix: base32 of sha256, first 16 characters."""
    digest = hashlib.sha256("".join(parts).encode()).digest()
    return base64.b32encode(digest).decode()[:16]


def _chain(prefix: str, svc: ServicePlan) -> str:
    return prefix + chain_suffix(svc.port_id, svc.protocol.lower())


def svc_chain(svc: ServicePlan) -> str:
    return _chain("KUBE-SVC-", svc)


def ext_chain(svc: ServicePlan) -> str:
    return _chain("KUBE-EXT-", svc)


def svl_chain(svc: ServicePlan) -> str:
    return _chain("KUBE-SVL-", svc)


def fw_chain(svc: ServicePlan) -> str:
    return _chain("KUBE-FW-", svc)


def sep_chain(svc: ServicePlan, ep: Endpoint) -> str:
    return "KUBE-SEP-" + chain_suffix(svc.port_id, svc.protocol.lower(), f"{ep.ip}:{ep.port}")


def probability(i: int, n: int) -> str:
    """The `statistic` match for the i-th of n choices (none for the last): 1/n, 1/(n-1), ..."""
    return f" -m statistic --mode random --probability {1 / (n - i):0.10f}" if i < n - 1 else ""


def lb_ips(svc: ServicePlan) -> list[str]:
    """The Service's status.loadBalancer.ingress: the ELB's VIP and its EIP, both handed to the node."""
    return [ip for ip in (svc.vip, svc.eip) if ip] if svc.type == "LoadBalancer" else []


@dataclass
class _Table:
    """One table's chains (declared in order) and each chain's rules."""

    name: str
    chains: dict[str, list[str]] = field(default_factory=dict)

    def declare(self, *chains: str) -> None:
        for c in chains:
            self.chains.setdefault(c, [])

    def add(self, chain: str, rule: str) -> None:
        self.declare(chain)
        self.chains[chain].append(f"-A {chain} {rule}")

    def lines(self, jumps: tuple[str, ...] = ()) -> list[str]:
        own = [c for c in self.chains if c not in BUILTIN[self.name]]
        rules = [r for c in self.chains for r in self.chains[c]]
        return [f"*{self.name}", *(f":{c} - [0:0]" for c in own), *jumps, *rules, "COMMIT"]


def _spread(t: _Table, svc: ServicePlan, chain: str, endpoints: list[Endpoint]) -> None:
    """Affinity checks first (ClientIP), then one jump per endpoint: 1/n, 1/(n-1), ..., the last unconditional."""
    for ep in endpoints if svc.session_affinity == "ClientIP" else []:
        sep = sep_chain(svc, ep)
        t.add(
            chain,
            f'-m comment --comment "{svc.port_id} -> {ep.ip}:{ep.port}" -m recent --rcheck --seconds '
            f"{svc.affinity_seconds} --reap --name {sep} --mask 255.255.255.255 --rsource -j {sep}",
        )
    for i, ep in enumerate(endpoints):
        t.add(
            chain,
            f'-m comment --comment "{svc.port_id} -> {ep.ip}:{ep.port}"{probability(i, len(endpoints))} '
            f"-j {sep_chain(svc, ep)}",
        )


def _sep(t: _Table, svc: ServicePlan, ep: Endpoint) -> None:
    chain, p = sep_chain(svc, ep), svc.protocol.lower()
    recent = f" -m recent --set --name {chain} --mask 255.255.255.255 --rsource" * (svc.session_affinity == "ClientIP")
    comment = f'-m comment --comment "{svc.port_id}"'
    t.add(chain, f"-s {ep.ip}/32 {comment} -j KUBE-MARK-MASQ")
    t.add(chain, f"-p {p} {comment}{recent} -m {p} -j DNAT --to-destination {ep.ip}:{ep.port}")


def _skeleton(container_cidr: str) -> tuple[_Table, _Table, _Table]:
    flt, nat, mangle = _Table("filter"), _Table("nat"), _Table("mangle")
    flt.declare(*CANARIES, "KUBE-EXTERNAL-SERVICES", "KUBE-FIREWALL", "KUBE-FORWARD", "KUBE-NODEPORTS")
    flt.declare("KUBE-PROXY-FIREWALL", "KUBE-SERVICES")
    flt.add(
        "KUBE-FIREWALL",
        '! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" '
        "-m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP",
    )
    flt.add("KUBE-FORWARD", "-m conntrack --ctstate INVALID -j DROP")
    flt.add(
        "KUBE-FORWARD",
        f'-m comment --comment "kubernetes forwarding rules" -m mark --mark {MASQ_MARK}/{MASQ_MARK} -j ACCEPT',
    )
    flt.add(
        "KUBE-FORWARD",
        '-m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED '
        "-j ACCEPT",
    )
    nat.declare(*CANARIES, "KUBE-MARK-MASQ", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-SERVICES")
    nat.add("KUBE-MARK-MASQ", f"-j MARK --set-xmark {MASQ_MARK}/{MASQ_MARK}")
    nat.add("KUBE-POSTROUTING", f"-m mark ! --mark {MASQ_MARK}/{MASQ_MARK} -j RETURN")
    nat.add("KUBE-POSTROUTING", f"-j MARK --set-xmark {MASQ_MARK}/0x0")
    nat.add(
        "KUBE-POSTROUTING",
        '-m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    )
    mangle.declare(*CANARIES)
    return flt, nat, mangle


def _service(flt: _Table, nat: _Table, svc: ServicePlan, node: str, node_ip: str, container_cidr: str) -> None:
    """One Service port, as upstream's syncProxyRules writes it."""
    name, p, port = svc.port_id, svc.protocol.lower(), svc.port
    local = [ep for ep in svc.endpoints if ep.node == node]
    external = bool(svc.node_port or lb_ips(svc))
    uses_cluster = svc.internal_traffic_policy == "Cluster" or external  # Local short-circuits need it too
    uses_local = svc.internal_traffic_policy == "Local" or (external and svc.external_traffic_policy == "Local")
    cluster_c, local_c, ext_c = svc_chain(svc), svl_chain(svc), ext_chain(svc)
    has_internal = bool(local) if svc.internal_traffic_policy == "Local" else bool(svc.endpoints)
    has_external = bool(local) if svc.external_traffic_policy == "Local" else bool(svc.endpoints)
    internal_c = local_c if svc.internal_traffic_policy == "Local" else cluster_c
    external_c = local_c if svc.external_traffic_policy == "Local" else cluster_c
    uses_fw = bool(svc.endpoints and lb_ips(svc) and svc.source_ranges)
    lb_c = fw_chain(svc) if uses_fw else ext_c
    none = f'"{name} has no endpoints"', "REJECT --reject-with icmp-port-unreachable"
    no_local = f'"{name} has no local endpoints"', "DROP"
    int_filter = none if not svc.endpoints else no_local
    ext_filter = none if not svc.endpoints else no_local
    match = f"-p {p} -m comment --comment"

    cluster_ip = f"-d {svc.cluster_ip}/32 {match}"
    if has_internal:
        nat.add("KUBE-SERVICES", f'{cluster_ip} "{name} cluster IP" -m {p} --dport {port} -j {internal_c}')
    else:
        flt.add("KUBE-SERVICES", f"{cluster_ip} {int_filter[0]} -m {p} --dport {port} -j {int_filter[1]}")
    for ip in lb_ips(svc):
        if svc.endpoints:
            nat.add("KUBE-SERVICES", f'-d {ip}/32 {match} "{name} loadbalancer IP" -m {p} --dport {port} -j {lb_c}')
        if uses_fw:
            flt.add(
                "KUBE-PROXY-FIREWALL",
                f'-d {ip}/32 {match} "{name} traffic not accepted by {lb_c}" -m {p} --dport {port} -j DROP',
            )
    if not has_external:
        for ip in lb_ips(svc):
            flt.add(
                "KUBE-EXTERNAL-SERVICES", f"-d {ip}/32 {match} {ext_filter[0]} -m {p} --dport {port} -j {ext_filter[1]}"
            )
    if svc.node_port:
        if svc.endpoints:
            nat.add("KUBE-NODEPORTS", f'{match} "{name}" -m {p} --dport {svc.node_port} -j {ext_c}')
        if not has_external:
            flt.add(
                "KUBE-EXTERNAL-SERVICES",
                f"{match} {ext_filter[0]} -m addrtype --dst-type LOCAL -m {p} --dport {svc.node_port} "
                f"-j {ext_filter[1]}",
            )
    if svc.health_check_node_port:  # accepted whether or not this node has a local endpoint (upstream)
        flt.add(
            "KUBE-NODEPORTS",
            f'-p tcp -m comment --comment "{name} health check node port" -m tcp '
            f"--dport {svc.health_check_node_port} -j ACCEPT",
        )
    if not svc.endpoints:
        return
    if has_internal:
        nat.add(
            internal_c,
            f'! -s {container_cidr} {cluster_ip} "{name} cluster IP" -m {p} --dport {port} -j KUBE-MARK-MASQ',
        )
    if external:
        _external(nat, svc, ext_c, cluster_c, external_c if has_external else "", container_cidr)
    if uses_fw:
        _firewall(nat, svc, lb_c, ext_c, node_ip)
    reachable: list[Endpoint] = []
    if uses_cluster:
        _spread(nat, svc, cluster_c, svc.endpoints)
        reachable = list(svc.endpoints)
    if uses_local and local:
        _spread(nat, svc, local_c, local)
        reachable += [ep for ep in local if ep not in reachable]
    for ep in sorted(reachable, key=lambda e: f"{e.ip}:{e.port}"):
        _sep(nat, svc, ep)


def _external(nat: _Table, svc: ServicePlan, ext_c: str, cluster_c: str, policy_c: str, container_cidr: str) -> None:
    """KUBE-EXT-*: masquerade for Cluster; for Local, pods and the node itself short-circuit to the cluster chain."""
    name = svc.port_id
    if svc.external_traffic_policy == "Cluster":
        nat.add(ext_c, f'-m comment --comment "masquerade traffic for {name} external destinations" -j KUBE-MARK-MASQ')
    else:
        nat.add(
            ext_c,
            f'-s {container_cidr} -m comment --comment "pod traffic for {name} external destinations" -j {cluster_c}',
        )
        nat.add(
            ext_c,
            f'-m comment --comment "masquerade LOCAL traffic for {name} external destinations" -m addrtype '
            "--src-type LOCAL -j KUBE-MARK-MASQ",
        )
        nat.add(
            ext_c,
            f'-m comment --comment "route LOCAL traffic for {name} external destinations" -m addrtype '
            f"--src-type LOCAL -j {cluster_c}",
        )
    if policy_c:
        nat.add(ext_c, f"-j {policy_c}")


def _firewall(nat: _Table, svc: ServicePlan, fw_c: str, ext_c: str, node_ip: str) -> None:
    """KUBE-FW-*: loadBalancerSourceRanges pass to KUBE-EXT-*; the rest falls through to KUBE-PROXY-FIREWALL's DROP."""
    comment = f'-m comment --comment "{svc.port_id} loadbalancer IP"'
    for cidr in svc.source_ranges:
        nat.add(fw_c, f"-s {cidr} {comment} -j {ext_c}")
    if node_ip and any(ip_address(node_ip) in ip_network(c) for c in svc.source_ranges):
        for ip in lb_ips(svc):  # the node's own request to a VIP it holds loops back from the VIP
            nat.add(fw_c, f"-s {ip}/32 {comment} -j {ext_c}")
    nat.add(fw_c, f'-m comment --comment "other traffic to {svc.port_id} will be dropped by KUBE-PROXY-FIREWALL"')


def rules(services: list[ServicePlan], node: str, container_cidr: str, node_ip: str = "") -> str:
    """The filter, nat and mangle tables kube-proxy (and the kubelet) program on `node` (iptables-restore input)."""
    flt, nat, mangle = _skeleton(container_cidr)
    for svc in services:
        _service(flt, nat, svc, node, node_ip, container_cidr)
    nat.add(
        "KUBE-SERVICES",
        '-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" '
        "-m addrtype --dst-type LOCAL -j KUBE-NODEPORTS",
    )
    out = [*flt.lines(FILTER_JUMPS), *nat.lines(NAT_JUMPS), *mangle.lines()]
    return "\n".join(out) + "\n"
