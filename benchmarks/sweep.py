"""Sweep `cce-lab up`/`down` wall time and peak memory over node and pod count, with Mininet as the reference.

    .venv/bin/python benchmarks/sweep.py [--points 5x4,10x10] [--quick] [--runs 2] [--mininet-limit 300]

For every point NODESxPODS (pods per node) and every run:

- cce-lab: the real CLI, `up topologies/scale.py -p nodes=N -p pods=P -p name=sweep` (VPC model,
  scale.py's default) then `down sweep`, each timed as a whole command (interpreter start included);
  peak RSS is the `up` process's ru_maxrss. `down sweep` runs even when `up` fails or is interrupted.
- Mininet: a child process (`benchmarks/sweep.py --mininet-child N P`) builds N*(P+1) hosts, the same
  number of namespaces cce-lab makes for N nodes and N*P pods (cce-lab adds its VPC router and ECS):
  one LinuxBridge switch per node holding that node's P+1 hosts, every node switch linked to one
  core switch (a Linux bridge takes at most 1024 ports). "up" = build + net.start(), "down" =
  net.stop(), timed inside the child; peak RSS is the child's ru_maxrss. Mininet's own cleanup
  (`mn -c`) is never used: net.stop() removes what the run made, and after each run the root
  namespace is checked for interfaces named like its switches and hosts and /proc for processes
  the run started; anything left stops the benchmark.
  A Mininet run that goes past --mininet-limit seconds (build + start + stop, default 300) is
  stopped: the child is killed by its PID (a half-built Mininet cannot be trusted to tear itself
  down in bounded time), then exactly what that run made is removed: the processes that carry the
  run's tag in their environment (its host and switch shells, by PID; their unnamed namespaces
  and the veth ends in them go with them) and the root-namespace interfaces with Mininet's names
  that were not there before the run (`ip link del`, by name). The row then says "stopped at N s
  (limit)", and larger points are not tried for Mininet.
  Unlike cce-lab, Mininet puts its bridges and the switch ends of its veth pairs in the ROOT
  namespace while it runs. Its fixLimits() system-wide sysctls are skipped (they would outlive the
  run and change a shared machine); its per-process rlimits are applied.

Writes benchmarks/results/sweep.json, sweep.png and sweep.md; prints the table on stdout, progress on
stderr. Needs root, bridge-utils (brctl) and Debian's python3-mininet. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CLI = [sys.executable, "-m", "lab.cli"]
LAB = "sweep"
DEFAULT_POINTS = "5x4,10x10,25x20,50x20"
QUICK_POINTS = "5x4,10x10"
MININET_LIMIT_S = 300.0  # default --mininet-limit: a Mininet run (build + start + stop) longer than this is stopped
RUN_TAG = "CCE_LAB_SWEEP_MININET_RUN"  # in the environment of every process a Mininet run starts
MININET_LINK = re.compile(r"^(?:[sh]\d+(?:-eth\d+)?|c0)$")  # s0, s1-eth3, h12, h12-eth0, c0
TOOLS = ("cce-lab", "Mininet")
COLORS = {"cce-lab": "#1f77b4", "Mininet": "#d62728"}

_live: set[int] = set()  # PIDs of children this script started and has not reaped


class BenchError(Exception):
    """The benchmark cannot go on: a run failed or left something behind."""


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --- what is in the root namespace and in /proc ---------------------------------------------------


def _root_links() -> set[str]:
    return set(os.listdir("/sys/class/net"))


def _netns() -> set[str]:
    try:
        return set(os.listdir("/run/netns"))
    except FileNotFoundError:
        return set()


def _lab_netns() -> list[str]:
    return sorted(n for n in _netns() if n.startswith(f"{LAB}-"))


def _ppids() -> dict[int, int]:
    """PID -> parent PID of every process."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        out[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])  # the name may hold spaces and ')'
    return out


def _descendants(pid: int) -> list[int]:
    ppids = _ppids()
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        kids = [p for p, pp in ppids.items() if pp == parent]
        found += kids
        todo += kids
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def _tagged(tag: str) -> list[int]:
    """Processes whose environment carries this run's tag (what a Mininet run started and left)."""
    needle = f"{RUN_TAG}={tag}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            if needle in Path(f"/proc/{entry}/environ").read_bytes().split(b"\0"):
                found.append(int(entry))
        except OSError:
            continue
    return found


