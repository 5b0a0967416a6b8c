"""kube-proxy's iptables rules (kubeproxy.rules) and a node's whole netfilter batch (nodenet.ruleset).

Services are written out by hand as ServicePlans; the text is parsed back into tables, chains and
rules, and checked against kube-proxy's layout (DESIGN.md section 1, "Services and Ingress").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest

from lab.plan import Endpoint, Plan, ServicePlan, make_plan
from lab.render import kubeproxy, nodenet
from lab.spec import build_spec
from lab.topology import load

TOPOLOGIES = Path(__file__).resolve().parents[2] / "topologies"
CONTAINER = "172.16.0.0/16"
CHAIN_NAME = re.compile(r"^KUBE-(SVC|SEP|EXT|SVL)-[A-Z2-7]{16}$")
FIXED_CHAINS = {
    "KUBE-SERVICES",
    "KUBE-NODEPORTS",
    "KUBE-POSTROUTING",
    "KUBE-MARK-MASQ",
    "KUBE-EXTERNAL-SERVICES",
    "KUBE-FORWARD",
    "KUBE-FIREWALL",
    "KUBE-PROXY-FIREWALL",
    "KUBE-PROXY-CANARY",
    "KUBE-KUBELET-CANARY",
}
BUILTIN_CHAINS = {
    "filter": {"INPUT", "FORWARD", "OUTPUT"},
    "nat": {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"},
    "mangle": {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"},
}
TARGETS = {"ACCEPT", "DROP", "RETURN", "REJECT", "DNAT", "SNAT", "MASQUERADE", "MARK", "CONNMARK"}


# ------------------------------------------------------------------ helpers


@dataclass
class Section:
    table: str
    declared: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)

    def chain(self, name: str) -> list[str]:
        return [r for r in self.rules if r.startswith(f"-A {name} ")]


def _sections(text: str) -> list[Section]:
    """iptables-restore input -> its table sections, each closed by COMMIT."""
    assert text.endswith("\n")
    sections: list[Section] = []
    current: Section | None = None
    for line in text.splitlines():
        if line.startswith("*"):
            assert current is None, f"{line}: previous table not committed"
            current = Section(line[1:])
        elif line == "COMMIT":
            assert current is not None
            sections.append(current)
            current = None
        else:
            assert current is not None, f"line outside a table: {line!r}"
            if line.startswith(":"):
                name, policy, counters = line[1:].split()
                assert (policy, counters) == ("-", "[0:0]"), line
                current.declared.append(name)
            else:
                assert line.startswith("-A "), line
                current.rules.append(line)
    assert current is None, "last table not committed"
    return sections


def _table(text: str, table: str) -> Section:
    """The first section of `table` (kube-proxy's; nodenet adds a second nat section for IP-MASQ-AGENT)."""
    return next(s for s in _sections(text) if s.table == table)


def _target(rule: str) -> str:
    return re.search(r" -j (\S+)", rule).group(1)


def _ep(n: int, node: str = "node-1", port: int = 8080) -> Endpoint:
    return Endpoint(f"web-{n}", node, f"172.16.{n // 200}.{n % 200 + 2}", port)


def _svc(name: str = "web", endpoints: list[Endpoint] | None = None, **overrides: object) -> ServicePlan:
    data: dict = {
        "name": name,
        "type": "ClusterIP",
        "protocol": "TCP",
        "cluster_ip": "10.247.0.10",
        "port": 80,
        "target_port": 8080,
        "node_port": None,
        "external_traffic_policy": "Cluster",
        "session_affinity": "None",
        "endpoints": [_ep(1), _ep(2, "node-2"), _ep(3, "node-3")] if endpoints is None else endpoints,
    }
    return ServicePlan(**{**data, **overrides})


def _nodeport(name: str = "np", node_port: int = 30080, **overrides: object) -> ServicePlan:
    return _svc(name, type="NodePort", node_port=node_port, **overrides)


def _nat(services: list[ServicePlan], node: str = "node-1") -> Section:
    return _table(kubeproxy.rules(services, node, CONTAINER), "nat")


def _filter(services: list[ServicePlan], node: str = "node-1") -> Section:
    return _table(kubeproxy.rules(services, node, CONTAINER), "filter")


def _svc_jump(nat: Section, cluster_ip: str) -> str:
    """The KUBE-SVC chain KUBE-SERVICES sends this ClusterIP to."""
    (rule,) = [r for r in nat.chain("KUBE-SERVICES") if f"-d {cluster_ip}/32 " in r]
    return _target(rule)


def _dnat_of(nat: Section, sep: str) -> str:
    (rule,) = [r for r in nat.chain(sep) if " -j DNAT " in r]
    return rule.split("--to-destination ")[1]


def _expected_probabilities(n: int) -> list[str | None]:
    """1/n, 1/(n-1), ..., 1/2 with 10 decimals (rounded half-even), then none for the last."""
    q = Decimal("0.0000000001")
    return [str((Decimal(1) / Decimal(n - i)).quantize(q, ROUND_HALF_EVEN)) for i in range(n - 1)] + [None]


def _probability(rule: str) -> str | None:
    m = re.search(r"-m statistic --mode random --probability (\S+) ", rule)
    return m.group(1) if m else None


def _mixed_services() -> list[ServicePlan]:
    """Every kind of Service kube-proxy handles, for whole-ruleset checks."""
    eps = [_ep(1), _ep(2, "node-2"), _ep(3, "node-1")]
    return [
        _svc("web", eps),
        _svc("sticky", eps, cluster_ip="10.247.0.11", session_affinity="ClientIP"),
        _svc("idle", [], cluster_ip="10.247.0.12"),
        _nodeport("idle-np", 30079, endpoints=[], cluster_ip="10.247.0.19"),
        _nodeport("np", 30080, endpoints=eps, cluster_ip="10.247.0.13"),
        _svc("lb", eps, type="LoadBalancer", cluster_ip="10.247.0.14", port=8081, node_port=30081),
        _nodeport("local", 30082, endpoints=eps, cluster_ip="10.247.0.15", external_traffic_policy="Local"),
        _nodeport(
            "local-sticky",
            30083,
            endpoints=eps,
            cluster_ip="10.247.0.16",
            external_traffic_policy="Local",
            session_affinity="ClientIP",
        ),
        _nodeport("udp", 30053, endpoints=eps, cluster_ip="10.247.0.17", port=53, protocol="UDP"),
        _nodeport("udp-idle", 30054, endpoints=[], cluster_ip="10.247.0.18", port=54, protocol="UDP"),
    ]


def _assert_chains_declared(text: str) -> None:
    for section in _sections(text):
        builtin = BUILTIN_CHAINS[section.table]
        assert len(section.declared) == len(set(section.declared)), f"{section.table}: a chain declared twice"
        assert not builtin & set(section.declared)
        for rule in section.rules:
            chain = rule.split()[1]
            assert chain in builtin or chain in section.declared, f"{section.table}: {chain} not declared: {rule}"
            target = _target(rule)
            if target not in TARGETS:
                assert target in section.declared, f"{section.table}: jump to undeclared {target}: {rule}"


# -------------------------------------------------------------- KUBE-SVC spread


def test_expected_probabilities_are_computed_right() -> None:
    assert _expected_probabilities(3) == ["0.3333333333", "0.5000000000", None]
    assert _expected_probabilities(7)[:2] == ["0.1428571429", "0.1666666667"]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 12])
