"""Tunnel model on Open vSwitch: one OVS instance per node, VXLAN between nodes.

Every node runs its own ovsdb-server and ovs-vswitchd inside its namespace,
with a run directory of its own, exactly like a real node. `br-int` holds the
pods, the node's `gw0` and one VXLAN port per remote node; its flows
(`lab.render.ovs`) make it a router: answer ARP, deliver local pods, tunnel to
the node owning a block, hand everything else to the node kernel.

Datapaths: `ovs-kernel` needs the openvswitch module. `ovs-userspace`
(netdev) runs anywhere but tunnels natively only out of an OVS bridge that
holds the underlay IP, so the node's eth0 becomes a port of `br-phy` and the
node IP moves onto br-phy (the "br-phy pattern"); pod veths must not offload
TX checksums (the userspace datapath does not complete them).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from ipaddress import IPv4Network
from pathlib import Path

from lab.datapaths import afpacket
from lab.errors import LabError
from lab.kernel import links, netns, procs
from lab.kernel.journal import Journal, lab_dir
from lab.kernel.links import SCOPE_LINK, link_index
from lab.plan.model import Node, Plan, Pod
from lab.plan.spread import Here
from lab.progress import Progress
from lab.render import ovs as render

NAMES = ("ovs-userspace", "ovs-kernel")
SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
TOOLS = ("ovsdb-tool", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovs-ofctl", "ovs-appctl")


def kernel_available(load: bool = False) -> bool:
    """Whether the openvswitch kernel module is loaded, or loadable (`load`: really load it)."""
    if Path("/sys/module/openvswitch").exists():
        return True
    if shutil.which("modprobe") is None:
        return False
    argv = ["modprobe", "-q", "openvswitch"] if load else ["modprobe", "-n", "-q", "openvswitch"]
    return procs.run(None, argv, check=False).returncode == 0


def preflight(plan: Plan) -> None:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing or not Path(SCHEMA).exists():
        raise LabError(f"Open vSwitch is not installed (missing {', '.join(missing) or SCHEMA}): run 'make setup'")
    if plan.datapath == "ovs-kernel":
        for module in ("openvswitch", "vxlan"):  # OVS makes vxlan_sys_4789 through the vxlan module
            if procs.run(None, ["modprobe", "-q", module], check=False).returncode != 0:
                raise LabError(
                    f"datapath ovs-kernel: the {module} kernel module cannot be loaded on this machine; "
                    "use 'datapath: auto' or 'ovs-userspace' (the netdev datapath)"
                )


def rundir(plan_name: str, node: Node) -> Path:
    return lab_dir(plan_name) / "ovs" / node.name


class Instance:
    """One node's OVS: its run directory, database socket and daemons."""

    def __init__(self, directory: Path, ns: str) -> None:
        self.dir = directory
        self.ns = ns
        self.db = f"unix:{directory}/db.sock"
        self.env = {**os.environ, **{k: str(directory) for k in ("OVS_RUNDIR", "OVS_DBDIR", "OVS_LOGDIR")}}

    def _daemon_args(self, name: str) -> list[str]:
        d = self.dir
        return [
            f"--pidfile={d}/{name}.pid",
            f"--unixctl={d}/{name}.ctl",
            f"--log-file={d}/{name}.log",
            "--detach",
            "--no-chdir",
        ]

    def _run(self, argv: list[str], ns: str | None = None, stdin: str | None = None) -> str:
        return procs.run(ns, argv, input=stdin, env=self.env, timeout=30).stdout

    def start(self, journal: Journal) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._run(["ovsdb-tool", "create", f"{self.dir}/conf.db", SCHEMA])
        journal.add(pidfile=f"{self.dir}/ovsdb-server.pid")
        server = ["ovsdb-server", f"{self.dir}/conf.db", f"--remote=punix:{self.dir}/db.sock"]
        self._run([*server, *self._daemon_args("ovsdb-server")], ns=self.ns)
        self.vsctl("--no-wait", "init")
        journal.add(pidfile=f"{self.dir}/ovs-vswitchd.pid")
        self._run(["ovs-vswitchd", self.db, *self._daemon_args("ovs-vswitchd")], ns=self.ns)

    def vsctl(self, *args: str) -> str:
        return self._run(["ovs-vsctl", f"--db={self.db}", "--timeout=20", *args])

    def ofctl(self, *args: str, stdin: str | None = None) -> str:
        return self._run(["ovs-ofctl", *args], stdin=stdin)

    def appctl_many(self, command: str, calls: list[list[str]]) -> None:
        """`ovs-appctl COMMAND ARGS` for each of `calls`, over one unixctl connection (no process per call)."""
        if not calls:
            return
        from ovs.unixctl.client import UnixctlClient  # Debian's python3-openvswitch

        error, client = UnixctlClient.create(f"{self.dir}/ovs-vswitchd.ctl")
        if error:
            raise LabError(f"cannot reach ovs-vswitchd in {self.ns}: {os.strerror(error)}")
        try:
            for argv in calls:
                error, failed, _ = client.transact(command, argv)
                if error or failed:
                    reason = os.strerror(error) if error else str(failed).strip()
                    raise LabError(f"ovs-appctl {command} {' '.join(argv)} in {self.ns}: {reason}")
        finally:
            client.close()


