"""ovs-userspace: every receiving AF_PACKET socket of the lab's own vswitchds holds `ovs_userspace_rcvbuf`,
read back from the kernel by `ss` (sock_diag), after `up` and after `scale` adds pods (new ports, new sockets)."""

from __future__ import annotations

import re
import subprocess

from conftest import cli

from lab.datapaths.ovs import vswitchd_pidfile
from lab.kernel import procs
from lab.observe import status

RCVBUF = 6 * 1024 * 1024  # not the default of the setting: the lab must apply what the topology says
SS_LINE = re.compile(r"^p_raw\s+\S+\s+\S+\s+(?P<local>\S+)\s.*pid=(?P<pid>\d+),fd=\d+.*skmem:\(.*\brb(?P<rb>\d+)\b")


def receive_buffers(netns: str, pid: int) -> dict[str, int]:
    """Interface -> rb (bytes) of each receiving packet socket `pid` holds in `netns` (`ss -0 -m -p`).

    ss writes a packet socket's local address as PROTOCOL:INTERFACE; protocol `[0]`
    receives nothing (OVS's send-only socket) and is left out.
    """
    text = subprocess.run(
        ["ip", "netns", "exec", netns, "ss", "-0", "-m", "-p"], capture_output=True, text=True, check=True
    ).stdout
    found: dict[str, int] = {}
    for line in text.splitlines():
        match = SS_LINE.match(line)
        if match and int(match["pid"]) == pid and not match["local"].startswith("[0]:"):
            found[match["local"].split(":", 1)[1]] = int(match["rb"])
    return found


def assert_every_port_sized(name: str) -> None:
    plan = status.load_plan(name)
    for node in plan.nodes:
        pid = procs.pid_of(vswitchd_pidfile(name, node))  # the lab's own daemon, by its pidfile
        assert pid is not None, f"no ovs-vswitchd on {node.name}"
        buffers = receive_buffers(node.netns, pid)
        ports = {"eth0", *(p.host_if for p in plan.pods_on(node.name))}
        assert set(buffers) == ports, f"{node.name}: packet sockets on {sorted(buffers)}, ports {sorted(ports)}"
        small = {i: rb for i, rb in buffers.items() if rb < RCVBUF}
        assert not small, f"{node.name}: receive buffers below {RCVBUF}: {small}"


def test_userspace_vswitchd_sockets_hold_the_receive_buffer_after_up_and_scale(lab) -> None:
    name = lab(
        name="afp",
        model="tunnel",
        datapath="ovs-userspace",
        ovs_userspace_rcvbuf=RCVBUF,
        nodes=2,
        pods_per_node=1,
        workloads=[{"name": "web", "replicas": 1}],
    )
    assert_every_port_sized(name)
    cli("scale", "web", "3", "--lab", name, check=True)  # two new pods: two new ports, two new sockets
    assert len(status.load_plan(name).pods) == 5
    assert_every_port_sized(name)
