"""Exercise-specific checks of eip-unbound."""


def binding_complete(lab) -> list[str]:
    """every node EIP is bound both ways at the VPC router (DNAT in, SNAT out)"""
    rules = lab.run(lab.plan.router.netns, lab.plan.iptables_tool(), "-w", "-t", "nat", "-S")
    problems = []
    for name, eip in lab.plan.node_eips.items():
        ip = lab.plan.node(name).ip
        if f"-d {eip}/32" not in rules or f"--to-destination {ip}" not in rules:
            problems.append(f"no DNAT of {eip} to {name} {ip}")
        if f"-s {ip}/32" not in rules or f"--to-source {eip}" not in rules:
            problems.append(f"no SNAT of {name} {ip} to {eip}")
    return problems
