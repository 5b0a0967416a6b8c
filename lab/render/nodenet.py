"""A node's netfilter and policy routing: kube-proxy plus what CCE adds around it.

- kube-proxy's chains (kubeproxy.py), or in IPVS mode its iptables layer (ipvs.py);
- pod egress masquerading (chain IP-MASQ-AGENT, as CCE's ip-masq-agent): the tunnel
  model hides pods behind the node IP for everything outside the container
  CIDR; the VPC model keeps pod IPs towards RFC 1918 destinations
  (`nonMasqueradeCIDRs`) and masquerades only Internet-bound traffic;
- return paths: a connection that an ELB or NAT gateway handed in (recognised
  by its MAC) is answered through the same device, since those NAT the
  destination only and the client's reply must pass them again.
"""

from __future__ import annotations

from lab.plan.model import Node, Plan
from lab.render import ipvs, kubeproxy

NON_MASQUERADE_CIDRS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
RETURN_PATH_MASK = 0x300
RETURN_PATHS = {"elb": (0x100, 110), "nat-gateway": (0x200, 120)}  # role -> (connmark bit, route table)


def return_hop(mark: int) -> str:
    """A link-local next hop standing for a front whose own address a node holds (IPVS binds the ELB's VIP)."""
    return f"169.254.255.{mark >> 8}"


def return_paths(plan: Plan) -> list[tuple[str, str, int, int]]:
    """(MAC, IP, connmark bit, route table) of each front that NATs only the destination."""
    result = []
    for role, (mark, table) in RETURN_PATHS.items():
        host = plan.host(role)
        if host:
            result.append((host.mac, host.ip, mark, table))
    return result


def ruleset(plan: Plan, node: Node) -> str:
    """Everything for `iptables-restore --noflush` in the node namespace, one batch."""
    if plan.kube_proxy_mode == "ipvs":
        text = ipvs.rules(plan, node.name)
    else:
        text = kubeproxy.rules(plan.services, node.name, plan.container_cidr, node.ip)
    keep = [plan.container_cidr] if plan.model == "tunnel" else list(NON_MASQUERADE_CIDRS)
    overlay = ['-A IP-MASQ-AGENT -o vxlan0 -m comment --comment "the overlay keeps pod IPs" -j RETURN'] * (
        plan.datapath == "linux-vxlan"
    )
    nat = [
        "*nat",
        ":IP-MASQ-AGENT - [0:0]",
        '-A POSTROUTING -m comment --comment "ip-masq-agent: ensure nat POSTROUTING directs all non-LOCAL destination '
        'traffic to our custom IP-MASQ-AGENT chain" -m addrtype ! --dst-type LOCAL -j IP-MASQ-AGENT',
        *(
            f'-A IP-MASQ-AGENT -d {cidr} -m comment --comment "ip-masq-agent: local traffic is not subject to '
            f'MASQUERADE" -j RETURN'
            for cidr in keep
        ),
        *overlay,
        '-A IP-MASQ-AGENT -m comment --comment "ip-masq-agent: outbound traffic is subject to MASQUERADE (must be '
        'last in chain)" -j MASQUERADE',
        "COMMIT",
    ]
    paths = return_paths(plan)
    mangle: list[str] = []
    if paths:
        mangle = ["*mangle"]
        for mac, ip, mark, _ in paths:
            mangle.append(
                f"-A PREROUTING -i {plan.underlay_if} -m mac --mac-source {mac} -m conntrack --ctstate NEW "
                f'-m comment --comment "cce-lab return path, not kube-proxy: answer {ip} through it" '
                f"-j CONNMARK --set-xmark {mark:#x}/{mark:#x}"
            )
        restore = (  # replies only: the request itself must still be routed to its endpoint
            f'-m conntrack --ctdir REPLY -m comment --comment "cce-lab return path, not kube-proxy" '
            f"-j CONNMARK --restore-mark "
            f"--nfmask {RETURN_PATH_MASK:#x} --ctmask {RETURN_PATH_MASK:#x}"
        )
        mangle += [f"-A PREROUTING {restore}", f"-A OUTPUT {restore}", "COMMIT"]
    return text + "\n".join([*nat, *mangle]) + "\n"
