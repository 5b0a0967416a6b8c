"""The apply layer and the datapaths without root: what a small plan would create, through the fake kernel."""

from __future__ import annotations

import pytest
from fakekernel import FakeKernel

from lab.apply import engine
from lab.datapaths import afpacket, linuxvxlan
from lab.datapaths import ovs as ovs_datapath
from lab.errors import LabError
from lab.kernel.journal import Journal
from lab.plan import Plan, make_plan, spread
from lab.plan.cluster import POD_GATEWAY, VXLAN_PORT, VXLAN_VNI
from lab.render import nodenet
from lab.render import ovs as render_ovs
from lab.spec import build_spec

SCOPE_LINK = 253


def _plan(model: str, **extra: object) -> Plan:
    data = {
        "name": "fk",
        "model": model,
        "nodes": 2,
        "pods_per_node": 2,
        "ecs": True,
        "workloads": [{"name": "web", "replicas": 2}],
        "services": [{"name": "web", "type": "NodePort", "selector": {"app": "web"}, "port": 80}],
        **extra,
    }
    return make_plan(build_spec(data), ovs_kernel_available=False)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """netexec's launcher replaced (it would start a process): the config files it was given."""
    configs: list[str] = []
    monkeypatch.setattr("lab.netexec.launch.start", lambda config, pidfile, log: configs.append(str(config)) or 1)
    return configs


def _link(kernel: FakeKernel, ns: str, ifname: str) -> dict:
    return kernel.ns(ns).links[ifname]


def test_up_builds_the_vpc_model_as_planned(kernel: FakeKernel, started: list[str]) -> None:
    plan = _plan("vpc")
    assert engine.up(plan)
    assert set(kernel.namespaces) == set(plan.netns_names())
    router = kernel.ns(plan.router.netns)
    assert ("subnet0", plan.router.ip, 24) in router.addrs
    bridge = router.links["subnet0"]["index"]
    for node in plan.nodes:
        port = router.links[node.router_if]
        assert (port["master"], port["peer"]) == (bridge, (node.netns, "eth0"))
        nic = kernel.ns(node.netns)
        assert ("eth0", node.ip, 24) in nic.addrs
        assert {"dst": "0.0.0.0/0", "gateway": plan.router.ip, "oif": nic.links["eth0"]["index"]} in nic.routes
        assert nic.sysctls["net.ipv4.ip_forward"] == "1"
        for pod in plan.pods_on(node.name):
            # routed datapath: proxy ARP for the pod's gateway and a /32 host route per pod
            assert nic.sysctls[f"net.ipv4.conf.{pod.host_if}.proxy_arp"] == "1"
            assert nic.routes_via(pod.host_if) == [
                {"dst": f"{pod.ip}/32", "oif": nic.links[pod.host_if]["index"], "scope": SCOPE_LINK}
            ]
            inside = kernel.ns(pod.netns)
            eth0 = inside.links["eth0"]
            assert (eth0["peer"], eth0["mtu"], eth0["state"], eth0["address"], eth0["addrgenmode"]) == (
                (node.netns, pod.host_if),
                plan.pod_mtu,
                "up",
                pod.mac,
                "none",
            )
            assert nic.links[pod.host_if]["index"] == pod.host_index
            assert inside.addrs == [("eth0", pod.ip, 32)]
            assert [r["dst"] for r in inside.routes] == [f"{POD_GATEWAY}/32", "0.0.0.0/0"]
            assert inside.routes[0]["scope"] == SCOPE_LINK and inside.routes[1]["gateway"] == POD_GATEWAY
    assert [(r["dst"], r["gateway"]) for r in router.routes] == [(r.dst, r.via) for r in plan.vpc_routes]
    assert router.sysctls["net.ipv4.conf.all.rp_filter"] == "0"
    batches = {ns: text for ns, argv, text in kernel.commands_named("iptables-restore")}
    assert {n.netns: nodenet.ruleset(plan, n) for n in plan.nodes}.items() <= batches.items()
    assert len(started) == 1
    journal = Journal(plan.name)
    assert journal.complete()
    assert [e["netns"] for e in journal.entries() if "netns" in e] == plan.netns_names()
    removed = engine.down(plan.name)
    assert removed is not None and removed.namespaces == len(plan.netns_names())
    assert kernel.namespaces == {} and not journal.exists()


def test_up_twice_is_a_no_op_and_a_different_plan_is_refused(kernel: FakeKernel, started: list[str]) -> None:
    plan = _plan("vpc")
    assert engine.up(plan)
    made = len(kernel.commands)
    assert not engine.up(plan)
    assert len(kernel.commands) == made
    with pytest.raises(LabError, match="a different lab named fk is up"):
        engine.up(_plan("vpc", nodes=3))


def test_a_failure_rolls_back_everything(kernel: FakeKernel, started: list[str], monkeypatch) -> None:
    def broken(*_: object) -> None:
        raise OSError("the kernel said no")

    monkeypatch.setattr("lab.apply.surroundings.build", broken)
    with pytest.raises(LabError, match="up failed: the kernel said no"):
        engine.up(_plan("vpc"))
    assert kernel.namespaces == {} and not Journal("fk").exists()


