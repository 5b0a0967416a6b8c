"""The HTTPS Ingress rows: verified TLS by host name, the forwarded headers a pod sees, the default server,
and what plain HTTP to a TLS host gets.

The Internet client trusts the lab's CA and nothing else, verification
required (never `-k`): a certificate for another name, or from another CA,
fails the row. Which pod answered and which headers it saw come from the
pod's own /whoami answer.
"""

from __future__ import annotations

from collections.abc import Iterator

from lab.kernel.journal import lab_dir
from lab.observe import tlsprobe
from lab.observe.results import REACHABLE, CheckResult
from lab.observe.services import http_row
from lab.plan.model import IngressPlan, Plan
from lab.plan.services import INGRESS_PORT, INGRESS_TLS_PORT
from lab.render import nginx

UNKNOWN_HOST = "unknown.example.com"


def https_scenario(ing: IngressPlan) -> str:
    return f"Internet -> Ingress https://{ing.host}{ing.path}"


def headers_scenario(ing: IngressPlan) -> str:
    return f"Ingress https://{ing.host}{ing.path}: X-Forwarded-Proto and -For seen by the pod"


def plain_scenario(ing: IngressPlan) -> str:
    return f"Internet -> Ingress {ing.host} over plain HTTP ({ing.plain_http})"


UNKNOWN_SCENARIO = "Internet -> Ingress https, unknown SNI host"


def _whoami(ing: IngressPlan) -> str:
    return ing.path.rstrip("/") + "/whoami"


def _secure(plan: Plan, ing: IngressPlan, client_ns: str, client_ip: str) -> Iterator[CheckResult]:
    svc = plan.service(ing.service)
    assert svc
    cafile = nginx.cert_files(lab_dir(plan.name), nginx.CA_NAME)[0]
    res = tlsprobe.request(client_ns, ing.address, INGRESS_TLS_PORT, ing.host, _whoami(ing), cafile=cafile)
    row = http_row(https_scenario(ing), REACHABLE, res.http, svc.workload)
    if res.tls_error:
        row.actual = res.tls_error.split(":")[0]  # "certificate refused" / "TLS failed"
    elif res.http.ok:
        row.detail = f"{res.tls_version}, certificate for {', '.join(res.cert_names)} verified; {row.detail}"
    yield row
    expected = f"proto https, for {client_ip}"
    proto, xff = res.http.data.get("proto"), res.http.data.get("xff")
    actual = f"proto {proto or 'none'}, for {xff or 'none'}" if res.http.ok else "no answer"
    detail = (
        f"pod {res.http.answered_by} saw X-Forwarded-Proto: {proto or '(none)'}, X-Forwarded-For: {xff or '(none)'}"
    )
    yield CheckResult(
        headers_scenario(ing),
        expected,
        actual,
        detail if res.http.ok else res.http.detail,
        res.http.source,
        res.http.answered_by,
    )


def _plain(ing: IngressPlan, client_ns: str) -> CheckResult:
    path = _whoami(ing)
    expected = f"301 to https://{ing.host}{path}" if ing.plain_http == "redirect" else "403"
    res = tlsprobe.request(client_ns, ing.address, INGRESS_PORT, ing.host, path)
    status = res.http.status
    if status in (301, 302, 307, 308):
        actual = f"{status} to {res.headers.get('location', '?')}"
    else:
        actual = str(status) if status else "no answer"
    return CheckResult(plain_scenario(ing), expected, actual, res.http.detail)


def _unknown(plan: Plan, address: str, client_ns: str) -> CheckResult:
    cafile = nginx.cert_files(lab_dir(plan.name), nginx.CA_NAME)[0]
    # the chain is verified; the name is judged here: the default server's certificate names no asked-for host
    res = tlsprobe.request(client_ns, address, INGRESS_TLS_PORT, UNKNOWN_HOST, cafile=cafile, hostname_check=False)
    expected = f"certificate for {nginx.DEFAULT_SERVER_NAME}, 404"
    if res.http.status is None:
        actual = res.tls_error.split(":")[0] or "no answer"
    else:
        actual = f"certificate for {', '.join(res.cert_names) or '?'}, {res.http.status}"
    return CheckResult(UNKNOWN_SCENARIO, expected, actual, f"SNI {UNKNOWN_HOST}: {res.http.detail}")


def rows(plan: Plan, client_ns: str, client_ip: str) -> Iterator[CheckResult]:
    """Every TLS rule over HTTPS, every TLS host over plain HTTP, and one unknown SNI name."""
    secure = [i for i in plan.ingresses if i.tls]
    for ing in secure:
        yield from _secure(plan, ing, client_ns, client_ip)
    for host in nginx.tls_hosts(plan):
        yield _plain(next(i for i in secure if i.host == host), client_ns)
    if secure:
        yield _unknown(plan, secure[0].address, client_ns)
