"""`cce-lab plan FILE`: the address plan and capacity figures (no root, nothing touched)."""

from __future__ import annotations

import argparse
import json

from lab import documents
from lab.cli.console import no_placement_alone, out, spec_of, spread_args, spread_of, topology_args
from lab.kernel.ipvs import missing as ipvs_missing
from lab.plan import make_plan
from lab.report import tables
from lab.spec import Spec


def add(sub) -> None:
    sp = sub.add_parser("plan", help="print the address plan and capacity figures (no root needed)")
    topology_args(sp)
    sp.add_argument("--json", action="store_true", help="the whole plan as JSON (schema in README)")
    sp.add_argument("--flows", action="store_true", help="also print each node's OpenFlow rules")
    spread_args(sp)
    sp.set_defaults(func=run)


def run(a: argparse.Namespace) -> int:
    spec = spec_of(a.file, a.param)
    if a.inventory:
        return _spread(a, spec)
    no_placement_alone(spec)
    # `datapath: auto` stays auto (nothing probes OVS here); IPVS is looked for, since no datapath stands in for it
    plan = make_plan(spec, ipvs_missing=ipvs_missing() if spec.kube_proxy_mode == "ipvs" else None)
    if a.json:
        print(json.dumps(documents.dump(plan), indent=2))
    else:
        tables.print_plan(out, plan, flows=a.flows)
    return 0


def _spread(a: argparse.Namespace, spec: Spec) -> int:
    ipvs = ipvs_missing() if spec.kube_proxy_mode == "ipvs" else None
    _, doc = spread_of(a, spec, lambda s: make_plan(s, ipvs_missing=ipvs))
    if a.json:
        print(json.dumps(documents.dump(doc), indent=2))
    else:
        tables.print_spread(out, doc)
    return 0