def test_svc_chain_spreads_with_probabilities_1_over_n(n: int) -> None:
    eps = [_ep(i, f"node-{i % 3 + 1}") for i in range(n)]
    nat = _nat([_svc("web", eps)])
    svc = _svc_jump(nat, "10.247.0.10")
    jumps = [r for r in nat.chain(svc) if " -j KUBE-SEP-" in r]
    assert len(jumps) == n
    assert [_probability(r) for r in jumps] == _expected_probabilities(n)
    assert "statistic" not in jumps[-1]
    # the jumps follow the endpoints, each to the SEP chain that DNATs to it
    assert [_dnat_of(nat, _target(r)) for r in jumps] == [f"{e.ip}:{e.port}" for e in eps]
    assert len({_target(r) for r in jumps}) == n


def test_svc_chain_masquerades_off_cluster_sources_first() -> None:
    nat = _nat([_svc("web", cluster_ip="10.247.3.4", port=8443)])
    svc = _svc_jump(nat, "10.247.3.4")
    first = nat.chain(svc)[0]
    assert f"! -s {CONTAINER} -d 10.247.3.4/32 -p tcp" in first
    assert "--dport 8443" in first
    assert first.endswith("-j KUBE-MARK-MASQ")


def test_kube_services_sends_cluster_ip_and_port_to_the_svc_chain() -> None:
    nat = _nat([_svc("a", cluster_ip="10.247.0.10", port=80), _svc("b", cluster_ip="10.247.0.20", port=8080)])
    for ip, port in (("10.247.0.10", 80), ("10.247.0.20", 8080)):
        (rule,) = [r for r in nat.chain("KUBE-SERVICES") if f"-d {ip}/32 " in r]
        assert " -p tcp " in rule and " -m tcp " in rule and f"--dport {port} " in rule
        assert _target(rule).startswith("KUBE-SVC-")
    assert _svc_jump(nat, "10.247.0.10") != _svc_jump(nat, "10.247.0.20")


