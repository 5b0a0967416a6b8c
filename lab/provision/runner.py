"""Provision a host for the lab: run an Ansible playbook through ansible-runner.

`make setup` calls this instead of `ansible-playbook` so that the output is a
short progress line per task and per host result, the play recap in Ansible's
own form, and, when something fails, a summary naming the host, the task and
the message rather than a page of raw log. The full log of every run is kept
under playbooks/.runner/artifacts/ (the last few runs).

    python -m lab.provision [--check] [--tags base,kernel] [--inventory FILE] [PLAYBOOK]

Exit codes: 0 success; 1 a host failed or was unreachable, or ansible-playbook
itself failed; 2 bad input (a playbook or inventory that does not exist).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from lab.errors import LabError

REPO = Path(__file__).resolve().parents[2]
DEFAULT_PLAYBOOK = "playbooks/site.yml"
DEFAULT_INVENTORY = "playbooks/inventory/localhost.yml"
RUNNER_DIR = REPO / "playbooks" / ".runner"
KEEP_RUNS = 5
# Ansible's recap fields, in its order, with the key each has in the stats event.
RECAP_FIELDS = (
    ("ok", "ok"),
    ("changed", "changed"),
    ("unreachable", "dark"),
    ("failed", "failures"),
    ("skipped", "skipped"),
    ("rescued", "rescued"),
    ("ignored", "ignored"),
)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class Failure:
    """One task that failed (or could not reach its host): what a person needs to act on."""

    host: str
    task: str
    message: str
    where: str = ""
    unreachable: bool = False


@dataclass
class ProvisionResult:
    """The outcome of one playbook run."""

    playbook: str
    rc: int = 0
    status: str = ""
    stats: dict[str, dict[str, int]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    error: str = ""
    log: str = ""

    @property
    def ok(self) -> bool:
        """Success means ansible-playbook succeeded and no host failed or was unreachable."""
        bad = any(s["failed"] or s["unreachable"] for s in self.stats.values())
        return self.rc == 0 and not bad and not self.failures and not self.error

    @property
    def changed(self) -> int:
        return sum(s["changed"] for s in self.stats.values())

    def recap(self) -> list[str]:
        """The play recap exactly as Ansible prints it without colour (one line per host)."""
        return [
            f"{host:<26} : " + " ".join(f"{name}={counts[name]:<4}" for name, _ in RECAP_FIELDS).rstrip()
            for host, counts in self.stats.items()
        ]


def _resolve(path: str, what: str) -> Path:
    """A path as given, or relative to the repository (so the defaults work from any directory)."""
    p = Path(path).expanduser()
    if not p.is_absolute() and not p.exists() and (REPO / p).exists():
        p = REPO / p
    if not p.exists():
        raise LabError(f"{what} {path!r} does not exist")
    return p.resolve()


def _clean(text: str) -> str:
    return _ANSI.sub("", text).replace("\r\n", "\n").replace("\r", "\n").strip()


def _task_label(data: dict[str, Any]) -> str:
    task = str(data.get("task") or data.get("name") or "?").strip()
    role = data.get("role")
    return f"{role} : {task}" if role else task


def _failure_message(event: dict[str, Any]) -> str:
    """The most useful text about a failed task: Ansible's error line, the module's msg, stderr, rc."""
    res = event.get("event_data", {}).get("res") or {}
    lines: list[str] = []
    # ansible-core >= 2.19 prints "[ERROR]: Task failed: ..." with more detail than res["msg"].
    for line in _clean(event.get("stdout", "")).splitlines():
        if line.startswith("[ERROR]:"):
            lines.append(line.removeprefix("[ERROR]:").strip().removeprefix("Task failed:").strip())
            break
    msg = str(res.get("msg") or "").strip()
    if msg and not any(msg.rstrip(".") in line for line in lines):
        lines.append(msg)
    for item in res.get("results") or []:  # a loop: say which items failed and why
        if isinstance(item, dict) and item.get("failed"):
            why = str(item.get("stderr") or "").strip().splitlines()[-1:] or [str(item.get("msg") or "").strip()]
            lines.append(f"item {item.get('item')!r}: {why[0]}" + (f" (rc={item['rc']})" if item.get("rc") else ""))
    stderr = str(res.get("stderr") or "").strip()
    if stderr:
        lines.extend(stderr.splitlines()[-5:])
    if res.get("rc") not in (None, 0):
        lines.append(f"rc={res['rc']}")
    return "\n".join(lines) or "failed (no message)"


class _Progress:
    """Turns ansible-runner events into progress lines and collects what the result needs."""

    def __init__(self, result: ProvisionResult, out: TextIO | None) -> None:
        self.result = result
        self.out = out

    def say(self, line: str) -> None:
        if self.out is not None:
            print(line, file=self.out, flush=True)

    def __call__(self, event: dict[str, Any]) -> bool:
        kind = event.get("event", "")
        data = event.get("event_data", {})
        host = str(data.get("host") or "")
        task = _task_label(data)
        res = data.get("res") or {}
        if kind == "playbook_on_play_start":
            self.say(f"play  {data.get('name') or data.get('play') or ''}".rstrip())
        elif kind in ("playbook_on_task_start", "playbook_on_handler_task_start"):
            self.say(f"task  {task}")
        elif kind == "runner_on_ok":
            self.say(f"  {'changed' if res.get('changed') else 'ok':<8} {host}  {task}")
            if data.get("task_action") in ("debug", "ansible.builtin.debug") and res.get("msg"):
                self.say(f"           {res['msg']}")
        elif kind == "runner_on_skipped":
            self.say(f"  {'skipped':<8} {host}  {task}")
        elif kind == "runner_on_failed":
            if data.get("ignore_errors"):
                self.say(f"  {'failed':<8} {host}  {task} (ignored)")
            else:
                self.say(f"  {'failed':<8} {host}  {task}")
                where = str(data.get("task_path") or "")
                self.result.failures.append(Failure(host, task, _failure_message(event), where))
        elif kind == "runner_on_unreachable":
            self.say(f"  {'unreachable':<8} {host}  {task}")
            msg = str(res.get("msg") or "host unreachable").strip().removeprefix("Task failed:").strip()
            self.result.failures.append(Failure(host, task, msg, str(data.get("task_path") or ""), True))
        elif kind == "runner_retry":
            self.say(f"  {'retry':<8} {host}  {task} ({data.get('retries_left')} left)")
        elif kind == "playbook_on_stats":
            hosts = sorted({h for _, key in (*RECAP_FIELDS, ("", "processed")) for h in data.get(key) or {}})
            self.result.stats = {
                h: {name: int((data.get(key) or {}).get(h, 0)) for name, key in RECAP_FIELDS} for h in hosts
            }
        elif kind in ("verbose", "warning", "deprecated", "error"):
            for line in _clean(event.get("stdout", "")).splitlines():
                if line.startswith(("[WARNING]", "[DEPRECATION WARNING]")):
                    self.say(f"warning: {line.split(':', 1)[-1].strip()}")
        return True  # keep the event in the artifacts


def _summary(result: ProvisionResult) -> list[str]:
    """What went wrong, per host and task, for a person to act on."""
    lines: list[str] = []
    if result.failures:
        hosts = {f.host for f in result.failures}
        lines.append(f"FAILED: {len(result.failures)} task(s) on {len(hosts)} host(s)")
        for f in result.failures:
            kind = "unreachable" if f.unreachable else "failed"
            where = f"  ({f.where})" if f.where else ""
            lines.append(f"  {f.host} | {kind} | {f.task}{where}")
            lines.extend(f"      {line}" for line in f.message.splitlines())
    elif result.error:
        lines.append(f"FAILED: ansible-playbook exited with {result.rc} ({result.status})")
        lines.extend(f"      {line}" for line in result.error.splitlines())
    if lines and result.log:
        lines.append(f"  full log: {result.log}")
    return lines


def provision(
    playbook: str = DEFAULT_PLAYBOOK,
    inventory: str | None = None,
    tags: Sequence[str] | None = None,
    check: bool = False,
    quiet: bool = False,
    extravars: dict[str, str] | None = None,
) -> ProvisionResult:
    """Run `playbook` on `inventory` (localhost by default) and return what happened.

    Progress, the recap and any failure summary go to stderr unless `quiet`.
    `check` runs Ansible in check mode: it reports what would change, changing nothing.
    """
    try:
        import ansible_runner  # only the provisioning path needs it
    except ImportError as exc:
        raise LabError("ansible-runner is not installed in this environment: run 'make setup'") from exc

    book = _resolve(playbook, "playbook")
    inv = _resolve(inventory or DEFAULT_INVENTORY, "inventory")
    # Run the ansible-playbook that belongs to this interpreter (the venv), even
    # when the venv is not activated.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", os.defpath)])
    if shutil.which("ansible-playbook", path=path) is None:
        raise LabError("ansible-playbook is not installed in this environment: run 'make setup'")
    RUNNER_DIR.mkdir(parents=True, exist_ok=True)

    result = ProvisionResult(playbook=str(book))
    progress = _Progress(result, None if quiet else sys.stderr)
    runner = ansible_runner.run(
        private_data_dir=str(RUNNER_DIR),
        playbook=str(book),
        inventory=str(inv),
        tags=",".join(tags) if tags else None,
        extravars=extravars or None,
        cmdline="--check" if check else None,
        envvars={"PATH": path, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "0"},
        event_handler=progress,
        quiet=True,  # the progress lines above replace Ansible's own output
        suppress_env_files=True,  # do not copy the environment into the artifacts
        rotate_artifacts=KEEP_RUNS,
    )
    result.rc = int(runner.rc if runner.rc is not None else 1)
    result.status = str(runner.status)
    stdout_file = Path(runner.config.artifact_dir) / "stdout"
    result.log = str(stdout_file.relative_to(REPO) if stdout_file.is_relative_to(REPO) else stdout_file)
    if result.rc != 0 and not result.failures:
        # ansible-playbook stopped before any host ran (syntax error, bad inventory, timeout...).
        text = _clean(stdout_file.read_text(errors="replace")) if stdout_file.exists() else ""
        result.error = "\n".join(text.splitlines()[-20:]) or f"runner status {runner.status}"

    if not quiet:
        if result.stats:
            progress.say("PLAY RECAP " + "*" * 69)
            for line in result.recap():
                progress.say(line)
        if check:
            progress.say("(check mode: nothing was changed)")
        for line in _summary(result):
            progress.say(line)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lab.provision", description="Prepare a host for cce-lab (Ansible).")
    ap.add_argument("playbook", nargs="?", default=DEFAULT_PLAYBOOK, help=f"playbook (default {DEFAULT_PLAYBOOK})")
    ap.add_argument("--inventory", "-i", help=f"inventory file (default {DEFAULT_INVENTORY})")
    ap.add_argument("--tags", "-t", default="", help="comma-separated role tags to run (e.g. base,kernel)")
    ap.add_argument("--check", "-C", action="store_true", help="report what would change, change nothing")
    ap.add_argument("--quiet", "-q", action="store_true", help="no progress output; the exit code tells")
    ap.add_argument(
        "--extra-vars",
        "-e",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a playbook variable (repeatable), e.g. -e topology_file=topologies/vpc.yaml",
    )
    a = ap.parse_args(argv)
    tags = [t.strip() for t in a.tags.split(",") if t.strip()]
    extravars = {}
    for pair in a.extra_vars:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            print(f"error: --extra-vars {pair!r}: use KEY=VALUE", file=sys.stderr)
            return 2
        extravars[key] = value
    try:
        result = provision(a.playbook, a.inventory, tags or None, a.check, a.quiet, extravars)
    except LabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
