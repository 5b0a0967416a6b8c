"""The topology picture as text: DOT for Graphviz and a Mermaid flowchart for Markdown. Pure.

Both are written from one `lab.render.picture.Picture`, so they show the same
elements. DOT is built with the `graphviz` binding (its quoting, not ours);
nothing here runs the `dot` binary: `lab.report.graph` does that. Every
element, cluster and link carries its id into the SVG (`id=`), which is how
the HTML page finds, colours and explains them.
"""

from __future__ import annotations

import re

import graphviz

from lab.plan.model import Plan
from lab.render.picture import Cluster, Link, Picture, picture

FONT = "DejaVu Sans"  # the font the playbook installs; dot measures labels with it
# kind -> DOT attributes of an element
NODE_STYLE: dict[str, dict[str, str]] = {
    "router": {"shape": "doubleoctagon", "fillcolor": "#fff3c4"},
    "bridge": {"shape": "box", "style": "filled", "fillcolor": "#eeeeee"},
    "node": {"shape": "box3d", "fillcolor": "#dbe9ff"},
    "pod": {"shape": "box", "style": "rounded,filled", "fillcolor": "#f4f8ff", "fontsize": "9"},
    "pods": {"shape": "folder", "fillcolor": "#f4f8ff", "fontsize": "9"},
    "host": {"shape": "component", "fillcolor": "#f1f1f1"},
    "eip": {"shape": "ellipse", "fillcolor": "#e6f7e6", "fontsize": "9"},
    "mesh": {"shape": "hexagon", "fillcolor": "#ffe4cc"},
    "service": {"shape": "cds", "fillcolor": "#f3e6ff", "fontsize": "9"},
}
# kind -> DOT attributes of a link; links that are not the physical layout do not rank the picture
EDGE_STYLE: dict[str, dict[str, str]] = {
    "wire": {"dir": "none"},
    "uplink": {"dir": "none", "penwidth": "2"},
    "peering": {"dir": "none", "style": "dashed"},
    "route": {"color": "#1f5fbf", "fontcolor": "#1f5fbf", "style": "bold", "constraint": "false"},
    "vxlan": {"dir": "none", "color": "#d46a00", "fontcolor": "#d46a00", "style": "dashed", "constraint": "false"},
    "eip": {"color": "#2e8b2e", "fontcolor": "#2e8b2e"},
    "endpoint": {"color": "#7a3db8", "fontcolor": "#7a3db8", "dir": "back"},
    "frontend": {"color": "#7a3db8", "fontcolor": "#7a3db8", "style": "dashed", "constraint": "false"},
}


def _nesting(pic: Picture) -> tuple[dict[str, list[Cluster]], dict[str, list]]:
    """The clusters inside each cluster, and the elements in each (both drawings nest the same way)."""
    children: dict[str, list[Cluster]] = {}
    for c in pic.clusters:
        children.setdefault(c.parent, []).append(c)
    members: dict[str, list] = {}
    for e in pic.elements:
        members.setdefault(e.cluster, []).append(e)
    return children, members


def _label(lines: tuple[str, ...] | list[str]) -> str:
    """Lines joined by DOT's centred line break; a backslash in a name stays a backslash."""
    return "\\n".join(line.replace("\\", "\\\\") for line in lines)


def _element_style(kind: str) -> dict[str, str]:
    style = dict(NODE_STYLE[kind])
    style.setdefault("style", "filled")
    return style


def to_dot(pic: Picture) -> str:
    g = graphviz.Digraph(
        "cce_lab",
        graph_attr={
            "rankdir": "LR",
            "compound": "true",
            "fontname": FONT,
            "labelloc": "t",
            "label": _label([pic.title, *pic.notes]),
            "nodesep": "0.25",
            "ranksep": "0.6",
        },
        node_attr={"fontname": FONT, "fontsize": "10"},
        edge_attr={"fontname": FONT, "fontsize": "8"},
    )
    children, members = _nesting(pic)

    def fill(graph: graphviz.Digraph, cluster: str) -> None:
        for e in members.get(cluster, []):
            graph.node(e.id, label=_label(e.lines), id=e.id, **_element_style(e.kind))
        for c in children.get(cluster, []):
            attrs = {"label": c.label, "id": c.id, "style": "rounded", "color": "#888888", "fontsize": "10"}
            with graph.subgraph(name=c.id, graph_attr=attrs) as sub:
                fill(sub, c.id)

    fill(g, "")
    for link in pic.links:
        attrs = dict(EDGE_STYLE[link.kind])
        if link.label:
            attrs["label"] = link.label
        # an endpoint link is drawn pod -> Service with the arrow back at the pod, so Services rank after pods
        tail, head = (link.head, link.tail) if link.kind == "endpoint" else (link.tail, link.head)
        g.edge(tail, head, id=link.id, **attrs)
    return g.source


