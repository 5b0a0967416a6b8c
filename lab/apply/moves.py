"""`cce-lab move`: a pod rescheduled on a running lab, through the same code `up` wires pods with.

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

from lab import datapaths, documents
from lab.apply import health, kubeproxy, vpc
from lab.kernel.journal import Journal
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
    """Endpoints changed: kube-proxy on every node (one batch each), the health counts, the saved plan."""
    for node in plan.nodes:
        kubeproxy.program(plan, node, fresh=False)
    health.write_state(plan, journal)
    journal.save_plan(documents.dump(plan))


def check(plan: Plan, pod_name: str, node: str) -> None:
    """UsageError (exit 2) for an unknown pod or node, before anything is touched."""
    moves.move(plan, pod_name, node)


def move(plan: Plan, pod_name: str, node: str, progress: Progress = quiet) -> tuple[Plan, Pod, Pod, float]:
    """Move `pod_name` to `node`; returns (the new plan, the old pod, the new pod, seconds the endpoints took)."""
    journal = Journal(plan.name)
    with (journal.dir / "move.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one change at a time; the plan is read again under the lock
        return _move(status.load_plan(plan.name), pod_name, node, journal, progress)


def _move(plan: Plan, pod_name: str, node: str, journal: Journal, progress: Progress) -> tuple[Plan, Pod, Pod, float]:
    after, old, pod = moves.move(plan, pod_name, node)
    journal.add(move=old.name, to=node, new=pod.name)
    datapath = datapaths.get(plan.datapath)
    target = after.node(node)
    progress(f"{pod.name} on {node}: {pod.ip}")
    vpc.pod_namespace(journal, pod)
    vpc.wire_pods(after, target, [pod])
    datapath.attach(after, target, [pod])
    start_server(after, pod, journal)
    began = time.monotonic()
    progress(f"kube-proxy on {len(after.nodes)} nodes, health-check counts")
    resync(after, journal)
    took = time.monotonic() - began
    progress(f"removing {old.name} from {old.node}")
    datapath.detach(after, after.node(old.node), old)
    vpc.unwire_pod(after.node(old.node), old)
    return after, old, pod, took
