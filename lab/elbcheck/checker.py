"""The ELB health checker: one process in the ELB's namespace, probing every backend's /healthz.

For each LoadBalancer listener whose Service has a health-check node port
(`externalTrafficPolicy: Local`), every `interval` seconds it sends
`GET /healthz` to `<node IP>:<healthCheckNodePort>` from the ELB's own address.
A 200 is good; anything else, or no answer within `timeout`, is bad. A backend
changes state after `rise` good (or `fall` bad) results in a row, as a cloud
load balancer's health check does; when a listener's healthy set changes, its
two chains are rewritten in one `iptables-restore --noflush` (lab.render.edge).
Cluster-policy listeners are not probed: every node serves them.

It writes `elbcheck-state.json` (atomically) after every round: per listener,
the healthy nodes and each node's last result, which `check` reads. Run:
`python -m lab.elbcheck --config FILE --pidfile=PATH [--log FILE]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from lab import documents
from lab.kernel import netns
from lab.netexec.launch import log_stderr_to
from lab.plan.model import Plan, ServicePlan
from lab.render import edge

STATUS_FILE = "elbcheck-state.json"


@dataclass
class Backend:
    node: str
    ip: str
    healthy: bool
    streak: int = 0  # results in a row that disagree with `healthy`
    last: str = ""  # the last probe's result: "200", "503", "timeout", "refused"


@dataclass
class Listener:
    svc: ServicePlan
    port: int  # the health-check node port
    backends: list[Backend] = field(default_factory=list)

    def healthy(self) -> list[Backend]:
        return [b for b in self.backends if b.healthy]


def _log(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} elbcheck[{os.getpid()}]: {message}", file=sys.stderr, flush=True)


async def probe(ip: str, port: int, timeout: float) -> str:
    """One health check: the HTTP status code, or why there is none."""

    async def get() -> str:
        reader, writer = await asyncio.open_connection(ip, port)
        try:
            writer.write(f"GET /healthz HTTP/1.1\r\nHost: {ip}:{port}\r\nConnection: close\r\n\r\n".encode())
            await writer.drain()
            line = await reader.readline()
        finally:
            writer.close()
        parts = line.decode(errors="replace").split()
        return parts[1] if len(parts) >= 2 else "bad answer"

    try:
        return await asyncio.wait_for(get(), timeout)
    except TimeoutError:
        return "timeout"
    except OSError as exc:
        return exc.strerror or "error"


def settle(b: Backend, result: str, rise: int, fall: int) -> bool:
    """Count one result; True when the backend changes state."""
    good = result == "200"
    if good == b.healthy:
        b.streak = 0
        return False
    b.streak += 1
    if b.streak >= (rise if good else fall):
        b.healthy, b.streak = good, 0
        return True
    return False


def listeners(plan: Plan, config: dict) -> list[Listener]:
    """The probed listeners, each backend starting as `up` left it (the plan's backends)."""
    found = []
    for entry in config["services"]:
        svc = next(s for s in plan.services if s.label == entry["label"] and s.type == "LoadBalancer")
        start = {n.name for n in svc.backends(plan.nodes)}
        backends = [Backend(b["node"], b["ip"], b["node"] in start) for b in entry["backends"]]
        found.append(Listener(svc, entry["port"], backends))
    return found


def program(plan: Plan, listener: Listener) -> None:
    text = edge.elb_backends(plan, listener.svc, [b.ip for b in listener.healthy()])
    done = subprocess.run([plan.iptables_tool("restore"), "--noflush"], input=text, text=True, capture_output=True)
    if done.returncode != 0:
        _log(f"iptables-restore for {listener.svc.label} failed: {done.stderr.strip()}")


def write_status(path: Path, found: list[Listener], rounds: int) -> None:
    doc = {
        "probed": time.time(),
        "rounds": rounds,
        "listeners": {
            li.svc.label: {
                "healthy": [b.node for b in li.healthy()],
                "last": {b.node: b.last for b in li.backends},
            }
            for li in found
        },
    }
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(doc))
    os.replace(tmp, path)


async def run(plan: Plan, config: dict, status: Path, pidfile: Path) -> None:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    found = listeners(plan, config)
    interval, timeout = float(config["interval"]), float(config["timeout"])
    rise, fall = int(config["rise"]), int(config["fall"])
    write_status(status, found, 0)
    tmp = pidfile.with_name(f".{pidfile.name}.tmp")
    tmp.write_text(f"{os.getpid()}\n")
    os.replace(tmp, pidfile)
    _log(f"probing {sum(len(li.backends) for li in found)} backends of {len(found)} listeners every {interval:g} s")
    rounds = 0
    try:
        while not stopping.is_set():
            began = loop.time()
            pairs = [(li, b) for li in found for b in li.backends]
            results = await asyncio.gather(*(probe(b.ip, li.port, timeout) for li, b in pairs))
            changed: list[Listener] = []
            for (li, b), result in zip(pairs, results, strict=True):
                b.last = result
                if settle(b, result, rise, fall) and li not in changed:
                    changed.append(li)
            for li in changed:
                program(plan, li)
                _log(f"{li.svc.label}: healthy backends now {[b.node for b in li.healthy()] or 'none (REJECT)'}")
            rounds += 1
            write_status(status, found, rounds)
            with_rest = interval - (loop.time() - began)
            if with_rest > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), with_rest)
    finally:
        with contextlib.suppress(OSError, ValueError, IndexError):
            if int(pidfile.read_text().split()[0]) == os.getpid():
                pidfile.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.elbcheck", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--pidfile", required=True, type=Path, help="written once it probes")
    parser.add_argument("--log", type=Path)
    args = parser.parse_args(argv)
    log_stderr_to(args.log)
    try:
        config = json.loads(args.config.read_text())
        plan = documents.load(Plan, json.loads(Path(config["plan"]).read_text()), "plan.json")
        elb = plan.host("elb")
        if elb is None:
            raise ValueError("the lab has no ELB")
        netns.enter(elb.netns)  # for good: probes leave from the ELB, iptables-restore edits its tables
    except (OSError, ValueError, KeyError, StopIteration) as exc:
        print(f"elbcheck: error: {exc}", file=sys.stderr, flush=True)
        return 2
    asyncio.run(run(plan, config, args.config.with_name(STATUS_FILE), args.pidfile))
    return 0
