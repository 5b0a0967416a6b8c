"""Exercise-specific checks of kubeproxy-chain-flushed."""

from lab.render import kubeproxy


def service_chain_complete(lab) -> list[str]:
    """on every node, web's KUBE-SVC chain has one rule per endpoint"""
    svc = lab.plan.service("web")
    chain = kubeproxy.svc_chain(svc)
    problems = []
    for node in lab.plan.nodes:
        rules = [ln for ln in lab.run(node.netns, lab.plan.iptables_tool(), "-w", "-t", "nat", "-S", chain).splitlines()
                 if ln.startswith(f"-A {chain} ") and "KUBE-SEP-" in ln]
        if len(rules) != len(svc.endpoints):
            problems.append(f"{node.name}: {len(rules)} endpoint rules in {chain}, not {len(svc.endpoints)}")
    return problems
