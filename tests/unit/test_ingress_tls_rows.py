"""The HTTPS Ingress rows' verdicts (lab.observe.tls) from crafted answers: what passes, and what must not."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.observe import probe, tls, tlsprobe
from lab.plan import Plan, make_plan
from lab.render import nginx
from lab.topology import load

CLIENT = "198.51.100.10"


@pytest.fixture(scope="module")
def plan() -> Plan:
    return make_plan(load(Path(__file__).resolve().parents[2] / "topologies" / "vpc.yaml"), False)


def _ok(**data: object) -> tlsprobe.Exchange:
    doc = {"hostname": "web-1", "client": "192.168.0.2:1234", "xff": CLIENT, "proto": "https", **data}
    return tlsprobe.Exchange(probe.Http(200, doc, "HTTP 200", 0.001), cert_names=["web.example.com"])


def _rows(plan: Plan, monkeypatch: pytest.MonkeyPatch, answers: dict[tuple[int, str], tlsprobe.Exchange]) -> dict:
    def fake(src_ns: str, ip: str, port: int, host: str, path: str = "/", **kw: object) -> tlsprobe.Exchange:
        return answers[(port, host)]

    monkeypatch.setattr(tlsprobe, "request", fake)
    return {r.scenario: r for r in tls.rows(plan, "vpc-client", CLIENT)}


GOOD = {
    (443, "web.example.com"): _ok(),
    (80, "web.example.com"): tlsprobe.Exchange(
        probe.Http(301, {}, "HTTP 301", 0.001), {"location": "https://web.example.com/whoami"}
    ),
    (443, tls.UNKNOWN_HOST): tlsprobe.Exchange(
        probe.Http(404, {}, "HTTP 404", 0.001), cert_names=[nginx.DEFAULT_SERVER_NAME]
    ),
}


def test_a_healthy_ingress_passes_every_row(plan: Plan, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _rows(plan, monkeypatch, GOOD)
    assert list(rows) == [
        "Internet -> Ingress https://web.example.com/",
        "Ingress https://web.example.com/: X-Forwarded-Proto and -For seen by the pod",
        "Internet -> Ingress web.example.com over plain HTTP (redirect)",
        "Internet -> Ingress https, unknown SNI host",
    ]
    assert all(r.ok for r in rows.values()), [r for r in rows.values() if not r.ok]


@pytest.mark.parametrize(
    ("key", "answer", "failing"),
    [
        (
            (443, "web.example.com"),
            tlsprobe.Exchange(probe.Http(None, {}, "refused", 0.0), tls_error="certificate refused: Hostname mismatch"),
            {"Internet -> Ingress https://web.example.com/", "X-Forwarded"},
        ),
        ((443, "web.example.com"), _ok(proto=None), {"X-Forwarded"}),
        ((443, "web.example.com"), _ok(proto="http"), {"X-Forwarded"}),
        ((443, "web.example.com"), _ok(xff="192.168.0.253"), {"X-Forwarded"}),
        ((443, "web.example.com"), _ok(hostname="api-1"), {"Internet -> Ingress https://web.example.com/"}),
        ((80, "web.example.com"), tlsprobe.Exchange(probe.Http(200, {}, "HTTP 200", 0.0)), {"plain HTTP"}),
        (
            (80, "web.example.com"),
            tlsprobe.Exchange(probe.Http(301, {}, "HTTP 301", 0.0), {"location": "http://web.example.com/whoami"}),
            {"plain HTTP"},
        ),
        ((443, tls.UNKNOWN_HOST), _ok(), {"unknown SNI"}),
        (
            (443, tls.UNKNOWN_HOST),
            tlsprobe.Exchange(probe.Http(404, {}, "HTTP 404", 0.0), cert_names=["web.example.com"]),
            {"unknown SNI"},
        ),
    ],
    ids=[
        "wrong-cert",
        "no-proto",
        "proto-http",
        "xff-not-client",
        "wrong-service",
        "plain-served",
        "redirect-to-http",
        "unknown-served",
        "unknown-wrong-cert",
    ],
)
def test_each_failure_fails_exactly_its_rows(
    plan: Plan, monkeypatch: pytest.MonkeyPatch, key: tuple[int, str], answer: tlsprobe.Exchange, failing: set[str]
) -> None:
    rows = _rows(plan, monkeypatch, {**GOOD, key: answer})
    failed = {s for s, r in rows.items() if not r.ok}
    assert {next(f for f in failing if f in s) for s in failed} == failing
    assert all(any(f in s for f in failing) for s in failed)


def test_refuse_expects_403(plan: Plan, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    refusing = replace(plan, ingresses=[replace(i, plain_http="refuse") if i.tls else i for i in plan.ingresses])
    answers = {**GOOD, (80, "web.example.com"): tlsprobe.Exchange(probe.Http(403, {}, "HTTP 403", 0.0))}
    row = _rows(refusing, monkeypatch, answers)["Internet -> Ingress web.example.com over plain HTTP (refuse)"]
    assert row.ok and row.expected == "403"


def test_parse_reads_status_headers_and_json() -> None:
    raw = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLocation: x\r\n\r\n{"hostname": "web-1"}'
    answer, headers = probe.parse_answer(raw, "here", 0.0)
    assert answer.ok and answer.answered_by == "web-1" and headers["location"] == "x"
    assert probe.parse_answer(b"garbage", "here", 0.0)[0].status is None
