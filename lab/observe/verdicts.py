"""The decisions behind the statistical and MTU rows, pure so each can be tested on made-up numbers.

Every statistical verdict has a stated false-alarm rate: a healthy lab (kube-
proxy's real 1/n randomness, a fair ClientIP assignment) fails it at most that
often, while the faults it exists for fail it almost always. The test suite runs
about a thousand such rows, so a row whose sample size is ours to choose
(spreading, reaching every backend) gets FALSE_ALARM = one in a million: at one in
a thousand, one healthy run in a few failed CI. Affinity's sample is the lab's own
clients, so its rate is what they allow (AFFINITY_FALSE_ALARM at the most).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping

FALSE_ALARM = 1e-6
AFFINITY_FALSE_ALARM = 0.001


def spread_requests(endpoints: int) -> int:
    """Requests for the spreading test: 60 expected per endpoint, so that even at p < FALSE_ALARM a
    starved endpoint (a 60/38/2 % split) fails it all but 3 times in 10,000 (chi-square wants 5 or more).
    Each request is one socket from this process: 180 of them take well under a second."""
    return max(180, 60 * endpoints)


def spread(counts: Mapping[str, int], endpoints: list[str]) -> tuple[bool, str]:
    """Whether the answers are consistent with a uniform choice among `endpoints` (chi-square, p >= FALSE_ALARM)."""
    observed = [counts.get(e, 0) for e in endpoints]
    strangers = sum(n for who, n in counts.items() if who not in endpoints)
    detail = ", ".join(f"{e}: {n}" for e, n in zip(endpoints, observed, strict=True))
    if strangers:
        return False, f"{detail}; {strangers} answers from no endpoint"
    if len(endpoints) < 2:
        return sum(observed) > 0, detail
    from scipy.stats import chisquare  # here: scipy costs 0.6 s to import, and most commands never test spreading

    p = float(chisquare(observed).pvalue)
    return p >= FALSE_ALARM, f"{detail} (chi-square p = {p:.2g}, fails below {FALSE_ALARM:g})"


def affinity_clients(endpoints: int) -> int:
    """Distinct clients needed so that a fair random assignment puts them all on one endpoint at most
    AFFINITY_FALSE_ALARM."""
    if endpoints < 2:
        return 1
    # P(all m on the same endpoint) = n * (1/n)^m = n^(1-m) <= AFFINITY_FALSE_ALARM
    return 1 + math.ceil(math.log(1 / AFFINITY_FALSE_ALARM) / math.log(endpoints))


def affinity(per_client: Mapping[str, Counter], endpoints: int) -> tuple[str, str]:
    """(actual, detail): "sticky and spread" when every client kept one endpoint and the clients used several."""
    detail = "; ".join(f"{c} -> {', '.join(sorted(e or 'no answer' for e in seen))}" for c, seen in per_client.items())
    loose = [c for c, seen in per_client.items() if len(seen) != 1 or "" in seen]
    if loose:
        return f"not sticky for {', '.join(loose)}", detail
    used = {e for seen in per_client.values() for e in seen}
    if endpoints > 1 and len(per_client) >= affinity_clients(endpoints) and len(used) < 2:
        return "every client on one endpoint", detail
    return "sticky and spread", detail


def requests_to_reach(backends: int) -> int:
    """Requests after which a random spread has reached every backend with probability >= 1 - FALSE_ALARM."""
    if backends < 2:
        return 3
    # P(some backend missed) <= b * (1 - 1/b)^N <= FALSE_ALARM
    return math.ceil(math.log(FALSE_ALARM / backends) / math.log(1 - 1 / backends))


def mtu(
    fits: bool, over_passed: bool, over_reason: str, link_mtus: Mapping[str, int], planned: int, fits_reason: str = ""
) -> tuple[str, str]:
    """(actual, detail) of an MTU row: `planned` when the links say so, the largest DF packet crosses,
    and one byte more is refused locally; a silent loss of that byte is a black hole."""
    wrong = {name: m for name, m in link_mtus.items() if m != planned}
    links = ", ".join(f"{name} {m}" for name, m in sorted(wrong.items()))
    if wrong:
        return f"link MTU {links}", f"planned {planned}; {links}"
    if not fits:
        return "smaller", f"{planned} B with DF set does not cross ({fits_reason or 'lost'})"
    if over_passed:
        return "larger", f"{planned + 1} B with DF set crossed too: the path takes more than planned"
    local = any(k in over_reason.lower() for k in ("message too long", "frag needed", "local error"))
    if not local:
        return "black hole", f"{planned + 1} B with DF set was lost silently ({over_reason}): a black hole"
    return str(planned), f"{planned} B crosses; {planned + 1} B refused: {over_reason}"
