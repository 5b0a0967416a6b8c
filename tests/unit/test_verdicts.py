"""The decision functions behind the statistical and MTU rows, on made-up numbers.

The false-alarm rates are checked by simulation: kube-proxy's 1/n choice and a
fair ClientIP assignment, drawn many times with a fixed seed, fail at about
the stated rate or less; the faults the rows exist for fail almost always.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from lab.observe import verdicts

ENDPOINTS = ["web-1", "web-2", "web-3"]


def _draw(rng: random.Random, weights: list[float], n: int) -> Counter:
    return Counter(rng.choices(ENDPOINTS, weights=weights, k=n))


def test_spread_passes_uniform_and_fails_skewed_splits() -> None:
    n = verdicts.spread_requests(3)
    rng = random.Random(7)
    fair = sum(not verdicts.spread(_draw(rng, [1, 1, 1], n), ENDPOINTS)[0] for _ in range(2000))
    assert fair <= 1  # one in a million: none of 2000 expected, one allowed for noise
    skewed = sum(verdicts.spread(_draw(rng, [60, 38, 2], n), ENDPOINTS)[0] for _ in range(500))
    assert skewed == 0


@pytest.mark.parametrize(
    ("counts", "ok"),
    [
        pytest.param({"web-1": 39, "web-2": 20, "web-3": 1}, False, id="39-20-1"),
        pytest.param({"web-1": 20, "web-2": 21, "web-3": 19}, True, id="even"),
        pytest.param({"web-1": 30, "web-2": 30}, False, id="an-endpoint-never-answers"),
        pytest.param({"web-1": 20, "web-2": 20, "web-3": 19, "": 1}, False, id="a-request-unanswered"),
    ],
)
def test_spread_cases(counts: dict, ok: bool) -> None:
    assert verdicts.spread(counts, ENDPOINTS)[0] is ok


def test_affinity_needs_enough_clients_for_its_false_alarm_rate() -> None:
    needed = verdicts.affinity_clients(3)
    assert 3 ** (1 - needed) <= verdicts.AFFINITY_FALSE_ALARM < 3 ** (2 - needed)
    assert verdicts.affinity_clients(1) == 1


def test_affinity_verdicts() -> None:
    clients = [f"c{i}" for i in range(verdicts.affinity_clients(3))]
    rng = random.Random(3)
    fair_failures = 0
    for _ in range(2000):
        per = {c: Counter({rng.choice(ENDPOINTS): 4}) for c in clients}
        fair_failures += verdicts.affinity(per, 3)[0] != "sticky and spread"
    assert fair_failures <= 10
    everyone_on_one = {c: Counter({"web-1": 4}) for c in clients}
    assert verdicts.affinity(everyone_on_one, 3)[0] == "every client on one endpoint"
    loose = {**everyone_on_one, "c0": Counter({"web-1": 2, "web-2": 2})}
    assert verdicts.affinity(loose, 3)[0] == "not sticky for c0"
    unanswered = {**everyone_on_one, "c1": Counter({"": 4})}
    assert verdicts.affinity(unanswered, 3)[0] == "not sticky for c1"


def test_requests_to_reach_every_backend() -> None:
    assert verdicts.requests_to_reach(1) == 3
    rng = random.Random(5)
    for backends in (2, 3, 5):
        n = verdicts.requests_to_reach(backends)
        missed = sum(len(set(rng.choices(range(backends), k=n))) < backends for _ in range(3000))
        assert missed <= 1  # one in a million per run: none of 3000 expected


@pytest.mark.parametrize(
    ("fits", "over", "reason", "links", "actual"),
    [
        pytest.param(True, False, "local error: message too long, mtu=1450", {"p": 1450}, "1450", id="right"),
        pytest.param(True, False, "Frag needed and DF set (mtu = 1450)", {"p": 1450}, "1450", id="icmp-frag-needed"),
        pytest.param(True, False, "no reply within 1 s", {"p": 1450}, "black hole", id="silent-loss"),
        pytest.param(True, True, "", {"p": 1450}, "larger", id="larger"),
        pytest.param(False, False, "no reply within 1 s", {"p": 1450}, "smaller", id="smaller"),
        pytest.param(True, False, "local error", {"p": 1500, "q": 1450}, "link MTU p 1500", id="link-says-1500"),
    ],
)
def test_mtu_verdicts(fits: bool, over: bool, reason: str, links: dict, actual: str) -> None:
    assert verdicts.mtu(fits, over, reason, links, 1450)[0] == actual
