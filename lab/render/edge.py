"""The rules of the hosts around the cluster, as text: EIP 1:1 NAT, NAT gateway, ELB listeners, security group. Pure."""

from __future__ import annotations

from lab.plan.model import Host, Plan, ServicePlan
from lab.render import kubeproxy


def eip_bindings(plan: Plan) -> dict[str, str]:
    """Private IP -> EIP of everything with an EIP bound at the VPC edge (nodes, the ELB)."""
    bound = {plan.node(n).ip: eip for n, eip in plan.node_eips.items()}
    elb = plan.host("elb")
    if elb and elb.eip:
        bound[elb.ip] = elb.eip
    return bound


def vpc_router_nat(plan: Plan) -> str:
    """iptables-restore input for the VPC router: each EIP DNATed in to its holder, SNATed out from it."""
    nat = ["*nat"]
    for private, eip in eip_bindings(plan).items():
        nat.append(
            f'-A PREROUTING -d {eip}/32 -m comment --comment "EIP {eip} -> {private}" '
            f"-j DNAT --to-destination {private}"
        )
        nat.append(
            f'-A POSTROUTING -s {private}/32 -o uplink -m comment --comment "EIP {eip}" -j SNAT --to-source {eip}'
        )
    return "\n".join([*nat, "COMMIT"]) + "\n"


def nat_gateway(plan: Plan) -> str:
    """iptables-restore input for the NAT gateway: the SNAT rule for the VPC and one DNAT rule per node."""
    natgw = plan.host("nat-gateway")
    assert natgw
    nat = ["*nat"]
    if plan.edge.snat:
        nat.append(
            f'-A POSTROUTING -s {plan.vpc_cidr} -o uplink -m comment --comment "SNAT rule: VPC -> {natgw.eip}" '
            f"-j SNAT --to-source {natgw.eip}"
        )
    for svc in plan.services:
        for rule in svc.dnat:
            nat.append(
                f"-A PREROUTING -d {rule.eip}/32 -i uplink -p tcp -m tcp --dport {rule.eip_port} -m comment "
                f'--comment "DNAT rule {svc.name}: {rule.eip}:{rule.eip_port} -> {rule.node}" '
                f"-j DNAT --to-destination {rule.node_ip}:{rule.node_port}"
            )
    return "\n".join([*nat, "COMMIT"]) + "\n"


def elb_chain(svc: ServicePlan) -> str:
    """The ELB's nat chain of one listener (unique per Service port, within iptables' 28 characters)."""
    return "ELB-" + kubeproxy.chain_suffix(svc.label)


def elb_refuse_chain(svc: ServicePlan) -> str:
    """The ELB's filter chain of one listener: it refuses while no backend is healthy."""
    return "ELBR-" + kubeproxy.chain_suffix(svc.label)


def _listener_rules(host: Host, svc: ServicePlan, backends: list[str]) -> tuple[list[str], list[str]]:
    """The nat chain (spread over `backends`' NodePort) and the filter chain (REJECT when there is none)."""
    chain, refuse = elb_chain(svc), elb_refuse_chain(svc)
    nat = [
        f"-A {chain} -p tcp{kubeproxy.probability(i, len(backends))} -j DNAT --to-destination {ip}:{svc.node_port}"
        for i, ip in enumerate(backends)
    ]
    flt = []
    if not backends:
        flt.append(
            f'-A {refuse} -d {host.ip}/32 -p tcp -m tcp --dport {svc.port} -m comment --comment "{svc.label}: '
            'no healthy backend" -j REJECT --reject-with tcp-reset'
        )
    return nat, flt


def elb_backends(plan: Plan, svc: ServicePlan, backends: list[str]) -> str:
    """iptables-restore --noflush input that rewrites one listener's two chains, and only them, at once."""
    host = plan.host("elb")
    assert host
    nat, flt = _listener_rules(host, svc, backends)
    lines = ["*nat", f":{elb_chain(svc)} - [0:0]", *nat, "COMMIT"]
    lines += ["*filter", f":{elb_refuse_chain(svc)} - [0:0]", *flt, "COMMIT"]
    return "\n".join(lines) + "\n"


def elb(plan: Plan) -> str:
    """iptables-restore input for the ELB: each listener spreads over its backend nodes' NodePort (L4).

    The backends are the plan's (all nodes; for `Local`, the nodes with an endpoint): the lab's
    ELB health checker (lab/elbcheck) rewrites a listener's chains when its healthy set changes.
    """
    host = plan.host("elb")
    assert host
    listeners = [s for s in plan.services if s.type == "LoadBalancer"]
    nat = ["*nat", *(f":{elb_chain(s)} - [0:0]" for s in listeners)]
    flt = ["*filter", *(f":{elb_refuse_chain(s)} - [0:0]" for s in listeners)]
    chains_nat: list[str] = []
    chains_flt: list[str] = []
    for svc in listeners:
        match = f"-d {host.ip}/32 -p tcp -m tcp --dport {svc.port}"
        nat.append(f'-A PREROUTING {match} -m comment --comment "listener {svc.label}" -j {elb_chain(svc)}')
        flt.append(f'-A INPUT {match} -m comment --comment "listener {svc.label}" -j {elb_refuse_chain(svc)}')
        rules_nat, rules_flt = _listener_rules(host, svc, [n.ip for n in svc.backends(plan.nodes)])
        chains_nat += rules_nat
        chains_flt += rules_flt
    return "\n".join([*nat, *chains_nat, "COMMIT", *flt, *chains_flt, "COMMIT"]) + "\n"


def security_group(allow: list[str]) -> str:
    """nftables for the intranet server: inbound only from the set `allowed` (replaces the previous ruleset).

    A named set, as a cloud security group's rule list: one source can be removed (`nft delete element`)
    and added back without rewriting the rest.
    """
    elements = f"    elements = {{ {', '.join(allow)} }}\n" if allow else ""
    return (
        "table inet cce_sg {}\ndelete table inet cce_sg\n"  # gone whole, the set's elements too
        "table inet cce_sg {\n"
        "  set allowed {\n"
        "    type ipv4_addr\n"
        "    flags interval\n"
        f"{elements}"
        "  }\n"
        "  chain inbound {\n"
        "    type filter hook input priority 0; policy drop;\n"
        "    ct state established,related accept\n"
        "    iif lo accept\n"
        '    ip saddr @allowed accept comment "security group: allowed sources"\n'
        "  }\n"
        "}\n"
    )