def dot(plan: Plan, services: bool = False) -> str:
    """The DOT source of the plan's picture (`dot -Tsvg` lays it out)."""
    return to_dot(picture(plan, services))


# Mermaid: ids of letters, digits and _; labels quoted with Mermaid's entity for a quote.
_MERMAID_LINK = {
    "wire": "---",
    "uplink": "===",
    "peering": "-.-",
    "route": "==>",
    "vxlan": "-.-",
    "eip": "-->",
    "endpoint": "-->",
    "frontend": "-.->",
}
_MERMAID_SHAPE = {  # (open, close) of each kind's node shape
    "router": ("{{", "}}"),
    "bridge": ("[", "]"),
    "node": ("[", "]"),
    "pod": ("(", ")"),
    "pods": ("[(", ")]"),
    "host": ("[/", "/]"),
    "eip": ("([", "])"),
    "mesh": ("{{", "}}"),
    "service": (">", "]"),
}
_MERMAID_CLASS = {
    "router": "fill:#fff3c4,stroke:#8a6d00",
    "node": "fill:#dbe9ff,stroke:#1f5fbf",
    "pod": "fill:#f4f8ff,stroke:#7a8fb0",
    "pods": "fill:#f4f8ff,stroke:#7a8fb0",
    "eip": "fill:#e6f7e6,stroke:#2e8b2e",
    "mesh": "fill:#ffe4cc,stroke:#d46a00",
    "service": "fill:#f3e6ff,stroke:#7a3db8",
}


def mermaid_id(eid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", eid)


def _mtext(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def to_mermaid(pic: Picture) -> str:
    """A Mermaid flowchart (GitHub renders it in a ```mermaid block); title and notes in its front matter."""
    title = " · ".join([pic.title, *pic.notes]).replace("\\", "/").replace('"', "'")
    out = ["---", f'title: "{title}"', "---", "flowchart LR"]
    children, members = _nesting(pic)

    def fill(cluster: str, depth: int) -> None:
        pad = "  " * depth
        for e in members.get(cluster, []):
            op, cl = _MERMAID_SHAPE[e.kind]
            out.append(f'{pad}{mermaid_id(e.id)}{op}"{"<br/>".join(_mtext(x) for x in e.lines)}"{cl}')
        for c in children.get(cluster, []):
            out.append(f'{pad}subgraph {mermaid_id(c.id)}["{_mtext(c.label)}"]')
            fill(c.id, depth + 1)
            out.append(f"{pad}end")

    fill("", 1)
    for link in pic.links:
        out.append("  " + _mermaid_link(link))
    for kind, css in _MERMAID_CLASS.items():
        ids = [mermaid_id(e.id) for e in pic.elements if e.kind == kind]
        if ids:
            out.append(f"  classDef cce_{kind} {css}")  # not "node": Mermaid's own CSS class of every node
            out.append(f"  class {','.join(ids)} cce_{kind}")
    return "\n".join(out) + "\n"


def _mermaid_link(link: Link) -> str:
    arrow = _MERMAID_LINK[link.kind]
    tail, head = mermaid_id(link.tail), mermaid_id(link.head)
    if link.label:
        return f'{tail} {arrow}|"{_mtext(link.label)}"| {head}'
    return f"{tail} {arrow} {head}"


def mermaid(plan: Plan, services: bool = False) -> str:
    """The plan's picture as a Mermaid flowchart (put it in a ```mermaid block)."""
    return to_mermaid(picture(plan, services))