# -------------------------------------------------------------- KUBE-SEP chains


def test_sep_chain_is_hairpin_masquerade_then_dnat() -> None:
    eps = [Endpoint("web-1", "node-1", "172.16.0.3", 8080), Endpoint("web-2", "node-2", "172.16.0.18", 9090)]
    nat = _nat([_svc("web", eps)])
    svc = _svc_jump(nat, "10.247.0.10")
    seps = [_target(r) for r in nat.chain(svc) if " -j KUBE-SEP-" in r]
    for sep, ep in zip(seps, eps, strict=True):
        hairpin, dnat = nat.chain(sep)
        assert hairpin.startswith(f"-A {sep} -s {ep.ip}/32 ")
        assert hairpin.endswith("-j KUBE-MARK-MASQ")
        assert " -p tcp " in dnat and " -m tcp " in dnat
        assert dnat.endswith(f"-j DNAT --to-destination {ep.ip}:{ep.port}")
        assert "recent" not in hairpin + dnat


# ------------------------------------------------------------------ chain names


def test_chain_names_are_kube_prefix_and_16_base32_chars() -> None:
    text = kubeproxy.rules(_mixed_services(), "node-1", CONTAINER)
    hashed = [c for s in _sections(text) for c in s.declared if c not in FIXED_CHAINS]
    assert hashed
    for name in hashed:
        assert CHAIN_NAME.match(name), name
    kinds = {name.split("-")[1] for name in hashed}
    assert kinds == {"SVC", "SEP", "EXT", "SVL"}
    # iptables chain names are at most 28 characters
    assert max(len(c) for s in _sections(text) for c in s.declared) <= 28


def test_chain_names_are_stable() -> None:
    first = kubeproxy.rules(_mixed_services(), "node-2", CONTAINER)
    again = kubeproxy.rules(_mixed_services(), "node-2", CONTAINER)
    assert first == again
    nat = _table(first, "nat")
    rebuilt = _nat([_svc("web", [_ep(1), _ep(2, "node-2"), _ep(3, "node-1")])], "node-2")
    assert _svc_jump(nat, "10.247.0.10") == _svc_jump(rebuilt, "10.247.0.10")


def _seps(nat: Section) -> list[str]:
    return [c for c in nat.declared if c.startswith("KUBE-SEP-")]


def test_different_endpoints_get_different_sep_names() -> None:
    a = _nat([_svc("web", [Endpoint("web-1", "node-1", "172.16.0.3", 8080)])])
    b = _nat([_svc("web", [Endpoint("web-1", "node-1", "172.16.0.4", 8080)])])
    c = _nat([_svc("web", [Endpoint("web-1", "node-1", "172.16.0.3", 8081)])])
    assert len({*_seps(a), *_seps(b), *_seps(c)}) == 3
    # the Service's own chain does not depend on its endpoints
    assert _svc_jump(a, "10.247.0.10") == _svc_jump(b, "10.247.0.10") == _svc_jump(c, "10.247.0.10")


def test_same_endpoint_in_two_services_gets_two_sep_chains() -> None:
    ep = [Endpoint("web-1", "node-1", "172.16.0.3", 8080)]
    nat = _nat([_svc("a", ep), _svc("b", ep, cluster_ip="10.247.0.11")])
    assert len(_seps(nat)) == 2
    assert _svc_jump(nat, "10.247.0.10") != _svc_jump(nat, "10.247.0.11")


def test_protocol_is_part_of_the_chain_names() -> None:
    tcp = _nat([_svc("dns", [_ep(1)], port=53)])
    udp = _nat([_svc("dns", [_ep(1)], port=53, protocol="UDP")])
    assert _svc_jump(tcp, "10.247.0.10") != _svc_jump(udp, "10.247.0.10")
    assert _seps(tcp) != _seps(udp)