def _pss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            continue
    return total


# --- running children -----------------------------------------------------------------------------


def _reap(pid: int) -> tuple[int, os.struct_rusage | None]:
    """Wait for a child we started, whatever the user presses meanwhile (it is cleaning up)."""
    while True:
        try:
            _, status, usage = os.wait4(pid, 0)
            _live.discard(pid)
            return status, usage
        except KeyboardInterrupt:
            _log(f"still waiting for process {pid} to finish its clean-up")
        except ChildProcessError:
            _live.discard(pid)
            return 0, None


def _measured(
    cmd: list[str], *, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=None, timeout: float | None = None
) -> tuple[float, int, os.struct_rusage, bool]:
    """Run cmd; wall seconds, exit code, its rusage and whether it overran `timeout` (then it was stopped)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=stdout, stderr=stderr, env=env)
    _live.add(proc.pid)
    timed_out = False
    try:
        if timeout is None:
            _, status, usage = os.wait4(proc.pid, 0)
        else:
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() - t0 > timeout:
                    timed_out = True
                    _log(f"  over {timeout:.0f} s: killing process {proc.pid}; the caller removes what it made")
                    os.kill(proc.pid, signal.SIGKILL)
                    status, usage = _reap(proc.pid)
                    break
                time.sleep(0.2)
    except BaseException:
        _reap(proc.pid)  # interrupted: let the child undo its work before we go on cleaning up
        raise
    elapsed = time.perf_counter() - t0
    _live.discard(proc.pid)
    proc.returncode = os.waitstatus_to_exitcode(status)  # collected here, not by Popen
    return elapsed, proc.returncode, usage, timed_out


def _on_sigterm(signum, frame) -> None:
    for pid in list(_live):  # only our own children, by PID
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGINT)
    raise KeyboardInterrupt


# --- cce-lab ----------------------------------------------------------------------------------------


def _down(required: bool) -> float:
    t, code, _, _ = _measured([*CLI, "down", LAB])
    left = _lab_netns()
    if code != 0 or left:
        msg = f"`cce-lab down {LAB}` failed (exit {code}); namespaces left: {left or 'none'}"
        if required:
            raise BenchError(msg)
        _log(msg)
    return t


def _cce_run(n: int, p: int) -> dict:
    links_before = _root_links()
    up = ["up", "topologies/scale.py", "-p", f"nodes={n}", "-p", f"pods={p}", "-p", f"name={LAB}"]
    try:
        t_up, code, usage, _ = _measured([*CLI, *up])
        if code != 0:
            raise BenchError(
                f"`cce-lab {' '.join(up)}` failed (exit {code}); nothing timed. "
                f"Run `.venv/bin/python -m lab.cli {' '.join(up)}` by hand to see why."
            )
        namespaces = len(_lab_netns())
        root_added = len(_root_links() - links_before)
        status = subprocess.run([*CLI, "status", LAB, "--json"], cwd=ROOT, capture_output=True, text=True)
        processes = json.loads(status.stdout)["processes"] if status.returncode == 0 else None
        daemons = []  # what stays running while the lab is up (netexec): its memory is not in `up`'s RSS
        for pidfile in Path(f"/run/cce-lab/{LAB}").rglob("*.pid"):
            with contextlib.suppress(OSError, ValueError):
                daemons.append(int(pidfile.read_text().split()[0]))
        daemon_pss = _pss_kib(daemons)
    except BaseException:
        _down(required=False)
        raise
    t_down = _down(required=True)
    return {
        "up_s": t_up,
        "down_s": t_down,
        "peak_rss_kib": usage.ru_maxrss,
        "namespaces": namespaces,
        "root_ns_links_added": root_added,
        "processes_while_up": processes,
        "daemon_pss_kib_while_up": daemon_pss,
    }


# --- Mininet ----------------------------------------------------------------------------------------


def _mininet_child(n: int, p: int) -> int:
    """Build, start and stop one Mininet network; print its timings as JSON (runs as the child)."""
    from resource import RLIMIT_NOFILE, RLIMIT_NPROC

    from mininet.log import setLogLevel
    from mininet.net import Mininet
    from mininet.nodelib import LinuxBridge
    from mininet.topo import Topo
    from mininet.util import rlimitTestAndSet

    def _stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    setLogLevel("warning")
    rlimitTestAndSet(RLIMIT_NPROC, 8192)  # what Mininet's fixLimits() does for the process...
    rlimitTestAndSet(RLIMIT_NOFILE, 16384)
    Mininet.inited = True  # ...but not its system-wide sysctls, which would outlive the run

    class Cluster(Topo):
        def build(self, nodes: int, pods: int) -> None:
            core = self.addSwitch("s0")
            h = 0
            for i in range(1, nodes + 1):
                switch = self.addSwitch(f"s{i}")
                self.addLink(switch, core)
                for _ in range(pods + 1):  # the node itself and its pods
                    h += 1
                    self.addLink(self.addHost(f"h{h}"), switch)

    links_before = _root_links()
    out: dict = {"hosts": n * (p + 1), "switches": n + 1}
    net = None
    t0 = time.perf_counter()
    try:
        net = Mininet(topo=Cluster(nodes=n, pods=p), switch=LinuxBridge, controller=None, autoSetMacs=True, build=False)
        net.build()
        t_built = time.perf_counter()
        net.start()
        t_up = time.perf_counter()
        out |= {"build_s": t_built - t0, "start_s": t_up - t_built, "up_s": t_up - t0}
        tree = _descendants(os.getpid())
        out |= {
            "links": len(net.links),
            "processes_while_up": len(tree),
            "tree_pss_kib_while_up": _pss_kib([os.getpid(), *tree]),
            "root_ns_links_added": len(_root_links() - links_before),
        }
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the tear-down is not to be cut short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if net is not None:
            t_stop = time.perf_counter()
            net.stop()
            out["down_s"] = time.perf_counter() - t_stop
    deadline = time.monotonic() + 10
    while (left := _descendants(os.getpid())) and time.monotonic() < deadline:
        time.sleep(0.2)
    out["children_left"] = [f"{pid} {_cmdline(pid)}" for pid in left]
    print(json.dumps(out), flush=True)
    return 0


def _remove_run(tag: str, before: set[str]) -> dict:
    """After a killed Mininet child: remove exactly what its run made. Its processes (tagged in their
    environment; killed by PID until none is left: each held an unnamed namespace with its veth ends),
    then the root-namespace interfaces with Mininet's names that were not there before the run."""
    t0 = time.perf_counter()
    killed: set[int] = set()
    deadline = time.monotonic() + 30
    while (pids := _tagged(tag)) and time.monotonic() < deadline:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            killed.add(pid)
        time.sleep(0.2)
    links = sorted(name for name in _root_links() - before if MININET_LINK.match(name))
    if links:  # -force: a veth end may vanish on its own while its peer's namespace is freed
        batch = "".join(f"link del {name}\n" for name in links)
        subprocess.run(["ip", "-force", "-batch", "-"], input=batch, text=True, capture_output=True)
    return {"processes_killed": len(killed), "links_deleted": len(links), "removal_s": time.perf_counter() - t0}