def _full_checksums_on_the_subnet(plan: Plan, here: Here) -> None:
    """Senders on the node subnet must fill in TCP/UDP checksums themselves.

    A veth hands a frame on with its checksum left to offload; userspace OVS
    reads it from eth0 by AF_PACKET and passes it to br-phy unfinished, so the
    node kernel drops it (seen as: ECS -> node IP pings, TCP times out).
    """
    subnet_hosts = [h for h in plan.hosts if h.router_if] if here.shared else []
    ports = ["subnet0", *(n.router_if for n in here.nodes), *(h.router_if for h in subnet_hosts)]
    links.tx_checksum_off(here.bridge_netns, ports)
    for host in subnet_hosts:
        links.tx_checksum_off(host.netns, ["eth0"])


def _configure(plan: Plan, node: Node, inst: Instance) -> None:
    userspace = plan.datapath == "ovs-userspace"
    pods = plan.pods_on(node.name)
    inst.vsctl(*render.vsctl_args(plan, node))
    # add-port succeeds even when the interface cannot be made: OVS only records the error.
    broken = inst.vsctl("--bare", "--columns=name,error", "find", "Interface", "error!=[]").split()
    if broken:
        raise LabError(f"OVS on {node.name} could not create ports: {' '.join(broken)}")
    inst.ofctl("add-flows", f"unix:{inst.dir}/br-int.mgmt", "-", stdin="\n".join(render.flows(plan, node)) + "\n")

    prefixlen = IPv4Network(plan.node_subnet).prefixlen
    with netns.iproute(node.netns) as ipr:
        if userspace:
            eth0, phy = link_index(ipr, "eth0"), link_index(ipr, "br-phy")
            ipr.flush_addr(index=eth0)
            ipr.link("set", index=phy, mtu=plan.mtu, state="up")
            ipr.addr("add", index=phy, address=node.ip, prefixlen=prefixlen)
            ipr.route("add", dst="0.0.0.0/0", gateway=plan.router.ip, oif=phy)
        gw0 = link_index(ipr, "gw0")
        ipr.link("set", index=gw0, mtu=plan.pod_mtu, state="up")
        ipr.route("add", dst=plan.container_cidr, oif=gw0, prefsrc=node.ip, scope=SCOPE_LINK)
    if userspace:
        _userspace_ports(plan, node, pods)
        inst.appctl_many("tnl/neigh/set", render.tunnel_neighbours(plan, node))


