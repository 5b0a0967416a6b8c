"""The rules of the hosts around the cluster, as text: EIP 1:1 NAT, NAT gateway, ELB listeners, security group. Pure."""

from __future__ import annotations

from lab.plan.model import Plan
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


def elb(plan: Plan) -> str:
    """iptables-restore input for the ELB: each listener spreads over its backend nodes' NodePort (L4)."""
    host = plan.host("elb")
    assert host
    nat, flt = ["*nat"], ["*filter"]
    for svc in plan.services:
        if svc.type != "LoadBalancer":
            continue
        backends = [n.ip for n in svc.backends(plan.nodes)]
        match = f"-d {host.ip}/32 -p tcp -m tcp --dport {svc.port}"
        if not backends:
            flt.append(
                f'-A INPUT {match} -m comment --comment "{svc.name}: no healthy backend" '
                "-j REJECT --reject-with tcp-reset"
            )
            continue
        chain = "ELB-" + kubeproxy.chain_suffix(svc.name)  # unique, within iptables' 28 characters
        nat += [f":{chain} - [0:0]", f'-A PREROUTING {match} -m comment --comment "listener {svc.name}" -j {chain}']
        for i, ip in enumerate(backends):
            stat = kubeproxy.probability(i, len(backends))
            nat.append(f"-A {chain} -p tcp{stat} -j DNAT --to-destination {ip}:{svc.node_port}")
    return "\n".join([*nat, "COMMIT", *flt, "COMMIT"]) + "\n"


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
