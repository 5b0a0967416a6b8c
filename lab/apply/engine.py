"""Apply: realise a plan on the kernel, recording every object as it is made; and take it down again.

Order: namespaces, the VPC (router, node NICs, ECS), pods, then the datapath
that joins the pods (routed for the VPC model, OVS or kernel VXLAN for the
tunnel model), then Services and the hosts around the cluster. A failure
anywhere undoes what the journal holds so far.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from lab import datapaths, documents
from lab.apply import hosttunnel, surroundings, vpc
from lab.errors import LabError
from lab.kernel import limits, netns
from lab.kernel.journal import PART_FILE, Journal
from lab.kernel.teardown import Removed, undo
from lab.plan import make_plan, spread
from lab.plan.model import Plan, PlanSlice
from lab.progress import Progress, quiet
from lab.spec import Spec


def plan_for_up(spec: Spec) -> Plan:
    """The plan `up` builds: `datapath: auto` resolved against this host (loading the OVS module where it can),
    and IPVS mode refused on a host without IPVS."""
    ovs_kernel = None
    if spec.model == "tunnel" and spec.datapath == "auto":
        from lab.datapaths.ovs import kernel_available

        ovs_kernel = kernel_available(load=True)
    ipvs_missing = None
    if spec.kube_proxy_mode == "ipvs":
        from lab.kernel.ipvs import missing

        ipvs_missing = missing()
    return make_plan(spec, ovs_kernel, ipvs_missing)


def up(plan: Plan, progress: Progress = quiet, part: PlanSlice | None = None, host_netns: str | None = None) -> bool:
    """Build the lab (`part`: only this host's slice of it, its host tunnel's socket in `host_netns`, None: the
    root namespace). Returns False (and changes nothing) if it is already up."""
    if plan.datapath == "auto":
        raise LabError("datapath auto is resolved by plan_for_up() before a lab is built")
    journal = Journal(plan.name)
    doc = documents.dump(plan)
    if journal.exists():
        return _already(journal, doc)
    try:
        journal.start(doc)  # the claim: of two `up` at once, exactly one gets past here
    except LabError:
        return _already(journal, doc)
    if part is not None:
        journal.save(PART_FILE, documents.dump(part))  # which part of the lab this host holds
    datapath = datapaths.get(plan.datapath)
    here = spread.everything(plan) if part is None else spread.here_of(plan, part)
    clash = [ns for ns in (plan.netns_names() if part is None else part.netns) if netns.exists(ns)]
    try:
        if clash:
            raise LabError(f"namespace {clash[0]} already exists and is not this lab's; pick another lab name")
        datapath.preflight(plan)
    except LabError:
        journal.remove()  # only the claim was made
        raise
    _warn_about_host_limits(plan, progress)
    try:
        progress(f"creating {len(here.netns)} namespaces")
        vpc.namespaces(plan, here, journal)
        progress("wiring the VPC: router, node NICs, ECS" if here.shared else "wiring this host's part of the subnet")
        vpc.router_and_nics(plan, here)
        if part is not None and part.remotes:
            progress(f"host tunnel {part.tunnel_if}: VNI {part.vni} to {', '.join(part.remotes)}")
            hosttunnel.build(part, host_netns)
        progress(f"creating {sum(len(plan.pods_on(n.name)) for n in here.nodes)} pods")
        vpc.pods(plan, here)
        progress(f"datapath {plan.datapath}")
        datapath.build(plan, here, journal, progress)
        progress("Services, kube-proxy and the hosts around the cluster" if here.shared else "Services, kube-proxy")
        surroundings.build(plan, here, journal, progress)
        journal.add(done=True)
    except BaseException as exc:
        progress("failed; removing what was created")
        try:
            undo(journal)
        except Exception as cleanup:  # report both: the cause first
            raise LabError(f"up failed: {exc}; and removing it failed too: {cleanup}") from exc
        if isinstance(exc, LabError | KeyboardInterrupt):
            raise
        raise LabError(f"up failed: {exc}") from exc
    return True


def neighbour_entries(plan: Plan) -> int:
    """About how many ARP entries the lab holds at once: each pod its gateway, each node its pods and peers."""
    per_node = len(plan.pods) + 2 * len(plan.nodes) + len(plan.hosts)
    return len(plan.pods) + per_node + len(plan.nodes) + len(plan.hosts)


def _warn_about_host_limits(plan: Plan, progress: Progress) -> None:
    limit, needed = limits.neighbour_table_limit(), neighbour_entries(plan)
    if limit is not None and needed > limit:
        progress(
            f"warning: this lab needs about {needed} neighbour (ARP) entries and the host's table holds {limit} "
            "(net.ipv4.neigh.default.gc_thresh3, shared by every namespace): ARP will fail; 'make setup' raises it"
        )


def _already(journal: Journal, doc: dict) -> bool:
    """What to say when the lab's journal exists: up (False), a different lab, being built, or leftovers."""
    name = journal.dir.name
    if journal.complete():
        changed = any("move" in e or "scale" in e for e in journal.entries())  # its pods changed since `up`
        if journal.plan() != doc and not changed:
            raise LabError(f"a different lab named {name} is up: run 'cce-lab down {name}' first")
        return False
    builder = journal.owner()
    if builder is not None:
        raise LabError(f"lab {name} is being built right now (by PID {builder}); wait for it, or 'cce-lab down {name}'")
    raise LabError(f"lab {name} has leftovers of an interrupted run: run 'cce-lab down {name}' first")


def down(name: str) -> Removed | None:
    """Remove everything lab `name` created; None if it is not up."""
    journal = Journal(name)
    if not journal.exists():
        if journal.dir.is_dir():  # an `up` killed between making the directory and claiming it
            journal.remove()
        return None
    return undo(journal)


@contextmanager
def session(plan: Plan, progress: Progress = quiet) -> Iterator[Plan]:
    """Up, work, always down: for `demo` and `compare`, which must never touch a lab they did not build."""
    if Journal(plan.name).exists():
        raise LabError(f"lab {plan.name} is already up: 'cce-lab down {plan.name}' first (it is left alone)")
    up(plan, progress)
    try:
        yield plan
    finally:
        removed = down(plan.name)
        if removed:
            progress(f"lab {plan.name} down: {removed}")