def build(plan: Plan, here: Here, journal: Journal, progress: Progress) -> None:
    """Start every node's OVS in parallel, then wire its bridges and flows."""

    unsized: list[str] = []

    def one(node: Node) -> None:
        inst = Instance(rundir(plan.name, node), node.netns)
        inst.start(journal)
        _configure(plan, node, inst)
        try:
            size_receive_buffers(plan, node)
        except afpacket.CannotTake as exc:
            unsized.append(f"{node.name}: {exc}")

    if plan.datapath == "ovs-userspace":
        _full_checksums_on_the_subnet(plan, here)
    progress(f"starting {len(here.nodes)} OVS instances ({plan.datapath})")
    pool = ThreadPoolExecutor(max_workers=max(1, min(8, len(here.nodes))))
    try:
        for future in [pool.submit(one, n) for n in here.nodes]:
            future.result()
    finally:
        pool.shutdown(cancel_futures=True)
    if unsized:
        progress(
            f"warning: the AF_PACKET receive buffers of ovs-vswitchd stay at OVS's default on {len(unsized)} nodes "
            f"({unsized[0]}; sizing needs Linux 5.6+, ptrace rights and CAP_NET_ADMIN): "
            "TCP across the lab will retransmit; ovs_userspace_rcvbuf: 0 in the topology leaves them so "
            "without this warning"
        )


def vswitchd_pidfile(plan_name: str, node: Node) -> Path:
    return rundir(plan_name, node) / "ovs-vswitchd.pid"


def size_receive_buffers(plan: Plan, node: Node) -> list[afpacket.Buffer]:
    """The node's vswitchd AF_PACKET sockets get `ovs_userspace_rcvbuf` bytes each (0: left at OVS's default).

    afpacket.CannotTake where this host does not let the lab take them.
    """
    if plan.datapath != "ovs-userspace" or plan.ovs_userspace_rcvbuf <= 0:
        return []
    return afpacket.size(vswitchd_pidfile(plan.name, node), plan.ovs_userspace_rcvbuf)


def _userspace_ports(plan: Plan, node: Node, new: list[Pod], replace: bool = False) -> None:
    """The netdev datapath's pod ports: the port guard over every pod port of the node, no TX checksum offload."""
    guard = render.port_guard(["eth0", *(p.host_if for p in plan.pods_on(node.name))])
    if replace:  # one nft transaction: the old guard goes and the new one comes at once
        guard = "table netdev cce_ovs_ports {}\ndelete table netdev cce_ovs_ports\n" + guard
    procs.run(node.netns, ["nft", "-f", "-"], input=guard, mounts=False)
    links.tx_checksum_off(node.netns, [p.host_if for p in new])
    for pod in new:
        links.tx_checksum_off(pod.netns, ["eth0"])


def attach(plan: Plan, node: Node, pods: list[Pod]) -> None:
    """Pods made by `move` (in `plan` already): their br-int ports and delivery flows, as `build` makes them."""
    inst = Instance(rundir(plan.name, node), node.netns)
    for pod in pods:
        inst.vsctl(*render.pod_port_args(pod))
        inst.ofctl("add-flow", f"unix:{inst.dir}/br-int.mgmt", render.pod_flow(pod))
    if plan.datapath == "ovs-userspace":
        _userspace_ports(plan, node, pods, replace=True)
        with contextlib.suppress(afpacket.CannotTake):  # `up` has said so already
            size_receive_buffers(plan, node)  # the new ports' sockets start at OVS's default


def detach(plan: Plan, node: Node, pod: Pod) -> None:
    """A pod gone (`plan` is the one after it): its flow and its br-int port; the port guard without it."""
    inst = Instance(rundir(plan.name, node), node.netns)
    inst.ofctl("--strict", "del-flows", f"unix:{inst.dir}/br-int.mgmt", render.pod_flow_match(pod))
    inst.vsctl("--if-exists", "del-port", "br-int", pod.host_if)