def test_ext_and_svl_chains_share_the_svc_suffix() -> None:
    nat = _nat([_nodeport("local", endpoints=[_ep(1)], external_traffic_policy="Local")], "node-1")
    suffix = _svc_jump(nat, "10.247.0.10").removeprefix("KUBE-SVC-")
    assert f"KUBE-EXT-{suffix}" in nat.declared
    assert f"KUBE-SVL-{suffix}" in nat.declared


# --------------------------------------------------------------- KUBE-SERVICES


@pytest.mark.parametrize(
    "services",
    [
        pytest.param([], id="no-services"),
        pytest.param([_svc("idle", [])], id="only-without-endpoints"),
        pytest.param([_svc("web")], id="one-clusterip"),
        pytest.param(_mixed_services(), id="mixed"),
    ],
)
def test_last_rule_of_kube_services_goes_to_nodeports(services: list[ServicePlan]) -> None:
    nat = _nat(services)
    rules = nat.chain("KUBE-SERVICES")
    assert rules[-1].endswith("-m addrtype --dst-type LOCAL -j KUBE-NODEPORTS")
    assert sum("KUBE-NODEPORTS" in r for r in rules) == 1
    assert len(rules) == 1 + sum(1 for s in services if s.endpoints)


def test_nodeports_chain_sends_each_nodeport_to_its_ext_chain() -> None:
    services = _mixed_services()
    nat = _nat(services)
    rules = nat.chain("KUBE-NODEPORTS")
    with_np = [s for s in services if s.node_port and s.endpoints]
    assert len(rules) == len(with_np)
    for s in with_np:
        (rule,) = [r for r in rules if f"--dport {s.node_port} " in r]
        proto = s.protocol.lower()
        assert f" -p {proto} " in rule and f" -m {proto} " in rule
        suffix = _svc_jump(nat, s.cluster_ip).removeprefix("KUBE-SVC-")
        assert _target(rule) == f"KUBE-EXT-{suffix}"


# ------------------------------------------------------------ ClientIP affinity


@pytest.mark.parametrize("n", [1, 3])
def test_client_ip_affinity_uses_recent(n: int) -> None:
    eps = [_ep(i, "node-1") for i in range(n)]
    nat = _nat([_svc("sticky", eps, session_affinity="ClientIP")])
    svc = _svc_jump(nat, "10.247.0.10")
    rules = nat.chain(svc)[1:]  # after the off-cluster masquerade rule
    recent, spread = rules[:n], rules[n:]
    assert len(spread) == n
    assert [_probability(r) for r in spread] == _expected_probabilities(n)
    assert not any("recent" in r for r in spread)
    for rule, jump in zip(recent, spread, strict=True):
        sep = _target(jump)
        assert _target(rule) == sep
        assert f"-m recent --rcheck --seconds 10800 --reap --name {sep} --mask 255.255.255.255 --rsource " in rule
        assert "statistic" not in rule
        (dnat,) = [r for r in nat.chain(sep) if " -j DNAT " in r]
        assert f"-m recent --set --name {sep} --mask 255.255.255.255 --rsource " in dnat


def test_no_recent_without_affinity() -> None:
    text = kubeproxy.rules([_svc("web"), _nodeport("np", endpoints=[_ep(1)], cluster_ip="10.247.0.11")], "n", CONTAINER)
    assert "recent" not in text


# ------------------------------------------------------- Services without endpoints


def test_service_without_endpoints_is_rejected_in_filter() -> None:
    services = [_svc("idle", [], cluster_ip="10.247.0.12", port=81), _svc("web", cluster_ip="10.247.0.10")]
    flt, nat = _filter(services), _nat(services)
    (reject,) = [r for r in flt.chain("KUBE-SERVICES") if "10.247.0.12" in r]
    assert reject.startswith("-A KUBE-SERVICES -d 10.247.0.12/32 -p tcp ")
    assert "--dport 81 " in reject
    assert reject.endswith("-j REJECT --reject-with icmp-port-unreachable")
    assert flt.chain("KUBE-EXTERNAL-SERVICES") == []
    # no KUBE-SVC chain for it: nat knows nothing of its ClusterIP
    assert not any("10.247.0.12" in r for r in nat.rules)
    assert len([c for c in nat.declared if c.startswith("KUBE-SVC-")]) == 1
    assert len(_seps(nat)) == 3


