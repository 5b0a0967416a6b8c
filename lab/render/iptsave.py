"""iptables-restore batches and iptables-save output, brought to one comparable form.

The kernel gives back what it was given, grouped and rewritten in a few known ways:
iptables-save lists a table's user chains sorted by name, the built-in chains first,
each chain's rules in order, and prints a `statistic` probability as the 31-bit
fraction the kernel stored (0.3333333333 -> 0.33333333349). `save_form` applies
exactly those rewrites to a batch and drops what only iptables-save adds (its
comments, built-in policies, counters), so a batch and the kernel's copy of it
compare line by line. `resync` turns a batch into what a re-sync sends a node that
already holds an earlier one: a built-in chain's jump is not appended a second time
(kube-proxy ensures each of them once), and the per-Service chains nothing uses any
more are deleted, as kube-proxy's own resync deletes them.
Pure: text in, text out.
"""

from __future__ import annotations

import re

from lab.render.kubeproxy import BUILTIN

_SERVICE_CHAIN = re.compile(r"^KUBE-(SVC|SVL|EXT|FW|SEP)-[A-Z2-7]{16}$")
_PROBABILITY = re.compile(r"--probability (\d+\.\d+)")
_FRACTION = 0x80000000  # xt_statistic keeps the probability as a 31-bit fraction


def _kernel_probability(m: re.Match[str]) -> str:
    stored = round(float(m.group(1)) * _FRACTION)
    return f"--probability {stored / _FRACTION:.11f}"


def _rule(line: str) -> str:
    return _PROBABILITY.sub(_kernel_probability, line)


def _tables(text: str) -> dict[str, tuple[list[str], dict[str, list[str]]]]:
    """table -> (user chains declared, chain -> rules), sections of one table merged in order."""
    tables: dict[str, tuple[list[str], dict[str, list[str]]]] = {}
    current = ""
    for line in text.splitlines():
        if not line or line.startswith("#") or line == "COMMIT":
            continue
        if line.startswith("*"):
            current = line[1:]
            tables.setdefault(current, ([], {}))
        elif line.startswith(":"):
            chain = line[1:].split(" ", 1)[0]
            if chain not in BUILTIN.get(current, ()) and chain not in tables[current][0]:
                tables[current][0].append(chain)
        elif line.startswith("-A "):
            chain = line.split(" ", 2)[1]
            tables[current][1].setdefault(chain, []).append(_rule(line))
    return tables


def save_form(text: str) -> str:
    """A batch (or iptables-save output) as iptables-save prints it, without counters and comments."""
    out = []
    for table, (declared, rules) in sorted(_tables(text).items()):
        builtin = BUILTIN.get(table, ())
        chains = [*builtin, *sorted(c for c in set(declared) | set(rules) if c not in builtin)]
        out += [f"*{table}", *(f":{c} - [0:0]" for c in chains if c not in builtin)]
        out += [r for c in chains for r in rules.get(c, [])]
        out.append("COMMIT")
    return "\n".join(out) + "\n"


def resync(batch: str, saved: str) -> str:
    """`batch` for a node whose iptables-save is `saved`: no second copy of a built-in chain's rule, and a
    `-X` for each per-Service chain the node holds that the batch no longer declares."""
    old = _tables(saved)
    present = {(t, r) for t, (_, rules) in old.items() for c in BUILTIN.get(t, ()) for r in rules.get(c, [])}
    new = _tables(batch)
    out, table = [], ""
    for line in batch.splitlines():
        if line.startswith("*"):
            table = line[1:]
        elif line == "COMMIT":
            kept = set(new[table][0])
            stale = sorted(c for c in old.get(table, ([], {}))[0] if _SERVICE_CHAIN.match(c) and c not in kept)
            out += [*(f":{c} - [0:0]" for c in stale), *(f"-X {c}" for c in stale)]  # flushed, then deleted
        elif line.startswith("-A ") and (table, _rule(line)) in present:
            continue
        out.append(line)
    return "\n".join(out) + "\n"
