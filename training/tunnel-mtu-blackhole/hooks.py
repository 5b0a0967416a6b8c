"""Exercise-specific checks of tunnel-mtu-blackhole."""

import re


def pod_mtus(lab) -> list[str]:
    """every pod's eth0 has the tunnel model's MTU (underlay minus VXLAN's 50 bytes)"""
    problems = []
    for pod in lab.plan.pods:
        found = re.search(r"mtu (\d+)", lab.run(pod.netns, "ip", "link", "show", "eth0"))
        mtu = int(found.group(1)) if found else None
        if mtu != lab.plan.pod_mtu:
            problems.append(f"{pod.name}: MTU {mtu}, not {lab.plan.pod_mtu}")
    return problems
