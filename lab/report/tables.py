"""Rendering for people: plan, status and check tables (JSON is `lab.documents`' job)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lab.observe.results import CheckReport
from lab.observe.status import LabStatus
from lab.plan.cluster import AUTO_DATAPATH
from lab.plan.model import IngressSummary, Plan, ServiceSummary, Spread
from lab.render import ovs


def _mark(ok: bool) -> str:
    return "[green]PASS[/green]" if ok else "[red]FAIL[/red]"


def print_spread(console: Console, spread: Spread) -> None:
    """`plan --inventory`: which host holds what, the host tunnel between them, and the MTU it leaves."""
    table = Table(
        "host",
        "address",
        "link MTU",
        "nodes",
        "pods",
        "also",
        title=f"Lab {spread.lab} over {len(spread.hosts)} hosts ({spread.placement})",
        title_justify="left",
    )
    for h in spread.hosts:
        table.add_row(h.host, h.address, str(h.link_mtu), _nodes(h.nodes), str(h.pods), ", ".join(h.parts))
    console.print(table)
    if len(spread.hosts) > 1:
        console.print(
            f"host tunnel: VXLAN VNI {spread.vni}, UDP {spread.port}, a full mesh between "
            f"{', '.join(h.address for h in spread.hosts)}: the node subnet's one L2 segment"
        )
    console.print(f"MTU: {spread.mtu_note}")


def _nodes(names: list[str]) -> str:
    """node-1 .. node-34 (34) for a run, else the first few."""
    numbers = [int(n.removeprefix("node-")) for n in names]
    if len(numbers) > 2 and numbers == list(range(numbers[0], numbers[0] + len(numbers))):
        return f"{names[0]} .. {names[-1]} ({len(names)})"
    return ", ".join(names[:4]) + (f" (+{len(names) - 4})" if len(names) > 4 else "") or "-"


def print_plan(console: Console, plan: Plan, flows: bool = False) -> None:
    datapath = AUTO_DATAPATH if plan.datapath == "auto" else plan.datapath
    console.print(
        f"[bold]{plan.name}[/bold]: {plan.model} model, datapath {datapath}, "
        f"pod MTU {plan.pod_mtu} (underlay {plan.mtu})"
    )
    planes = Table("plane", "CIDR", title="Address planes", title_justify="left")
    planes.add_row("VPC", plan.vpc_cidr)
    planes.add_row("node subnet", f"{plan.node_subnet} (gateway {plan.router.ip})")
    planes.add_row("container", f"{plan.container_cidr} ({plan.capacity.blocks_total} blocks of {plan.block_size})")
    planes.add_row("Service", plan.service_cidr)
    console.print(planes)
    cap = plan.capacity
    limits = Table("rule", "max nodes", "", title="Capacity", title_justify="left")
    for lim in cap.limits:
        limits.add_row(lim.rule, str(lim.max_nodes), "[bold]binds[/bold]" if lim.rule == cap.binding_rule else "")
    console.print(limits)
    console.print(
        f"max nodes: [bold]{cap.max_nodes}[/bold] (bound by {cap.binding_rule}); "
        f"pods per node: {cap.pods_per_node}; blocks used {cap.blocks_used}/{cap.blocks_total}"
    )
    nodes = Table("node", "netns", "IP", "pod blocks", "pods", title="Nodes", title_justify="left")
    for n in plan.nodes:
        pods = plan.pods_on(n.name)
        ips = ", ".join(p.ip for p in pods[:4]) + (f" (+{len(pods) - 4})" if len(pods) > 4 else "")
        nodes.add_row(n.name, n.netns, n.ip, ", ".join(n.pod_cidrs), ips)
    for h in plan.hosts:
        nodes.add_row(f"[dim]{h.role}[/dim]", h.netns, h.ip, "", "")
    console.print(nodes)
    if plan.vpc_routes:
        routes = Table(
            "destination",
            "next hop",
            "",
            title=f"VPC route table ({len(plan.vpc_routes)} routes)",
            title_justify="left",
        )
        for r in plan.vpc_routes:
            routes.add_row(r.dst, r.via, r.note)
        console.print(routes)
    services = [ServiceSummary.of(s) for s in plan.services]
    print_services(console, services, [IngressSummary.of(i) for i in plan.ingresses])
    if plan.network_policies:
        table = Table(
            "NetworkPolicy", "selects (ingress isolated)", "admits", title="NetworkPolicy", title_justify="left"
        )
        for pol in plan.network_policies:
            admits = [
                ("every source" if r.any_source else ", ".join(r.sources) or "no pod")
                + f" on {', '.join(r.ports) or 'every port'}"
                for r in pol.rules
            ]
            table.add_row(
                f"{pol.namespace}/{pol.name}", ", ".join(pol.pods) or "no pod", "; ".join(admits) or "nothing"
            )
        console.print(table)
    if flows and plan.model == "tunnel" and plan.datapath != "linux-vxlan":
        for node in plan.nodes:  # streamed a node at a time: 2,000 nodes hold millions of flows
            console.print(f"[bold]{node.name}[/bold] br-int flows:")
            console.file.write("".join(f"  {line}\n" for line in ovs.flows(plan, node)))  # verbatim, no markup


def print_services(console: Console, services: list[ServiceSummary], ingresses: list[IngressSummary]) -> None:
    if services:
        table = Table(
            "Service",
            "type",
            "ClusterIP:port",
            "NodePort",
            "ELB / DNAT",
            "policy",
            "endpoints",
            title="Services",
            title_justify="left",
        )
        for s in services:
            front = (f"{s.vip}:{s.port}" + (f" (EIP {s.eip})" if s.eip else "")) if s.vip else "; ".join(s.dnat)
            policy = s.external_traffic_policy + (", ClientIP affinity" if s.session_affinity == "ClientIP" else "")
            policy += ", internal Local" if s.internal_traffic_policy == "Local" else ""
            name = s.name + (f":{s.port_name}" if s.port_name else "")
            name = name if s.namespace == "default" else f"{s.namespace}/{name}"
            eps = ", ".join(e.split()[0] for e in s.endpoints) or "[red]none[/red]"
            table.add_row(
                name, f"{s.type}/{s.protocol}", f"{s.cluster_ip}:{s.port}", str(s.node_port or ""), front, policy, eps
            )
        console.print(table)
    if ingresses:
        table = Table("host", "path", "Service", "address", title="Ingress (ELB, L7)", title_justify="left")
        for i in ingresses:
            table.add_row(i.host, i.path, i.service, f"{i.address} (HTTPS)" if i.tls else i.address)
        console.print(table)


def print_status(console: Console, st: LabStatus) -> None:
    if not st.model:  # interrupted before its plan was saved
        console.print(f"[bold]{st.name}[/bold]: {st.state} (run 'cce-lab down {st.name}')")
        return
    where = f", host {st.host}'s part of {len(set(st.placement.values()))} hosts" if st.host else ""
    console.print(
        f"[bold]{st.name}[/bold]: {st.state}{where}, {st.model} model, datapath {st.datapath}, "
        f"pod MTU {st.mtu}, {st.processes} lab processes"
    )
    table = Table("role", "name", "netns", "IP", "detail")
    for h in st.hosts:
        table.add_row(h.role, h.name, h.netns, h.ip, "")
    for n in st.nodes:
        on = f", on host {st.placement[n.name]}" if n.name in st.placement else ""
        table.add_row("node", n.name, n.netns, n.ip, f"{n.underlay_if}, pods {', '.join(n.pod_cidrs)}{on}")
    for p in st.pods:
        table.add_row("pod", p.name, p.netns, p.ip, f"on {p.node}")
    console.print(table)
    print_services(console, st.services, st.ingresses)
    if st.missing_netns:
        console.print(f"[red]missing namespaces:[/red] {', '.join(st.missing_netns)}")
    if st.altered:
        console.print(f"[red]altered by a change that was not undone:[/red] {', '.join(st.altered)}")


def print_checks(console: Console, report: CheckReport) -> None:
    results = report.results
    table = Table(
        "scenario",
        "expected",
        "actual",
        "",
        "source seen",
        "answered by",
        "detail",
        title=f"{report.name} ({report.model} model, datapath {report.datapath})",
        title_justify="left",
    )
    for r in results:
        cells = (escape(r.scenario), r.expected, escape(r.actual), _mark(r.ok), r.source, r.answered_by)
        table.add_row(*cells, escape(r.detail))
    console.print(table)
    failed = sum(not r.ok for r in results)
    console.print(f"{len(results) - failed} passed, {failed} failed")


def print_side_by_side(console: Console, reports: list[CheckReport]) -> None:
    """One row per scenario, one column per lab: the models compared at a glance."""
    table = Table("scenario", title="Side by side", title_justify="left")
    for report in reports:
        table.add_column(f"{report.name}: {report.model} / {report.datapath}")
    scenarios: list[str] = []
    for report in reports:
        scenarios += [r.scenario for r in report.results if r.scenario not in scenarios]
    for scenario in scenarios:
        cells = []
        for report in reports:
            r = next((r for r in report.results if r.scenario == scenario), None)
            cells.append(f"{r.actual} {_mark(r.ok)}" if r else "-")
        table.add_row(scenario, *cells)
    console.print(table)
