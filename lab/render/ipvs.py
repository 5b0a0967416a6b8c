"""kube-proxy, IPVS mode: what upstream's IPVS proxier makes of a node. Pure: plan in, text and records out.

- every ClusterIP and load-balancer IP on the `kube-ipvs0` dummy interface (the
  kernel then treats them as local and IPVS takes connections in at INPUT);
- one IPVS virtual server per Service port and address (ClusterIP, the node's IP
  for a NodePort, each load-balancer IP), scheduler `rr`, ClientIP affinity as
  persistence with the affinity timeout, real servers in masquerade (NAT) mode;
  `Local` policies keep the node's own endpoints only;
- upstream's ipsets (KUBE-CLUSTER-IP, KUBE-LOOP-BACK, KUBE-NODE-PORT-TCP/UDP and
  their -LOCAL sets, KUBE-LOAD-BALANCER and its -LOCAL, -FW and -SOURCE-* sets,
  KUBE-EXTERNAL-IP*, KUBE-HEALTH-CHECK-NODE-PORT, KUBE-IPVS-IPS), as `ipset
  restore` input (no SCTP: the lab's Services are TCP and UDP);
- the small iptables layer that matches them, in upstream's order.

`ipvsadm_save` writes the virtual servers as `ipvsadm -S -n` prints them, so a
node's table and the plan compare line by line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lab.plan.model import Endpoint, Plan, ServicePlan
from lab.render.kubeproxy import BUILTIN, CANARIES, MASQ_MARK, lb_ips

DUMMY = "kube-ipvs0"
SCHEDULER = "rr"
IPSET_HASH = "family inet hashsize 1024 maxelem 65536"
SETS = {  # name -> (type, comment): upstream's ipsets and what they are for
    "KUBE-LOOP-BACK": ("hash:ip,port,ip", "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose"),
    "KUBE-CLUSTER-IP": ("hash:ip,port", "Kubernetes service cluster ip + port for masquerade purpose"),
    "KUBE-LOAD-BALANCER": ("hash:ip,port", "Kubernetes service lb portal"),
    "KUBE-LOAD-BALANCER-LOCAL": (
        "hash:ip,port",
        "Kubernetes service load balancer ip + port with externalTrafficPolicy=local",
    ),
    "KUBE-LOAD-BALANCER-FW": (
        "hash:ip,port",
        "Kubernetes service load balancer ip + port for load balancer with sourceRange",
    ),
    "KUBE-LOAD-BALANCER-SOURCE-CIDR": (
        "hash:ip,port,net",
        "Kubernetes service load balancer ip + port + source cidr for packet filter purpose",
    ),
    "KUBE-LOAD-BALANCER-SOURCE-IP": (
        "hash:ip,port,ip",
        "Kubernetes service load balancer ip + port + source IP for packet filter purpose",
    ),
    "KUBE-EXTERNAL-IP": ("hash:ip,port", "Kubernetes service external ip + port for masquerade and filter purpose"),
    "KUBE-EXTERNAL-IP-LOCAL": (
        "hash:ip,port",
        "Kubernetes service external ip + port with externalTrafficPolicy=local",
    ),
    "KUBE-HEALTH-CHECK-NODE-PORT": ("bitmap:port", "Kubernetes health check node port"),
    "KUBE-NODE-PORT-TCP": ("bitmap:port", "Kubernetes nodeport TCP port for masquerade purpose"),
    "KUBE-NODE-PORT-LOCAL-TCP": ("bitmap:port", "Kubernetes nodeport TCP port with externalTrafficPolicy=local"),
    "KUBE-NODE-PORT-UDP": ("bitmap:port", "Kubernetes nodeport UDP port for masquerade purpose"),
    "KUBE-NODE-PORT-LOCAL-UDP": ("bitmap:port", "Kubernetes nodeport UDP port with externalTrafficPolicy=local"),
    "KUBE-IPVS-IPS": ("hash:ip", "Addresses on the ipvs interface"),
}


@dataclass(frozen=True)
class VirtualServer:
    protocol: str  # "tcp" | "udp"
    address: str
    port: int
    reals: tuple[tuple[str, int], ...]
    persistence: int = 0  # seconds; 0 without ClientIP affinity
    scheduler: str = SCHEDULER
    service: str = ""  # the Service port it implements (port_id)

    @property
    def key(self) -> str:
        return f"{self.address}:{self.port}"


def _endpoints(svc: ServicePlan, node: str, local: bool) -> list[Endpoint]:
    return [e for e in svc.endpoints if e.node == node] if local else list(svc.endpoints)


def virtual_servers(plan: Plan, node_name: str) -> list[VirtualServer]:
    """The node's IPVS table: ClusterIPs, the node's NodePorts, load-balancer IPs."""
    node = plan.node(node_name)
    out = []
    for svc in plan.services:
        p = svc.protocol.lower()
        persist = svc.affinity_seconds if svc.session_affinity == "ClientIP" else 0

        def vs(
            address: str, port: int, local: bool, svc: ServicePlan = svc, p: str = p, persist: int = persist
        ) -> None:
            reals = tuple((e.ip, e.port) for e in _endpoints(svc, node_name, local))
            out.append(VirtualServer(p, address, port, reals, persist, service=svc.port_id))

        vs(svc.cluster_ip, svc.port, svc.internal_traffic_policy == "Local")
        external_local = svc.external_traffic_policy == "Local"
        if svc.node_port:
            vs(node.ip, svc.node_port, external_local)
        for ip in lb_ips(svc):
            vs(ip, svc.port, external_local)
    return out


def dummy_addresses(plan: Plan) -> list[str]:
    """What kube-ipvs0 holds: every ClusterIP and load-balancer IP, once."""
    return list(dict.fromkeys(ip for s in plan.services for ip in (s.cluster_ip, *lb_ips(s))))


def ipvsadm_save(servers: list[VirtualServer]) -> str:
    """`ipvsadm -S -n` of the table: a service line, then its real servers (masquerading, weight 1), sorted."""
    flag = {"tcp": "-t", "udp": "-u"}
    lines = []
    for v in sorted(servers, key=lambda v: (v.protocol, v.address, v.port)):
        persist = f" -p {v.persistence}" if v.persistence else ""
        lines.append(f"-A {flag[v.protocol]} {v.key} -s {v.scheduler}{persist}")
        lines += [f"-a {flag[v.protocol]} {v.key} -r {ip}:{port} -m -w 1" for ip, port in sorted(v.reals)]
    return "\n".join(lines) + ("\n" if lines else "")


@dataclass
class _Sets:
    entries: dict[str, list[str]] = field(default_factory=lambda: {name: [] for name in SETS})

    def add(self, name: str, entry: str) -> None:
        if entry not in self.entries[name]:
            self.entries[name].append(entry)


def _sets(plan: Plan, node_name: str) -> _Sets:
    sets = _Sets()
    for svc in plan.services:
        p = svc.protocol.lower()
        sets.add("KUBE-CLUSTER-IP", f"{svc.cluster_ip},{p}:{svc.port}")
        for ep in svc.endpoints:
            if ep.node == node_name:
                sets.add("KUBE-LOOP-BACK", f"{ep.ip},{p}:{ep.port},{ep.ip}")
        local = svc.external_traffic_policy == "Local"
        if svc.health_check_node_port:
            sets.add("KUBE-HEALTH-CHECK-NODE-PORT", str(svc.health_check_node_port))
        if svc.node_port:
            sets.add(f"KUBE-NODE-PORT-{svc.protocol}", str(svc.node_port))
            if local:
                sets.add(f"KUBE-NODE-PORT-LOCAL-{svc.protocol}", str(svc.node_port))
        for ip in lb_ips(svc):
            sets.add("KUBE-LOAD-BALANCER", f"{ip},{p}:{svc.port}")
            if local:
                sets.add("KUBE-LOAD-BALANCER-LOCAL", f"{ip},{p}:{svc.port}")
            if svc.source_ranges:
                sets.add("KUBE-LOAD-BALANCER-FW", f"{ip},{p}:{svc.port}")
                for cidr in svc.source_ranges:
                    sets.add("KUBE-LOAD-BALANCER-SOURCE-CIDR", f"{ip},{p}:{svc.port},{cidr}")
    for ip in dummy_addresses(plan):
        sets.add("KUBE-IPVS-IPS", ip)
    return sets


def ipset_restore(plan: Plan, node_name: str) -> str:
    """`ipset restore -exist` input: every set created (or kept), flushed and refilled, so a re-sync is exact."""
    lines = []
    for name, entries in _sets(plan, node_name).entries.items():
        kind = SETS[name][0]
        options = "range 0-65535" if kind == "bitmap:port" else IPSET_HASH
        lines += [f"create {name} {kind} {options}", f"flush {name}", *(f"add {name} {e}" for e in entries)]
    return "\n".join(lines) + "\n"


# (set, table, chain, match, target, protocol): upstream's ipsetWithIptablesChain, in its order
_SET_RULES = (
    ("KUBE-LOOP-BACK", "nat", "KUBE-POSTROUTING", "dst,dst,src", "MASQUERADE", ""),
    ("KUBE-LOAD-BALANCER", "nat", "KUBE-SERVICES", "dst,dst", "KUBE-LOAD-BALANCER", ""),
    ("KUBE-LOAD-BALANCER-LOCAL", "nat", "KUBE-LOAD-BALANCER", "dst,dst", "RETURN", ""),
    ("KUBE-NODE-PORT-LOCAL-TCP", "nat", "KUBE-NODE-PORT", "dst", "RETURN", "tcp"),
    ("KUBE-NODE-PORT-TCP", "nat", "KUBE-NODE-PORT", "dst", "KUBE-MARK-MASQ", "tcp"),
    ("KUBE-NODE-PORT-LOCAL-UDP", "nat", "KUBE-NODE-PORT", "dst", "RETURN", "udp"),
    ("KUBE-NODE-PORT-UDP", "nat", "KUBE-NODE-PORT", "dst", "KUBE-MARK-MASQ", "udp"),
    ("KUBE-LOAD-BALANCER-FW", "filter", "KUBE-PROXY-FIREWALL", "dst,dst", "KUBE-SOURCE-RANGES-FIREWALL", ""),
    ("KUBE-LOAD-BALANCER-SOURCE-CIDR", "filter", "KUBE-SOURCE-RANGES-FIREWALL", "dst,dst,src", "RETURN", ""),
    ("KUBE-LOAD-BALANCER-SOURCE-IP", "filter", "KUBE-SOURCE-RANGES-FIREWALL", "dst,dst,src", "RETURN", ""),
)
# KUBE-IPVS-FILTER: what may be reached on an address of kube-ipvs0 (anything else is refused)
_IPVS_FILTER = (
    ("KUBE-LOAD-BALANCER", "dst,dst"),
    ("KUBE-CLUSTER-IP", "dst,dst"),
    ("KUBE-EXTERNAL-IP", "dst,dst"),
    ("KUBE-EXTERNAL-IP-LOCAL", "dst,dst"),
    ("KUBE-HEALTH-CHECK-NODE-PORT", "dst"),
)
FILTER_JUMPS = (  # kube-proxy prepends each of them: the last ensured comes first
    '-A INPUT -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-FILTER',
    '-A INPUT -m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL',
    '-A INPUT -m comment --comment "kubernetes health check rules" -j KUBE-NODE-PORT',
    '-A FORWARD -m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL',
    '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
    '-A OUTPUT -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-OUT-FILTER',
)
NAT_JUMPS = (
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
)


def rules(plan: Plan, node_name: str) -> str:
    """The iptables layer of IPVS mode (iptables-restore input), its match-set rules only for sets in use."""
    sets = _sets(plan, node_name).entries
    used = {name for name, entries in sets.items() if entries}
    flt: dict[str, list[str]] = {c: [] for c in (*CANARIES, "KUBE-FORWARD", "KUBE-IPVS-FILTER", "KUBE-IPVS-OUT-FILTER")}
    flt |= {"KUBE-NODE-PORT": [], "KUBE-PROXY-FIREWALL": [], "KUBE-SOURCE-RANGES-FIREWALL": []}
    nat: dict[str, list[str]] = {c: [] for c in (*CANARIES, "KUBE-LOAD-BALANCER", "KUBE-MARK-MASQ")}
    nat |= {"KUBE-NODE-PORT": [], "KUBE-POSTROUTING": [], "KUBE-SERVICES": []}
    tables = {"filter": flt, "nat": nat}
    for name, table, chain, match, target, proto in _SET_RULES:
        if name in used:
            p = f"-p {proto} " if proto else ""
            tables[table][chain].append(
                f'-A {chain} {p}-m comment --comment "{SETS[name][1]}" -m set --match-set {name} {match} -j {target}'
            )
    if "KUBE-CLUSTER-IP" in used:
        nat["KUBE-SERVICES"].append(
            f'-A KUBE-SERVICES ! -s {plan.container_cidr} -m comment --comment "{SETS["KUBE-CLUSTER-IP"][1]}" '
            "-m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ"
        )
    nat["KUBE-SERVICES"].append("-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT")
    nat["KUBE-LOAD-BALANCER"].append("-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ")
    for name in ("KUBE-CLUSTER-IP", "KUBE-LOAD-BALANCER"):  # accept what IPVS serves, whatever else is there
        if name in used:
            nat["KUBE-SERVICES"].append(f"-A KUBE-SERVICES -m set --match-set {name} dst,dst -j ACCEPT")
    if "KUBE-LOAD-BALANCER-FW" in used:
        flt["KUBE-SOURCE-RANGES-FIREWALL"].append("-A KUBE-SOURCE-RANGES-FIREWALL -j DROP")
    flt["KUBE-FORWARD"] += [
        f'-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark {MASQ_MARK}/{MASQ_MARK} '
        "-j ACCEPT",
        '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" '
        "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
    ]
    flt["KUBE-NODE-PORT"].append(
        f'-A KUBE-NODE-PORT -m comment --comment "{SETS["KUBE-HEALTH-CHECK-NODE-PORT"][1]}" '
        "-m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j ACCEPT"
    )
    flt["KUBE-IPVS-FILTER"] += [
        *(f"-A KUBE-IPVS-FILTER -m set --match-set {s} {m} -j RETURN" for s, m in _IPVS_FILTER),
        "-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst "
        "-j REJECT --reject-with icmp-port-unreachable",
    ]
    nat["KUBE-POSTROUTING"] += [
        f"-A KUBE-POSTROUTING -m mark ! --mark {MASQ_MARK}/{MASQ_MARK} -j RETURN",
        f"-A KUBE-POSTROUTING -j MARK --set-xmark {MASQ_MARK}/0x0",
        '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" '
        "-j MASQUERADE --random-fully",
    ]
    nat["KUBE-MARK-MASQ"].append(f"-A KUBE-MARK-MASQ -j MARK --set-xmark {MASQ_MARK}/{MASQ_MARK}")
    out = []
    for table, chains, jumps in (("filter", flt, FILTER_JUMPS), ("nat", nat, NAT_JUMPS), ("mangle", {}, ())):
        declared = [c for c in (*chains, *(CANARIES if table == "mangle" else ())) if c not in BUILTIN[table]]
        out += [f"*{table}", *(f":{c} - [0:0]" for c in declared), *jumps, *(r for c in chains.values() for r in c)]
        out.append("COMMIT")
    return "\n".join(out) + "\n"
