"""`cce-lab move` and `scale`: pods made and removed on a running lab, through the same code `up` wires pods with.

In the order a Deployment's rolling update keeps: the new pod first (namespace,
veth, datapath port, its HTTP/UDP server), then the endpoints everywhere
(kube-proxy re-rendered for every node, one iptables-restore batch per node,
and the health-check counts the ELB probes), the plan saved, and only then the
old pod removed (its datapath port, veth and namespace). Every namespace and
process is journalled before it exists, so `down` removes them, also after a kill.
"""

from __future__ import annotations

import fcntl
import json
import time
from typing import TextIO

from lab import datapaths, documents
from lab.apply import health, ingress, kubeproxy, vpc
from lab.errors import LabError
from lab.kernel.journal import PART_FILE, Journal
from lab.netexec import launch as netexec
from lab.observe import status
from lab.plan import moves
from lab.plan.model import Plan, Pod
from lab.progress import Progress, quiet


def start_server(plan: Plan, pod: Pod, journal: Journal) -> None:
    """The new pod's HTTP/UDP server: a netexec process of its own (the lab's main one binds at `up`)."""
    tag = f"{pod.name}-{len(journal.entries())}"  # unique even if a name comes back
    config = journal.dir / f"netexec-{tag}.json"
    config.write_text(json.dumps({"targets": [{"name": pod.name, "netns": pod.netns, "ip": pod.ip, "port": pod.port}]}))
    pidfile = journal.dir / f"netexec-{tag}.pid"
    journal.add(pidfile=str(pidfile))
    netexec.start(config, pidfile, journal.dir / "netexec.log")


def resync(plan: Plan, journal: Journal) -> None:
    """Endpoints changed: kube-proxy on every node (one batch each), the health counts, the Ingress upstreams,
    the saved plan. (The NAT gateway's DNAT rules stay as `up` made them: no health check behind them.)"""
    for node in plan.nodes:
        kubeproxy.program(plan, node, fresh=False)
    health.write_state(plan, journal)
    ingress.reload(plan, journal)
    journal.save_plan(documents.dump(plan))


def check(plan: Plan, pod_name: str, node: str) -> None:
    """UsageError (exit 2) for an unknown pod or node, before anything is touched."""
    moves.move(plan, pod_name, node)


def _locked(name: str) -> tuple[Journal, TextIO]:
    journal = Journal(name)
    if journal.document(PART_FILE) is not None:
        raise LabError(f"lab {name} is spread over several hosts: move and scale work on a one-host lab only (yet)")
    lock = (journal.dir / "move.lock").open("w")
    fcntl.flock(lock, fcntl.LOCK_EX)  # one change at a time; the plan is read again under the lock
    return journal, lock


def _create(plan: Plan, pods: list[Pod], journal: Journal, progress: Progress) -> None:
    """New pods (in `plan` already), wired as `up` wires them: namespace, veth, datapath port, server."""
    datapath = datapaths.get(plan.datapath)
    for pod in pods:
        progress(f"{pod.name} on {pod.node}: {pod.ip}")
        node = plan.node(pod.node)
        vpc.pod_namespace(journal, pod)
        vpc.wire_pods(plan, node, [pod])
        datapath.attach(plan, node, [pod])
        start_server(plan, pod, journal)


def _remove(plan: Plan, pods: list[Pod], progress: Progress) -> None:
    """Pods gone from `plan`: their datapath port, veth and namespace."""
    datapath = datapaths.get(plan.datapath)
    for old in pods:
        progress(f"removing {old.name} from {old.node}")
        node = plan.node(old.node)
        datapath.detach(plan, node, old)
        vpc.unwire_pod(node, old)


def _apply(after: Plan, added: list[Pod], removed: list[Pod], journal: Journal, progress: Progress) -> float:
    _create(after, added, journal, progress)
    began = time.monotonic()
    progress(f"kube-proxy on {len(after.nodes)} nodes, health-check counts")
    resync(after, journal)
    took = time.monotonic() - began
    _remove(after, removed, progress)
    return took


def move(plan: Plan, pod_name: str, node: str, progress: Progress = quiet) -> tuple[Plan, Pod, Pod, float]:
    """Move `pod_name` to `node`; returns (the new plan, the old pod, the new pod, seconds the endpoints took)."""
    journal, lock = _locked(plan.name)
    with lock:
        after, old, pod = moves.move(status.load_plan(plan.name), pod_name, node)
        journal.add(move=old.name, to=node, new=pod.name)
        return after, old, pod, _apply(after, [pod], [old], journal, progress)


def scale(
    plan: Plan, workload: str, replicas: int, progress: Progress = quiet
) -> tuple[Plan, list[Pod], list[Pod], float]:
    """Scale `workload` to `replicas`; returns (the new plan, pods removed, pods added, seconds the endpoints took)."""
    journal, lock = _locked(plan.name)
    with lock:
        after, removed, added = moves.scale(status.load_plan(plan.name), workload, replicas)
        journal.add(scale=workload, replicas=replicas)
        return after, removed, added, _apply(after, added, removed, journal, progress)