def test_linux_vxlan_meshes_every_node(kernel: FakeKernel, started: list[str]) -> None:
    plan = _plan("tunnel", datapath="linux-vxlan", nodes=3)
    assert engine.up(plan)
    for node in plan.nodes:
        ns = kernel.ns(node.netns)
        vx = ns.links["vxlan0"]
        assert (vx["vxlan_id"], vx["vxlan_port"], vx["vxlan_local"], vx["mtu"]) == (
            VXLAN_VNI,
            VXLAN_PORT,
            node.ip,
            plan.pod_mtu,
        )
        peers = [p for p in plan.nodes if p.name != node.name]
        assert sorted((f["lladdr"], f["dst"]) for f in ns.fdb) == sorted((p.vtep_mac, p.ip) for p in peers)
        assert sorted(n["dst"] for n in ns.neigh) == sorted(p.ip for p in peers)
        blocks = {r["dst"] for r in ns.routes_via("vxlan0") if "table" not in r}
        assert blocks == {b for p in peers for b in p.pod_cidrs}
        assert ("br-int", POD_GATEWAY, 32) in ns.addrs
        for pod in plan.pods_on(node.name):
            assert ns.links[pod.host_if]["master"] == ns.links["br-int"]["index"]
        assert ns.rules == [
            {"src": "172.16.0.0", "src_len": 16, "table": linuxvxlan.POD_TABLE, "priority": linuxvxlan.POD_TABLE}
        ]


def test_ovs_userspace_node_is_configured_from_the_rendered_text(kernel: FakeKernel, monkeypatch, tmp_path) -> None:
    plan = _plan("tunnel", datapath="ovs-userspace")
    node = plan.nodes[0]
    for ns in plan.netns_names():
        kernel.create(ns)
    ipr = kernel.ns(node.netns)
    for ifname in ("eth0", "br-phy", "gw0"):  # what OVS itself would have made by now
        ipr.links[ifname] = {"index": kernel.index(), "state": "down"}
    neighbours: list[list[str]] = []
    monkeypatch.setattr(ovs_datapath.Instance, "appctl_many", lambda self, cmd, calls: neighbours.extend(calls))
    inst = ovs_datapath.Instance(tmp_path, node.netns)
    ovs_datapath._configure(plan, node, inst)
    vsctl = [argv for _, argv, _ in kernel.commands_named("ovs-vsctl")]
    assert vsctl[0][3:] == render_ovs.vsctl_args(plan, node)
    (flows,) = [text for _, argv, text in kernel.commands_named("ovs-ofctl") if "add-flows" in argv]
    assert flows == "\n".join(render_ovs.flows(plan, node)) + "\n"
    (guard,) = [(ns, text) for ns, argv, text in kernel.commands_named("nft")]
    assert guard == (node.netns, render_ovs.port_guard(["eth0", *(p.host_if for p in plan.pods_on(node.name))]))
    assert neighbours == render_ovs.tunnel_neighbours(plan, node)
    assert {(node.netns, p.host_if) for p in plan.pods_on(node.name)} <= kernel.checksum_off
    assert ("br-phy", node.ip, 24) in ipr.addrs and not [a for a in ipr.addrs if a[0] == "eth0"]


@pytest.fixture
def ovs_started(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each node's OVS as if started and wired: `build` is left with what it does after that."""
    monkeypatch.setattr(ovs_datapath.Instance, "start", lambda self, journal: None)
    monkeypatch.setattr(ovs_datapath, "_configure", lambda plan, node, inst: None)


def test_up_sizes_the_receive_buffers_of_every_nodes_vswitchd(kernel: FakeKernel, ovs_started: None) -> None:
    plan = _plan("tunnel", datapath="ovs-userspace", nodes=3)
    said: list[str] = []
    ovs_datapath.build(plan, spread.everything(plan), None, said.append)  # type: ignore[arg-type]
    expected = {(str(ovs_datapath.vswitchd_pidfile("fk", n)), 8 * 1024 * 1024) for n in plan.nodes}
    assert set(kernel.rcvbufs) == expected and len(kernel.rcvbufs) == 3
    assert not [m for m in said if m.startswith("warning")]


def test_a_host_that_forbids_taking_the_sockets_gets_one_warning(
    kernel: FakeKernel, ovs_started: None, monkeypatch
) -> None:
    def refuse(pidfile, size):
        raise afpacket.CannotTake("pidfd_getfd (pid 7, fd 40): Operation not permitted")

    monkeypatch.setattr(afpacket, "size", refuse)
    plan = _plan("tunnel", datapath="ovs-userspace", nodes=3)
    said: list[str] = []
    ovs_datapath.build(plan, spread.everything(plan), None, said.append)  # type: ignore[arg-type]
    (warning,) = [m for m in said if m.startswith("warning")]
    assert "on 3 nodes" in warning and "Operation not permitted" in warning and "ovs_userspace_rcvbuf: 0" in warning
    node = plan.nodes[0]
    kernel.create(node.netns)
    kernel.create(plan.pods_on(node.name)[0].netns)
    ovs_datapath.attach(plan, node, plan.pods_on(node.name)[:1])  # a later move/scale goes on without it


@pytest.mark.parametrize(
    ("extra", "sized"),
    [
        ({"datapath": "ovs-userspace"}, 8 * 1024 * 1024),
        ({"datapath": "ovs-userspace", "ovs_userspace_rcvbuf": 4096 * 1024}, 4096 * 1024),
        ({"datapath": "ovs-userspace", "ovs_userspace_rcvbuf": 0}, None),
        ({"datapath": "ovs-kernel"}, None),
    ],
)
def test_pods_added_to_a_running_lab_get_their_receive_buffers_sized(
    kernel: FakeKernel, extra: dict, sized: int | None
) -> None:
    """`move`/`scale` add ports whose AF_PACKET sockets start at OVS's default: attach sizes the node's again."""
    plan = _plan("tunnel", **extra)
    node = plan.nodes[1]
    pods = plan.pods_on(node.name)
    for ns in [node.netns, *(p.netns for p in pods)]:
        kernel.create(ns)
    ovs_datapath.attach(plan, node, pods[:1])
    expected = [(str(ovs_datapath.vswitchd_pidfile("fk", node)), sized)] if sized else []
    assert kernel.rcvbufs == expected