def test_nodeport_without_endpoints_is_rejected_in_external_services() -> None:
    services = [_nodeport("idle", 30099, endpoints=[], cluster_ip="10.247.0.12")]
    flt, nat = _filter(services), _nat(services)
    (reject,) = flt.chain("KUBE-EXTERNAL-SERVICES")
    assert reject.startswith("-A KUBE-EXTERNAL-SERVICES -p tcp ")
    assert "-m addrtype --dst-type LOCAL -m tcp --dport 30099 " in reject
    assert reject.endswith("-j REJECT --reject-with icmp-port-unreachable")
    assert len(flt.chain("KUBE-SERVICES")) == 1
    assert nat.chain("KUBE-NODEPORTS") == []
    assert not [c for c in nat.declared if c.startswith(("KUBE-SVC-", "KUBE-SEP-", "KUBE-EXT-", "KUBE-SVL-"))]


def test_filter_hooks() -> None:
    flt = _filter([])
    hooks = [(r.split()[1], _target(r)) for r in flt.rules if r.split()[1] in BUILTIN_CHAINS["filter"]]
    # upstream's order: kube-proxy prepends each jump it ensures, the kubelet appends KUBE-FIREWALL
    assert hooks == [
        ("INPUT", "KUBE-PROXY-FIREWALL"),
        ("INPUT", "KUBE-NODEPORTS"),
        ("INPUT", "KUBE-EXTERNAL-SERVICES"),
        ("INPUT", "KUBE-FIREWALL"),
        ("FORWARD", "KUBE-PROXY-FIREWALL"),
        ("FORWARD", "KUBE-FORWARD"),
        ("FORWARD", "KUBE-SERVICES"),
        ("FORWARD", "KUBE-EXTERNAL-SERVICES"),
        ("OUTPUT", "KUBE-PROXY-FIREWALL"),
        ("OUTPUT", "KUBE-SERVICES"),
        ("OUTPUT", "KUBE-FIREWALL"),
    ]
    portals = [r for r in flt.rules if "portals" in r or "load balancer firewall" in r]
    assert len(portals) == 7 and all("--ctstate NEW" in r for r in portals)
    (localnet,) = flt.chain("KUBE-FIREWALL")
    assert "-d 127.0.0.0/8" in localnet and localnet.endswith("-j DROP")
    # kube-proxy's KUBE-FORWARD: drop INVALID, accept marked and established traffic
    assert [_target(r) for r in flt.chain("KUBE-FORWARD")] == ["DROP", "ACCEPT", "ACCEPT"]
    assert "--ctstate INVALID" in flt.chain("KUBE-FORWARD")[0]


# --------------------------------------------------------- externalTrafficPolicy


LOCAL_EPS = [_ep(1, "node-1"), _ep(2, "node-2"), _ep(3, "node-1")]


def _local_service(**overrides: object) -> ServicePlan:
    return _nodeport("local", 30082, endpoints=LOCAL_EPS, external_traffic_policy="Local", **overrides)


@pytest.mark.parametrize(("node", "local"), [("node-1", [0, 2]), ("node-2", [1])])
def test_local_policy_ext_jumps_to_svl_with_this_nodes_endpoints(node: str, local: list[int]) -> None:
    nat = _nat([_local_service()], node)
    svc = _svc_jump(nat, "10.247.0.10")
    suffix = svc.removeprefix("KUBE-SVC-")
    ext, svl = f"KUBE-EXT-{suffix}", f"KUBE-SVL-{suffix}"
    ext_rules = nat.chain(ext)
    assert [_target(r) for r in ext_rules] == [svc, "KUBE-MARK-MASQ", svc, svl]  # modern kube-proxy's order
    assert f"-s {CONTAINER} " in ext_rules[0]
    assert "--src-type LOCAL" in ext_rules[1] and "--src-type LOCAL" in ext_rules[2]
    jumps = nat.chain(svl)
    assert [_probability(r) for r in jumps] == _expected_probabilities(len(local))
    wanted = [f"{LOCAL_EPS[i].ip}:{LOCAL_EPS[i].port}" for i in local]
    assert [_dnat_of(nat, _target(r)) for r in jumps] == wanted
    # the SVL chain reuses the Service's SEP chains
    svc_seps = {_target(r) for r in nat.chain(svc) if " -j KUBE-SEP-" in r}
    assert {_target(r) for r in jumps} <= svc_seps
    flt = _filter([_local_service()], node)
    assert not any(" -j DROP" in r for r in flt.chain("KUBE-EXTERNAL-SERVICES"))  # this node has local endpoints


