"""Faults of the HTTPS Ingress: nginx.conf edited behind the lab's back and reloaded, as an operator would. Pure.

Each writes a changed copy of the rendered nginx.conf over the lab's own
(`tee`) and reloads nginx (`nginx -s reload`); the undo writes the rendered
file back and reloads again. The lab's state directory, where nginx.conf
lives, is the parent of the OVS run directory the catalogue is given.
"""

from __future__ import annotations

from pathlib import Path

from lab.plan.model import IngressPlan, Plan
from lab.render import nginx
from lab.render.faults.fault import Command, Fault


def _tls_ingress(plan: Plan) -> IngressPlan:
    ing = next((i for i in plan.ingresses if i.tls), None)
    if ing is None or not plan.host("elb"):
        raise ValueError("the fault needs an Ingress with tls: true (the shipped topologies have one)")
    return ing


def _rewrite(plan: Plan, rundir: Path, broken: str) -> tuple[list[Command], list[Command]]:
    """(inject, undo): `broken` in place of nginx.conf, then the rendered one again; each followed by a reload."""
    elb = plan.host("elb")
    assert elb
    workdir = rundir.parent
    conf = str(workdir / nginx.CONF)
    reload: Command = (elb.netns, ["nginx", "-e", str(workdir / nginx.ERROR_LOG), "-c", conf, "-s", "reload"], None)
    original = nginx.config(plan, workdir)
    if broken == original:  # pragma: no cover - a catalogue bug, caught by the unit tests
        raise ValueError("the fault changes nothing in nginx.conf")
    return [(elb.netns, ["tee", conf], broken), reload], [(elb.netns, ["tee", conf], original), reload]


def _replace(text: str, old: list[str], new: list[str]) -> str:
    block = "\n".join(old) + "\n"
    if text.count(block) != 1:
        raise ValueError(f"the fault needs exactly one {old[1].strip()!r} block in nginx.conf")
    return text.replace(block, "\n".join(new) + "\n" if new else "")


def cert_wrong_host(plan: Plan, rundir: Path) -> Fault:
    ing = _tls_ingress(plan)
    workdir = rundir.parent
    right = nginx.host_server(plan, ing.host, workdir, tls=True)
    wrong_crt, wrong_key = nginx.cert_files(workdir, nginx.DEFAULT_SERVER)
    crt, key = nginx.cert_files(workdir, nginx.host_stem(ing.host))
    wrong = [ln.replace(str(crt), str(wrong_crt)).replace(str(key), str(wrong_key)) for ln in right]
    inject, undo = _rewrite(plan, rundir, _replace(nginx.config(plan, workdir), right, wrong))
    rules = [i for i in plan.ingresses if i.host == ing.host]
    return Fault(
        "ingress-cert-wrong-host",
        f"the Ingress serves {ing.host} with the certificate of {nginx.DEFAULT_SERVER_NAME}: the name does not match",
        inject,
        undo,
        (  # no answer over HTTPS: no headers to see either
            *(f"Internet -> Ingress https://{i.host}{i.path}$" for i in rules),
            *(f"Ingress https://{i.host}{i.path}: X-Forwarded" for i in rules),
        ),
    )


def no_forwarded_proto(plan: Plan, rundir: Path) -> Fault:
    _tls_ingress(plan)
    text = nginx.config(plan, rundir.parent)
    if text.count(nginx.FORWARDED_PROTO + "\n") != 1:
        raise ValueError("the fault needs nginx.conf's X-Forwarded-Proto line")
    inject, undo = _rewrite(plan, rundir, text.replace(nginx.FORWARDED_PROTO + "\n", ""))
    return Fault(
        "ingress-no-forwarded-proto",
        "the Ingress stops setting X-Forwarded-Proto: pods can no longer tell HTTPS clients from plain ones",
        inject,
        undo,
        tuple(f"Ingress https://{i.host}{i.path}: X-Forwarded" for i in plan.ingresses if i.tls),
    )


def no_default_tls_server(plan: Plan, rundir: Path) -> Fault:
    _tls_ingress(plan)
    workdir = rundir.parent
    text = _replace(nginx.config(plan, workdir), nginx.default_tls_server(plan, workdir), [])
    inject, undo = _rewrite(plan, rundir, text)
    first = nginx.tls_hosts(plan)[0]
    return Fault(
        "ingress-no-default-tls-server",
        f"the Ingress's default HTTPS server is gone: unknown SNI names get {first} (nginx's first server on 443)",
        inject,
        undo,
        ("Internet -> Ingress https, unknown SNI host",),
    )


def plain_http_served(plan: Plan, rundir: Path) -> Fault:
    ing = _tls_ingress(plan)
    workdir = rundir.parent
    served = nginx.host_server(plan, ing.host, workdir, tls=False)
    text = _replace(nginx.config(plan, workdir), nginx.plain_http_server(plan, ing.host), served)
    inject, undo = _rewrite(plan, rundir, text)
    return Fault(
        "ingress-plain-http-served",
        f"the Ingress serves {ing.host} over plain HTTP too, instead of "
        f"{'redirecting it to https://' if ing.plain_http == 'redirect' else 'refusing it'}",
        inject,
        undo,
        (f"Internet -> Ingress {ing.host} over plain HTTP",),
    )