def _mininet_run(n: int, p: int, limit: float) -> dict:
    """One Mininet run in a child; past `limit` s it is stopped and {"stopped_at_s": ...} comes back."""
    before = _root_links()
    clash = sorted(name for name in before if MININET_LINK.match(name))
    if clash:
        raise BenchError(f"root namespace already has {', '.join(clash[:8])}: another Mininet is running? not starting")
    tag = uuid.uuid4().hex
    env = {**os.environ, RUN_TAG: tag}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--mininet-child", str(n), str(p)]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            elapsed, code, usage, timed_out = _measured(cmd, stdout=out, stderr=err, env=env, timeout=limit)
        except KeyboardInterrupt:  # the child has stopped its network and exited: say whether it left anything
            links = sorted(name for name in _root_links() if MININET_LINK.match(name) or name not in before)
            procs = [f"{pid} {_cmdline(pid)}" for pid in _tagged(tag)]
            _log(
                f"Mininet {n}x{p} interrupted; left behind: interfaces {links[:20] or 'none'}, "
                f"processes {procs[:20] or 'none'}"
            )
            raise
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    removed = _remove_run(tag, before) if timed_out else {}
    if timed_out:
        _log(
            f"  removed what the run made: {removed['processes_killed']} processes (by PID), "
            f"{removed['links_deleted']} root-namespace interfaces, in {removed['removal_s']:.1f} s"
        )
    deadline = time.monotonic() + 10
    while (procs := _tagged(tag)) and time.monotonic() < deadline:
        time.sleep(0.2)
    links = sorted(name for name in _root_links() if MININET_LINK.match(name) or name not in before)
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    result = json.loads(lines[-1]) if lines else {}
    left = [f"{pid} {_cmdline(pid)}" for pid in procs] + result.get("children_left", [])
    if links or left:
        raise BenchError(
            f"Mininet {n}x{p} left things behind after net.stop(): interfaces in the root namespace "
            f"{links[:20] or 'none'}, processes {left[:20] or 'none'}. Stopping; nothing was cleaned up by this script."
        )
    if timed_out:
        return {"stopped_at_s": elapsed, "limit_s": limit, **removed}
    if code != 0 or not lines:  # it cleaned up (checked above): a row that says why, larger points not tried
        tail = stderr.strip().splitlines()[-15:]
        _log(f"  Mininet child {n}x{p} failed (exit {code}):\n" + "\n".join(tail))
        return {"failed_after_s": elapsed, "error": tail[-1] if tail else f"exit {code}"}
    result["peak_rss_kib"] = usage.ru_maxrss
    return result


