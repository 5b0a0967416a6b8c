"""Exercise-specific checks of tunnel-vxlan-port."""


def full_mesh(lab) -> list[str]:
    """every node has a tunnel to every other node (the full VXLAN mesh)"""
    plan = lab.plan
    problems = []
    for node in plan.nodes:
        if plan.datapath.startswith("ovs"):
            db = f"unix:/run/cce-lab/{plan.name}/ovs/{node.name}/db.sock"
            ports = set(lab.run(node.netns, "ovs-vsctl", f"--db={db}", "list-ports", "br-int").split())
            missing = [m.name for m in plan.nodes if m is not node and f"vx-{m.name}" not in ports]
        else:
            fdb = lab.run(node.netns, "bridge", "fdb", "show", "dev", "vxlan0")
            missing = [m.name for m in plan.nodes if m is not node and f"dst {m.ip}" not in fdb]
        problems += [f"{node.name} has no tunnel to {m}" for m in missing]
    return problems
