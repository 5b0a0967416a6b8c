"""Rendering for people: plan, status and check tables (JSON is the callers' job)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lab.checks import Result
from lab.plan import Plan


def _mark(ok: bool) -> str:
    return "[green]PASS[/green]" if ok else "[red]FAIL[/red]"


def print_plan(console: Console, plan: Plan, flows: bool = False) -> None:
    console.print(
        f"[bold]{plan.name}[/bold]: {plan.model} model, datapath {plan.datapath}, "
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
    print_services(
        console,
        [s.summary() for s in plan.services],
        [{"host": i.host, "path": i.path, "service": i.service, "address": i.address} for i in plan.ingresses],
    )
    if flows:
        for node, lines in plan.flows.items():
            console.print(f"[bold]{node}[/bold] br-int flows:")
            for line in lines:
                console.print("  " + line, markup=False, soft_wrap=True)


def print_services(console: Console, services: list[dict[str, Any]], ingresses: list[dict[str, Any]]) -> None:
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
            front = f"{s['vip']}:{s['port']} (EIP {s['eip']})" if s["vip"] else "; ".join(s["dnat"])
            policy = s["external_traffic_policy"] + (
                ", ClientIP affinity" if s["session_affinity"] == "ClientIP" else ""
            )
            eps = ", ".join(e.split()[0] for e in s["endpoints"]) or "[red]none[/red]"
            table.add_row(
                s["name"],
                f"{s['type']}/{s['protocol']}",
                f"{s['cluster_ip']}:{s['port']}",
                str(s["node_port"] or ""),
                front,
                policy,
                eps,
            )
        console.print(table)
    if ingresses:
        table = Table("host", "path", "Service", "address", title="Ingress (ELB, L7)", title_justify="left")
        for i in ingresses:
            table.add_row(i["host"], i["path"], i["service"], i["address"])
        console.print(table)


def print_status(console: Console, st: dict[str, Any]) -> None:
    console.print(
        f"[bold]{st['name']}[/bold]: {st['state']}, {st['model']} model, datapath {st['datapath']}, "
        f"pod MTU {st['mtu']}, {st['processes']} lab processes"
    )
    table = Table("role", "name", "netns", "IP", "detail")
    for h in st["hosts"]:
        table.add_row(h["role"], h["name"], h["netns"], h["ip"], "")
    for n in st["nodes"]:
        table.add_row("node", n["name"], n["netns"], n["ip"], f"{n['underlay_if']}, pods {', '.join(n['pod_cidrs'])}")
    for p in st["pods"]:
        table.add_row("pod", p["name"], p["netns"], p["ip"], f"on {p['node']}")
    console.print(table)
    print_services(console, st["services"], st["ingresses"])
    if st["missing_netns"]:
        console.print(f"[red]missing namespaces:[/red] {', '.join(st['missing_netns'])}")


def print_checks(console: Console, name: str, model: str, results: list[Result]) -> None:
    table = Table(
        "scenario",
        "expected",
        "actual",
        "",
        "source seen",
        "answered by",
        "detail",
        title=f"{name} ({model} model)",
        title_justify="left",
    )
    for r in results:
        cells = (escape(r.scenario), r.expected, escape(r.actual), _mark(r.ok), r.source, r.answered_by)
        table.add_row(*cells, escape(r.detail))
    console.print(table)
    failed = sum(not r.ok for r in results)
    console.print(f"{len(results) - failed} passed, {failed} failed")


def print_side_by_side(console: Console, runs: list[tuple[Plan, list[Result]]]) -> None:
    """One row per scenario, one column per lab: the models compared at a glance."""
    table = Table("scenario", title="Side by side", title_justify="left")
    for plan, _ in runs:
        table.add_column(f"{plan.name}: {plan.model} / {plan.datapath}")
    scenarios: list[str] = []
    for _, results in runs:
        scenarios += [r.scenario for r in results if r.scenario not in scenarios]
    for scenario in scenarios:
        cells = []
        for _, results in runs:
            r = next((r for r in results if r.scenario == scenario), None)
            cells.append(f"{r.actual} {_mark(r.ok)}" if r else "-")
        table.add_row(scenario, *cells)
    console.print(table)


BENCH_COLUMNS = [
    ("tcp_1_gbps", "TCP 1 stream"),
    ("tcp_n_gbps", "TCP N streams"),
    ("udp_64_kpps", "UDP 64 B"),
    ("udp_large_gbps", "UDP large"),
    ("ping_p50_ms", "ping p50"),
    ("tcp_rr_p50_us", "TCP RR p50"),
]


def print_bench(console: Console, doc: dict[str, Any]) -> None:
    """Medians per lab and path, the datapath beside every figure."""
    table = Table(
        "lab / path",
        "datapath",
        "MTU",
        *(title for _, title in BENCH_COLUMNS),
        title="Performance (median)",
        title_justify="left",
    )
    for lab in doc["labs"]:
        for path, metrics in lab["paths"].items():
            cells = []
            for key, _ in BENCH_COLUMNS:
                m = metrics.get(key)
                cells.append(f"{m['median']:.3g} {m['unit']}" if m else "-")
            table.add_row(f"{lab['name']} / {path}", lab["datapath"], str(lab["mtu"]), *cells)
        for path, reason in lab.get("skipped", {}).items():
            table.add_row(
                f"{lab['name']} / {path}", lab["datapath"], str(lab["mtu"]), f"[dim]skipped: {escape(reason)}[/dim]"
            )
    console.print(table)
