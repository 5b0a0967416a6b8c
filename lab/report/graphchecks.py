"""Check rows onto the picture: which elements each `check` row speaks of, and each element's colour. Pure.

A row's scenario names what it probed: nodes and pods by name ("node-2: the
node and its 4 pods answer"), Services by name ("ClusterIP Service web"),
hosts by role words (ECS, ELB, Ingress, NAT gateway, DNAT, intranet, peer,
Internet), EIPs and VIPs by address, and two nodes ("node-1 -> node-3") also
the tunnel or VPC route between them. A failing row also blames what its
detail names first in a clause ("node-2: connection refused", "never
reached: node-3") where that clause reports a failure. An element is red ("fail") when any row that maps to it
failed, green ("ok") when rows map to it and all passed, uncoloured otherwise.
"""

from __future__ import annotations

import re

from lab.observe.results import CheckReport, CheckResult
from lab.plan.model import Plan
from lab.render.picture import (
    MESH,
    eip_id,
    endpoint_element,
    host_id,
    mesh_as_hub,
    node_id,
    route_id,
    svc_id,
    vxlan_id,
)

# a name as the planner makes them, not part of a dotted host name or a longer name
_TOKEN = re.compile(r"(?<![\w.-])([a-z0-9][a-z0-9-]*)(?![\w-]|\.\w)")
_IP = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.]*\d)")
# words by which a clause of a detail reports a failure (a probe's error, a wrong answer)
_FAILURE = re.compile(
    r"timed out|refused|unreachable|no answer|no route|no reply|failed|error|dead|lost|\bsaw\b|\bnot\b|answered by"
)
# (pattern, role): role words in a scenario (case-insensitive where the pattern says so)
_ROLES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bECS\b"), "ecs"),
    (re.compile(r"\bELB\b|\bIngress\b"), "elb"),
    (re.compile(r"\bNAT gateway\b|\bDNAT\b", re.I), "nat-gateway"),
    (re.compile(r"\bintranet\b", re.I), "intranet-server"),
    (re.compile(r"\bpeer\b", re.I), "peer-host"),
    (re.compile(r"^Internet\b"), "internet-client"),
    (re.compile(r"-> Internet\b"), "internet-server"),
    (re.compile(r"\bInternet\b"), "internet-router"),
]


def _names(plan: Plan) -> dict[str, str]:
    """Every name a row may use -> the element it is drawn as (a collapsed pod: its node's pod box)."""
    names = {s.name: svc_id(s.name) for s in plan.services}
    names |= {p.name: endpoint_element(plan, p.name, p.node) for p in plan.pods}
    names |= {n.name: node_id(n.name) for n in plan.nodes}
    return names


def _addresses(plan: Plan) -> dict[str, str]:
    found = {h.ip: host_id(h.name) for h in plan.hosts}
    found |= {n.ip: node_id(n.name) for n in plan.nodes}
    found |= {eip: eip_id(eip) for eip in plan.node_eips.values()}
    found |= {h.eip: eip_id(h.eip) for h in plan.hosts if h.eip}
    return found


def _between(plan: Plan, a: str, b: str) -> list[str]:
    """The tunnel (or hub) or the VPC route that joins two nodes named in one row."""
    if plan.model == "tunnel":
        if mesh_as_hub(plan):
            return [MESH]
        order = [n.name for n in plan.nodes]
        x, y = sorted((a, b), key=order.index)
        return [vxlan_id(x, y)]
    blocks = {r.via: route_id(r.dst) for r in plan.vpc_routes}
    return [blocks[plan.node(n).ip] for n in (a, b) if plan.node(n).ip in blocks]


def elements_of(scenario: str, plan: Plan) -> list[str]:
    """The elements a row's scenario names, in the order they appear (no repeats)."""
    names, addresses = _names(plan), _addresses(plan)
    found: list[str] = []
    for pattern, role in _ROLES:
        host = plan.host(role)
        if host and pattern.search(scenario):
            found.append(host_id(host.name))
            if role == "internet-client":
                break  # "Internet -> ..." is the client, not the router too
    for ip in _IP.findall(scenario):
        if ip in addresses:
            found.append(addresses[ip])
    nodes = []
    for token in _TOKEN.findall(scenario):
        if token in names:
            found.append(names[token])
            if names[token] == node_id(token):
                nodes.append(token)
    if len(nodes) == 2 and " -> " in scenario:
        found += _between(plan, *nodes)
    return list(dict.fromkeys(found))


def blamed(row: CheckResult, plan: Plan) -> list[str]:
    """What a failing row's detail names at the head of a clause: the nodes and pods that did not answer."""
    if row.ok:
        return []
    names = _names(plan)
    found: list[str] = []
    for clause in row.detail.split(";"):
        clause = re.sub(r"^\s*from [^:]*:\s*", "", clause).strip()
        if clause.startswith("never reached:"):
            heads = [t.strip() for t in clause.split(":", 1)[1].split(",")]
        elif _FAILURE.search(clause):  # "pod-1-1 -> web-1" in the same detail is a client that was fine
            heads = [clause.split(" ", 1)[0].split(":", 1)[0]]
        else:
            heads = []
        found += [names[h] for h in heads if h in names]
    return list(dict.fromkeys(found))


def row_elements(row: CheckResult, plan: Plan) -> list[str]:
    return list(dict.fromkeys([*elements_of(row.scenario, plan), *blamed(row, plan)]))


def states(report: CheckReport, plan: Plan) -> dict[str, str]:
    """Element id -> "fail" if a row mapped to it failed, else "ok" (elements no row maps to are absent)."""
    out: dict[str, str] = {}
    for row in report.results:
        for eid in row_elements(row, plan):
            if not row.ok:
                out[eid] = "fail"
            else:
                out.setdefault(eid, "ok")
    return out


def rows(report: CheckReport, plan: Plan) -> list[dict[str, object]]:
    """The rows as the page lists them: each with its verdict and the elements it lights up."""
    return [
        {
            "scenario": r.scenario,
            "expected": r.expected,
            "actual": r.actual,
            "detail": r.detail,
            "ok": r.ok,
            "elements": row_elements(r, plan),
        }
        for r in report.results
    ]