# --- the sweep and its reports -------------------------------------------------------------------


def _parse_points(text: str) -> list[tuple[int, int]]:
    points = []
    for item in text.split(","):
        m = re.fullmatch(r"\s*(\d+)\s*x\s*(\d+)\s*", item)
        if not m or int(m[1]) < 1 or int(m[2]) < 1:
            raise argparse.ArgumentTypeError(f"bad point {item!r}: want NODESxPODS, e.g. 10x10")
        points.append((int(m[1]), int(m[2])))
    return points


def _summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


def _environment() -> dict:
    from mininet.net import VERSION

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    return {
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "mininet": VERSION,
        "cce_lab_commit": git("rev-parse", "--short", "HEAD"),
        "cce_lab_lab_code_modified": bool(git("status", "--porcelain", "--", "lab", "topologies")),
    }


def _fmt(s: dict) -> str:
    return f"{s['median']:.2f} s ({s['min']:.2f}-{s['max']:.2f})"


def _table(doc: dict) -> str:
    env, runs = doc["environment"], doc["runs"]
    rows = [
        "| point (nodes x pods) | hosts | tool | up: median (min-max) | down: median (min-max) | peak RSS |",
        "|---|---|---|---|---|---|",
    ]
    for r in doc["results"]:
        if r.get("dropped"):
            rows.append(f"| {r['point']} | {r['hosts']} | {r['tool']} | {r['dropped']} | | |")
            continue
        rows.append(
            f"| {r['point']} | {r['hosts']} | {r['tool']} | {_fmt(r['up_s'])} | {_fmt(r['down_s'])} "
            f"| {r['peak_rss_mib']:.0f} MiB |"
        )
    mn = [r for r in doc["results"] if r["tool"] == "Mininet" and not r.get("dropped")]
    notes = [
        "",
        f"{runs} runs per point and tool; kernel {env['kernel']}, {env['cpus']} CPUs ({env['cpu_model']}), "
        f"Python {env['python']}, Mininet {env['mininet']}, cce-lab {env['cce_lab_commit']}.",
        "hosts = nodes x (pods + 1): the node and pod namespaces cce-lab makes (plus its VPC router and ECS) and "
        "the Mininet hosts. cce-lab: `cce-lab up topologies/scale.py` (VPC model) and `cce-lab down`, wall time of "
        "the CLI command (Python start included), peak RSS of `up`. Mininet: one LinuxBridge per node + a core "
        "bridge; up = build + `net.start()`, down = `net.stop()`, timed in a child process whose peak RSS is shown "
        "(the Python process; each Mininet host is also a `bash` process that stays for the network's lifetime).",
    ]
    if mn:
        big = max(mn, key=lambda r: r["hosts"])
        cce = next((r for r in doc["results"] if r["tool"] == "cce-lab" and r["point"] == big["point"]), None)
        notes.append(
            f"While up, Mininet {big['point']} adds {big['root_ns_links_added']} interfaces (bridges and veth ends) to "
            f"the root namespace and keeps {big['processes_while_up']} processes running (a shell per host and "
            f"switch, {big['tree_pss_mib']:.0f} MiB PSS with its Python process); "
            + (
                f"cce-lab {cce['point']} adds {cce['root_ns_links_added']} root-namespace interfaces (its veths live "
                f"inside its namespaces) and keeps {cce['processes_while_up']} process(es) running (netexec, one "
                f"socket per pod: {cce['tree_pss_mib']:.0f} MiB PSS)."
                if cce and not cce.get("dropped")
                else "cce-lab keeps its interfaces inside its namespaces."
            )
        )
    return "\n".join(rows + notes) + "\n"