def test_local_policy_node_without_local_endpoints_drops_the_nodeport() -> None:
    nat, flt = _nat([_local_service()], "node-3"), _filter([_local_service()], "node-3")
    assert not [c for c in nat.declared if c.startswith("KUBE-SVL-")]
    assert not any("KUBE-SVL-" in r for r in nat.rules)
    svc = _svc_jump(nat, "10.247.0.10")
    ext = "KUBE-EXT-" + svc.removeprefix("KUBE-SVC-")
    # pods and the node itself still reach the Service; everything else falls through to the DROP
    assert [_target(r) for r in nat.chain(ext)] == [svc, "KUBE-MARK-MASQ", svc]
    (drop,) = [r for r in flt.chain("KUBE-EXTERNAL-SERVICES") if r.endswith("-j DROP")]
    assert "-m addrtype --dst-type LOCAL -m tcp --dport 30082 " in drop
    assert "no local endpoints" in drop


def test_local_policy_with_affinity_recent_in_svl_too() -> None:
    nat = _nat([_local_service(session_affinity="ClientIP")], "node-1")
    svl = next(c for c in nat.declared if c.startswith("KUBE-SVL-"))
    rules = nat.chain(svl)
    assert len(rules) == 4
    assert all("--rcheck --seconds 10800 --reap" in r for r in rules[:2])
    assert [_probability(r) for r in rules[2:]] == ["0.5000000000", None]


@pytest.mark.parametrize("node", ["node-1", "node-2", "node-9"])
def test_cluster_policy_ext_marks_then_jumps_to_svc(node: str) -> None:
    services = [_nodeport("np", 30080, endpoints=LOCAL_EPS)]
    nat, flt = _nat(services, node), _filter(services, node)
    svc = _svc_jump(nat, "10.247.0.10")
    ext = "KUBE-EXT-" + svc.removeprefix("KUBE-SVC-")
    assert [_target(r) for r in nat.chain(ext)] == ["KUBE-MARK-MASQ", svc]
    assert not [c for c in nat.declared if c.startswith("KUBE-SVL-")]
    assert flt.chain("KUBE-EXTERNAL-SERVICES") == []


# ----------------------------------------------------------------------- UDP


def test_udp_service_rules_match_udp() -> None:
    services = [
        _nodeport("dns", 30053, endpoints=[_ep(1), _ep(2)], port=53, protocol="UDP"),
        _nodeport("dns-idle", 30054, endpoints=[], cluster_ip="10.247.0.11", port=54, protocol="UDP"),
    ]
    text = kubeproxy.rules(services, "node-1", CONTAINER)
    mine = [line for line in text.splitlines() if "default/dns" in line]
    assert len(mine) >= 10
    for line in mine:
        if " -p " in line:
            assert " -p udp " in line and " -m udp " in line, line
        assert "tcp" not in line, line
    nat = _table(text, "nat")
    assert any("--dport 53 " in r and " -p udp " in r for r in nat.chain("KUBE-SERVICES"))
    assert any("--dport 30053 " in r and " -p udp " in r for r in nat.chain("KUBE-NODEPORTS"))
    flt = _table(text, "filter")
    assert any("--dport 54 " in r and " -p udp " in r for r in flt.chain("KUBE-SERVICES"))
    assert any("--dport 30054 " in r and " -p udp " in r for r in flt.chain("KUBE-EXTERNAL-SERVICES"))


# ------------------------------------------------------- declarations and marks


@pytest.mark.parametrize("node", ["node-1", "node-2", "node-3"])
def test_every_jumped_chain_is_declared_in_its_table(node: str) -> None:
    text = kubeproxy.rules(_mixed_services(), node, CONTAINER)
    assert [s.table for s in _sections(text)] == ["filter", "nat", "mangle"]
    _assert_chains_declared(text)
    for section in _sections(text):
        assert {"KUBE-PROXY-CANARY", "KUBE-KUBELET-CANARY"} <= set(section.declared)


def test_declaration_check_catches_an_undeclared_chain() -> None:
    text = kubeproxy.rules([_svc("web")], "node-1", CONTAINER)
    broken = "\n".join(line for line in text.splitlines() if not line.startswith(":KUBE-SEP-")) + "\n"
    with pytest.raises(AssertionError, match="undeclared KUBE-SEP-"):
        _assert_chains_declared(broken)


def test_masquerade_mark_0x4000() -> None:
    nat = _nat([_svc("web")])
    assert nat.chain("KUBE-MARK-MASQ") == ["-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000"]
    post = nat.chain("KUBE-POSTROUTING")
    assert post[0] == "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN"
    assert post[1] == "-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0"
    assert post[2].endswith("-j MASQUERADE --random-fully")
    hooks = {(r.split()[1], _target(r)) for r in nat.rules if r.split()[1] in BUILTIN_CHAINS["nat"]}
    assert hooks == {("PREROUTING", "KUBE-SERVICES"), ("OUTPUT", "KUBE-SERVICES"), ("POSTROUTING", "KUBE-POSTROUTING")}


# ======================================================== nodenet.ruleset


def _plan(model: str = "tunnel", ovs: bool = False, **overrides: object) -> Plan:
    data = {"name": "t", "model": model, "internet": True, "workloads": [{"name": "web", "replicas": 3}]}
    return make_plan(build_spec({**data, **overrides}), ovs_kernel_available=ovs)


def _ip_masq(text: str) -> Section:
    (section,) = [s for s in _sections(text) if s.table == "nat" and "IP-MASQ-AGENT" in s.declared]
    return section


def _returns(section: Section) -> list[str]:
    return [re.search(r"-d (\S+) ", r).group(1) for r in section.chain("IP-MASQ-AGENT") if " -d " in r]