def _chart(doc: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    env = doc["environment"]
    plt.rcParams.update({"font.size": 12})
    fig, axes = plt.subplots(1, 3, figsize=(19, 6.2), dpi=100)
    panels = [
        ("up_s", "up (build) time, s"),
        ("down_s", "down (tear-down) time, s"),
        ("peak_rss_mib", "memory, MiB"),
    ]
    hosts_all = sorted({r["hosts"] for r in doc["results"]})
    labels = {r["hosts"]: f"{r['hosts']}\n({r['point']})" for r in doc["results"]}
    for ax, (key, title) in zip(axes, panels, strict=True):
        values = []
        for tool in TOOLS:
            rows = sorted(
                (r for r in doc["results"] if r["tool"] == tool and not r.get("dropped")), key=lambda r: r["hosts"]
            )
            if not rows:
                continue
            xs = [r["hosts"] for r in rows]
            if key == "peak_rss_mib":  # four close lines: label only the largest point of each, on the right
                ys = [r[key] for r in rows]
                kept = [r["tree_pss_mib"] for r in rows]
                ax.plot(xs, ys, marker="o", ms=7, lw=2, color=COLORS[tool], label=f"{tool}: peak RSS while building")
                ax.plot(
                    xs, kept, marker="s", ms=6, lw=1.5, ls="--", color=COLORS[tool], label=f"{tool}: kept running (PSS)"
                )
                for y in (ys[-1], kept[-1]):
                    ax.annotate(
                        f"{y:.0f}",
                        (xs[-1], y),
                        textcoords="offset points",
                        xytext=(9, 0),
                        va="center",
                        fontsize=10,
                        color=COLORS[tool],
                    )
                values += ys + kept
                continue
            else:
                ys = [r[key]["median"] for r in rows]
                err = [
                    [y - r[key]["min"] for y, r in zip(ys, rows, strict=True)],
                    [r[key]["max"] - y for y, r in zip(ys, rows, strict=True)],
                ]
                ax.errorbar(xs, ys, yerr=err, marker="o", ms=7, lw=2, capsize=5, color=COLORS[tool], label=tool)
                values += [r[key]["min"] for r in rows] + [r[key]["max"] for r in rows]
            for x, y in zip(xs, ys, strict=True):
                text = f"{y:.0f}" if key == "peak_rss_mib" else (f"{y:.2f}" if y < 10 else f"{y:.0f}")
                ax.annotate(
                    text,
                    (x, y),
                    textcoords="offset points",
                    xytext=(8, -14) if tool == "cce-lab" else (-8, 6),
                    ha="left" if tool == "cce-lab" else "right",
                    fontsize=10,
                    color=COLORS[tool],
                )
        for tool in TOOLS:
            for r in doc["results"]:
                if r["tool"] == tool and r.get("dropped"):
                    ax.axvline(r["hosts"], color=COLORS[tool], ls=":", lw=1)
                    ax.text(
                        r["hosts"],
                        0.5,
                        f"{tool}\nstopped (limit)",
                        transform=ax.get_xaxis_transform(),
                        rotation=90,
                        ha="right",
                        va="center",
                        fontsize=9,
                        color=COLORS[tool],
                    )
        positive = [v for v in values if v > 0]
        if key == "peak_rss_mib" or (positive and max(positive) / min(positive) > 20):
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            if max(positive) / min(positive) < 30:  # less than two decades: label 25, 50, 100, 200... instead
                ax.yaxis.set_major_locator(FixedLocator([10, 25, 50, 100, 200, 400, 800, 1600]))
                ax.yaxis.set_minor_formatter(NullFormatter())
        ax.margins(y=0.1)
        ax.set_xscale("log")
        ax.set_xticks(hosts_all)
        ax.set_xticklabels([labels[h] for h in hosts_all])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlim(hosts_all[0] / 1.5, hosts_all[-1] * 1.6)
        ax.set_xlabel("hosts = namespaces (nodes x pods per node)")
        ax.set_title(title + (" (log)" if ax.get_yscale() == "log" else ""))
        ax.grid(True, which="major", alpha=0.35)
        ax.grid(True, which="minor", axis="y", alpha=0.12)
        ax.legend(loc="upper left", fontsize=10 if key == "peak_rss_mib" else 12)
    fig.suptitle(
        f"cce-lab (VPC model, topologies/scale.py) vs Mininet (LinuxBridge per node): up/down wall time and peak "
        f"memory\n{env['cpus']} CPUs ({env['cpu_model']}), {env['memory_gib']:.0f} GiB, kernel {env['kernel']}, "
        f"Mininet {env['mininet']}, cce-lab {env['cce_lab_commit']}; median of {doc['runs']} runs, bars = min-max",
        fontsize=13,
    )
    fig.text(
        0.5,
        0.01,
        "cce-lab time = whole CLI command; Mininet time = build + net.start() / net.stop() inside its process. "
        "Mininet's bridges and veth ends live in the root namespace while it runs; cce-lab's inside its namespaces.\n"
        "Memory: solid = peak RSS of `cce-lab up` / of Mininet's Python process; dashed = processes that stay while "
        "the network is up (cce-lab: netexec; Mininet: its Python process and a bash per host and switch).",
        ha="center",
        fontsize=10,
        color="#444444",
    )
    fig.subplots_adjust(left=0.04, right=0.99, top=0.84, bottom=0.2, wspace=0.16)
    fig.savefig(path)
    plt.close(fig)


def _sweep(points: list[tuple[int, int]], runs: int, limit: float) -> list[dict]:
    results = []
    mininet_dropped_at = None
    for n, p in points:
        point, hosts = f"{n}x{p}", n * (p + 1)
        samples: list[dict] = []
        for k in range(runs):
            _log(f"cce-lab {point} run {k + 1}/{runs} ...")
            s = _cce_run(n, p)
            _log(f"  up {s['up_s']:.2f} s, down {s['down_s']:.2f} s, peak RSS {s['peak_rss_kib'] / 1024:.0f} MiB")
            samples.append(s)
        results.append(
            {
                "point": point,
                "nodes": n,
                "pods_per_node": p,
                "tool": "cce-lab",
                "hosts": hosts,
                "namespaces": samples[0]["namespaces"],
                "up_s": _summary([s["up_s"] for s in samples]),
                "down_s": _summary([s["down_s"] for s in samples]),
                "peak_rss_mib": max(s["peak_rss_kib"] for s in samples) / 1024,
                "root_ns_links_added": max(s["root_ns_links_added"] for s in samples),
                "processes_while_up": samples[0]["processes_while_up"],
                "tree_pss_mib": max(s["daemon_pss_kib_while_up"] for s in samples) / 1024,
            }
        )
        row = {"point": point, "nodes": n, "pods_per_node": p, "tool": "Mininet", "hosts": hosts, "namespaces": hosts}
        if mininet_dropped_at:
            row["dropped"] = f"not tried: {mininet_dropped_at} already did not finish"
            _log(f"Mininet {point}: skipped ({row['dropped']})")
            results.append(row)
            continue
        samples = []
        for k in range(runs):
            _log(f"Mininet {point} run {k + 1}/{runs} ...")
            s = _mininet_run(n, p, limit)
            if "failed_after_s" in s:
                mininet_dropped_at = point
                row["dropped"] = f"failed after {s['failed_after_s']:.0f} s: {s['error']}"
                row["failed"] = s
                _log(f"  Mininet {point} {row['dropped']}; nothing is left")
                break
            if "stopped_at_s" in s:
                mininet_dropped_at = point
                row["dropped"] = f"stopped at {s['stopped_at_s']:.0f} s (limit {limit:.0f} s)"
                row["stopped"] = s
                _log(f"  Mininet {point} {row['dropped']}; what it made was removed and nothing is left")
                break
            _log(
                f"  up {s['up_s']:.2f} s (build {s['build_s']:.2f} + start {s['start_s']:.2f}), "
                f"down {s['down_s']:.2f} s, peak RSS {s['peak_rss_kib'] / 1024:.0f} MiB"
            )
            samples.append(s)
        if not row.get("dropped"):
            row |= {
                "up_s": _summary([s["up_s"] for s in samples]),
                "build_s": _summary([s["build_s"] for s in samples]),
                "start_s": _summary([s["start_s"] for s in samples]),
                "down_s": _summary([s["down_s"] for s in samples]),
                "peak_rss_mib": max(s["peak_rss_kib"] for s in samples) / 1024,
                "root_ns_links_added": max(s["root_ns_links_added"] for s in samples),
                "processes_while_up": samples[0]["processes_while_up"],
                "tree_pss_mib": max(s["tree_pss_kib_while_up"] for s in samples) / 1024,
            }
        results.append(row)
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=_parse_points, help=f"NxP,... nodes x pods per node (default {DEFAULT_POINTS})")
    ap.add_argument("--quick", action="store_true", help=f"only {QUICK_POINTS}")
    ap.add_argument("--runs", type=int, default=2, help="runs per point and tool (default 2)")
    ap.add_argument(
        "--mininet-limit",
        type=float,
        default=MININET_LIMIT_S,
        help=f"seconds a Mininet run may take before it is stopped (default {MININET_LIMIT_S:.0f})",
    )
    ap.add_argument("--mininet-child", nargs=2, type=int, metavar=("N", "P"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.mininet_child:
        return _mininet_child(*args.mininet_child)
    if os.geteuid() != 0:
        raise SystemExit("needs root (cce-lab up and Mininet both do)")
    if args.runs < 1:
        raise SystemExit("--runs must be at least 1")
    points = args.points or _parse_points(QUICK_POINTS if args.quick else DEFAULT_POINTS)
    if _lab_netns() or Path(f"/run/cce-lab/{LAB}").exists():
        raise SystemExit(
            f"a lab named {LAB!r} exists already; `cce-lab down {LAB}` first if it is a leftover of this script"
        )
    signal.signal(signal.SIGTERM, _on_sigterm)
    env = _environment()
    links_before, netns_before = _root_links(), _netns()
    t0 = time.perf_counter()
    try:
        results = _sweep(points, args.runs, args.mininet_limit)
    except BenchError as exc:
        _log(f"sweep stopped: {exc}")
        return 1
    except KeyboardInterrupt:
        links = sorted(name for name in _root_links() - links_before if MININET_LINK.match(name))
        _log(
            f"interrupted; no results written. Left: lab namespaces {_lab_netns() or 'none'}, "
            f"Mininet-like interfaces {links[:20] or 'none'}"
        )
        return 130
    wall = time.perf_counter() - t0
    links_after, netns_after = _root_links(), _netns()
    doc = {
        "environment": env,
        "runs": args.runs,
        "mininet_limit_s": args.mininet_limit,
        "sweep_wall_s": wall,
        "root_ns_unchanged": links_before == links_after and netns_before == netns_after,
        "mininet_notes": [
            "Mininet adds veth pairs and Linux bridges in the root namespace while it runs (cce-lab does not).",
            "Mininet's fixLimits() sysctls were skipped (system-wide); its per-process rlimits were applied.",
            "Mininet's hosts are unnamed namespaces held by one bash process each, so `ip netns` does not list them.",
        ],
        "results": results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "sweep.json").write_text(json.dumps(doc, indent=2) + "\n")
    table = _table(doc)
    (RESULTS / "sweep.md").write_text(table)
    _chart(doc, RESULTS / "sweep.png")
    print(table, end="")
    _log(
        f"sweep took {wall:.0f} s; root namespace links and netns list "
        f"{'unchanged' if doc['root_ns_unchanged'] else 'CHANGED'}; "
        f"wrote {RESULTS.relative_to(ROOT)}/sweep.{{json,md,png}}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