@pytest.mark.parametrize(
    ("model", "overrides", "ovs", "keep"),
    [
        pytest.param("tunnel", {}, False, ["172.16.0.0/16"], id="tunnel-ovs-userspace"),
        pytest.param("tunnel", {}, True, ["172.16.0.0/16"], id="tunnel-ovs-kernel"),
        pytest.param("tunnel", {"container_cidr": "10.0.0.0/16"}, False, ["10.0.0.0/16"], id="tunnel-other-cidr"),
        pytest.param("vpc", {}, False, ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"], id="vpc"),
        pytest.param(
            "vpc",
            {"container_cidr": "10.0.0.0/16"},
            False,
            ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
            id="vpc-other-cidr",
        ),
    ],
)
def test_ip_masq_returns(model: str, overrides: dict, ovs: bool, keep: list[str]) -> None:
    plan = _plan(model, ovs, **overrides)
    masq = _ip_masq(nodenet.ruleset(plan, plan.nodes[0]))
    assert sorted(_returns(masq)) == sorted(keep)
    (hook,) = masq.chain("POSTROUTING")
    # as the real ip-masq-agent: every non-local destination goes through the chain
    assert "-m addrtype ! --dst-type LOCAL" in hook and hook.endswith("-j IP-MASQ-AGENT")
    rules = masq.chain("IP-MASQ-AGENT")
    assert rules[-1].endswith("-j MASQUERADE")
    assert all(r.endswith("-j RETURN") for r in rules[:-1])
    assert not any("vxlan0" in r for r in rules)


def test_linux_vxlan_keeps_pod_ips_on_the_overlay() -> None:
    plan = _plan(datapath="linux-vxlan")
    rules = _ip_masq(nodenet.ruleset(plan, plan.nodes[1])).chain("IP-MASQ-AGENT")
    (overlay,) = [r for r in rules if "-o vxlan0" in r]
    assert overlay.endswith("-j RETURN")
    assert rules.index(overlay) < len(rules) - 1
    assert _returns(_ip_masq(nodenet.ruleset(plan, plan.nodes[1]))) == ["172.16.0.0/16"]


def _lb(port: int = 8081) -> dict:
    return {"name": "lb", "type": "LoadBalancer", "selector": {"app": "web"}, "port": port}


@pytest.mark.parametrize(
    ("model", "datapath", "ovs", "underlay"),
    [
        pytest.param("tunnel", "auto", False, "br-phy", id="ovs-userspace"),
        pytest.param("tunnel", "auto", True, "eth0", id="ovs-kernel"),
        pytest.param("tunnel", "linux-vxlan", False, "eth0", id="linux-vxlan"),
        pytest.param("vpc", "auto", False, "eth0", id="vpc"),
    ],
)
@pytest.mark.parametrize(
    ("elb", "natgw"),
    [
        pytest.param(False, False, id="neither"),
        pytest.param(True, False, id="elb"),
        pytest.param(False, True, id="natgw"),
        pytest.param(True, True, id="both"),
    ],
)
def test_mangle_return_paths(model: str, datapath: str, ovs: bool, underlay: str, elb: bool, natgw: bool) -> None:
    overrides: dict = {"datapath": datapath, "ecs": True, "eips": ["node-1"]}
    if elb:
        overrides["services"] = [_lb()]
    if natgw:
        overrides["nat_gateway"] = {"snat": True}
    plan = _plan(model, ovs, **overrides)
    node = plan.nodes[2]
    assert plan.underlay_if == underlay
    text = nodenet.ruleset(plan, node)
    mangles = [s for s in _sections(text) if s.table == "mangle" and s.rules]  # kube-proxy's holds canaries only
    fronts = [plan.host(role) for role, on in (("elb", elb), ("nat-gateway", natgw)) if on]
    if not fronts:
        assert mangles == []
        assert "CONNMARK" not in text
        return
    (mangle,) = mangles
    set_rules = [r for r in mangle.rules if "--set-xmark" in r]
    assert len(set_rules) == len(fronts)
    marks = []
    for host, rule in zip(fronts, set_rules, strict=True):
        assert re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", host.mac)
        assert rule.startswith(f"-A PREROUTING -i {underlay} -m mac --mac-source {host.mac} ")
        assert "--ctstate NEW" in rule
        mark, mask = re.search(r"CONNMARK --set-xmark (\S+)/(\S+)", rule).groups()
        assert mark == mask
        marks.append(int(mark, 16))
    assert len(set(marks)) == len(marks) and all(m and not m & (m - 1) for m in marks)
    restores = [r for r in mangle.rules if "--restore-mark" in r]
    assert {r.split()[1] for r in restores} == {"PREROUTING", "OUTPUT"}
    for rule in restores:
        assert "-m conntrack --ctdir REPLY " in rule
        nfmask = int(re.search(r"--nfmask (\S+)", rule).group(1), 16)
        ctmask = int(re.search(r"--ctmask (\S+)", rule).group(1), 16)
        assert nfmask == ctmask and all(m & nfmask == m for m in marks)
        assert nfmask & 0x4000 == 0, "must not touch kube-proxy's masquerade mark"
    assert len(mangle.rules) == len(set_rules) + len(restores)


def test_ruleset_starts_with_kube_proxy_and_is_deterministic() -> None:
    plan = make_plan(load(TOPOLOGIES / "tunnel.yaml"))
    node = plan.nodes[0]
    text = nodenet.ruleset(plan, node)
    assert text.startswith(kubeproxy.rules(plan.services, node.name, plan.container_cidr, node.ip))
    assert text == nodenet.ruleset(plan, node)
    assert [s.table for s in _sections(text)] == ["filter", "nat", "mangle", "nat", "mangle"]
    assert all("cce-lab return path, not kube-proxy" in r for r in _sections(text)[-1].rules)


@pytest.mark.parametrize(
    ("name", "datapath"), [("tunnel.yaml", "auto"), ("tunnel.yaml", "linux-vxlan"), ("vpc.yaml", "auto")]
)
def test_shipped_rulesets_declare_every_chain(name: str, datapath: str) -> None:
    spec = load(TOPOLOGIES / name)
    plan = make_plan(spec.model_copy(update={"datapath": datapath}))
    for node in plan.nodes:
        _assert_chains_declared(nodenet.ruleset(plan, node))


def test_shipped_local_service_differs_by_node() -> None:
    """api-local (2 replicas on 3 nodes): the node without a replica drops its NodePort."""
    plan = make_plan(load(TOPOLOGIES / "vpc.yaml"))
    svc = next(s for s in plan.services if s.name == "api-local")
    with_eps = set(svc.nodes_with_endpoints())
    assert len(with_eps) == 2
    for node in plan.nodes:
        flt = _table(nodenet.ruleset(plan, node), "filter")
        drops = [r for r in flt.chain("KUBE-EXTERNAL-SERVICES") if f"--dport {svc.node_port} " in r and "DROP" in r]
        assert len(drops) == (0 if node.name in with_eps else 1), node.name
