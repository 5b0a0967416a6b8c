"""HTTPS Ingress, the pure side: the spec's tls / plain_http rules and the nginx.conf a TLS host gets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lab.errors import SpecError
from lab.plan import Plan, make_plan
from lab.render import nginx
from lab.spec import build_spec

WORKDIR = Path("/run/cce-lab/t")
ELB_IP = "192.168.0.254"  # no ECS: the ELB takes the subnet's top address


def _plan(ingresses: list[dict], services: list[dict] | None = None) -> Plan:
    data = {
        "name": "t",
        "model": "vpc",
        "internet": True,
        "workloads": [{"name": "web", "replicas": 2}],
        "services": services
        or [
            {"name": "web", "type": "NodePort", "selector": {"app": "web"}, "port": 80, "nodePort": 30080},
            {"name": "shop", "type": "NodePort", "selector": {"app": "web"}, "port": 80, "nodePort": 30100},
        ],
        "ingresses": ingresses,
    }
    return make_plan(build_spec(data))


def _rule(host: str, path: str = "/", service: str = "web", **extra: object) -> dict:
    return {"host": host, "path": path, "service": service, "port": 80, **extra}


def _server(conf: str, listen: str, host: str) -> list[str]:
    """The inner lines of the one multi-line server block listening on `listen` for `host`."""
    lines = conf.splitlines()
    found = []
    for i, line in enumerate(lines):
        if line == "  server {":
            block = [x.strip() for x in lines[i + 1 : lines.index("  }", i)]]
            if f"server_name {host};" in block and any(x.startswith(f"listen {listen}") for x in block):
                found.append(block)
    assert len(found) == 1, f"{len(found)} servers for {host} on {listen}"
    return found[0]


def test_a_plain_lab_renders_no_tls() -> None:
    conf = nginx.config(_plan([_rule("a.example.com")]), WORKDIR)
    assert "ssl" not in conf and ":443" not in conf
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in conf  # the pod learns http too


def test_tls_host_on_443_with_its_own_certificate_and_a_redirect_on_80() -> None:
    plan = _plan([_rule("a.example.com", tls=True), _rule("a.example.com", "/shop", "shop", tls=True)])
    conf = nginx.config(plan, WORKDIR)
    secure = _server(conf, f"{ELB_IP}:443 ssl", "a.example.com")
    assert f"ssl_certificate {WORKDIR}/tls/host-a.example.com.crt;" in secure
    assert f"ssl_certificate_key {WORKDIR}/tls/host-a.example.com.key;" in secure
    assert "location / { proxy_pass http://svc-web; }" in secure
    assert "location /shop { proxy_pass http://svc-shop; }" in secure
    plain = _server(conf, f"{ELB_IP}:80", "a.example.com")
    assert plain[-1] == "return 301 https://$host$request_uri;"
    assert not any(x.startswith("location") for x in plain)  # nothing of a TLS host is served in the clear


def test_refuse_answers_403_on_80() -> None:
    conf = nginx.config(_plan([_rule("a.example.com", tls=True, plain_http="refuse")]), WORKDIR)
    plain = _server(conf, f"{ELB_IP}:80", "a.example.com")
    assert re.fullmatch(r'return 403 ".*HTTPS only\\n";', plain[-1])


def test_default_tls_server_has_its_own_certificate() -> None:
    conf = nginx.config(_plan([_rule("a.example.com", tls=True), _rule("b.example.com")]), WORKDIR)
    defaults = [ln.strip() for ln in conf.splitlines() if "default_server" in ln]
    assert defaults[0].startswith(f"server {{ listen {ELB_IP}:80 default_server;")
    assert defaults[1] == f"listen {ELB_IP}:443 ssl default_server;"
    block = nginx.default_tls_server(_plan([_rule("a.example.com", tls=True)]), WORKDIR)
    assert f"    ssl_certificate {WORKDIR}/tls/default-server.crt;" in block
    assert block[-2].strip() == 'return 404 "no Ingress rule for this host\\n";'
    # a plain host next to a TLS one is still served on 80, and only there
    plain = _server(conf, f"{ELB_IP}:80", "b.example.com")
    assert "location / { proxy_pass http://svc-web; }" in plain
    assert "b.example.com" not in "".join(nginx.default_tls_server(_plan([_rule("a.example.com", tls=True)]), WORKDIR))


def test_every_certificate_lives_in_the_state_directory_and_no_host_name_collides() -> None:
    stems = [nginx.CA_NAME, nginx.DEFAULT_SERVER, nginx.host_stem("ca"), nginx.host_stem("default-server")]
    files = [nginx.cert_files(WORKDIR, s) for s in stems]
    assert len({f for pair in files for f in pair}) == 8  # a host named "ca" does not take the CA's files
    for crt, key in files:
        assert crt.parent == key.parent == WORKDIR / "tls"
        assert crt.suffix == ".crt" and key.suffix == ".key"


def test_plan_carries_tls_and_the_plain_http_choice() -> None:
    plan = _plan([_rule("a.example.com", tls=True), _rule("b.example.com", tls=True, plain_http="refuse")])
    assert [(i.host, i.tls, i.plain_http) for i in plan.ingresses] == [
        ("a.example.com", True, "redirect"),  # the default
        ("b.example.com", True, "refuse"),
    ]
    assert [(i.tls, i.plain_http) for i in _plan([_rule("c.example.com")]).ingresses] == [(False, "")]


@pytest.mark.parametrize(
    ("ingresses", "services", "field", "words"),
    [
        ([_rule("a.example.com", plain_http="refuse")], None, "ingresses[0].plain_http", "only a TLS rule"),
        ([_rule("a.example.com", tls=True), _rule("a.example.com", "/x")], None, "ingresses[1].tls", "agree"),
        (
            [_rule("a.example.com", tls=True), _rule("a.example.com", "/x", tls=True, plain_http="refuse")],
            None,
            "ingresses[1].plain_http",
            "agree",
        ),
        ([_rule("a.example.com", tls=True, plain_http="serve")], None, "ingresses[0].plain_http", "not one of"),
        (
            [_rule("a.example.com", tls=True)],
            [
                {"name": "web", "type": "NodePort", "selector": {"app": "web"}, "port": 80},
                {"name": "tls", "type": "LoadBalancer", "selector": {"app": "web"}, "port": 443},
            ],
            "services[1].port",
            "the Ingress (HTTPS)",
        ),
    ],
)
def test_bad_tls_rules_name_the_field(
    ingresses: list[dict], services: list[dict] | None, field: str, words: str
) -> None:
    with pytest.raises(SpecError) as info:
        _plan(ingresses, services)
    assert info.value.field == field
    assert words in str(info.value)


def test_a_loadbalancer_on_443_is_fine_without_tls_ingress() -> None:
    services = [
        {"name": "web", "type": "NodePort", "selector": {"app": "web"}, "port": 80},
        {"name": "tls", "type": "LoadBalancer", "selector": {"app": "web"}, "port": 443},
    ]
    assert _plan([_rule("a.example.com")], services).service("tls")


INGRESS_FAULTS = {  # fault -> (a line only the broken nginx.conf has, or "" when it only loses lines)
    "ingress-cert-wrong-host": "",
    "ingress-no-forwarded-proto": "",
    "ingress-no-default-tls-server": "",
    "ingress-plain-http-served": "location / { proxy_pass http://svc-web-np; }",
}


@pytest.mark.parametrize("name", sorted(INGRESS_FAULTS))
@pytest.mark.parametrize("model", ["tunnel", "vpc"])
def test_ingress_faults_rewrite_nginx_conf_and_reload(name: str, model: str) -> None:
    from lab.render import faults
    from lab.topology import load

    plan = make_plan(load(Path(__file__).resolve().parents[2] / "topologies" / f"{model}.yaml"), False)
    state = Path(f"/run/cce-lab/{model}")
    fault = faults.fault(plan, name, state / "ovs")  # the catalogue is given the lab's OVS run directory
    original = nginx.config(plan, state)
    (tee, reload), (tee_back, reload_back) = fault.inject, fault.undo
    assert tee[1] == tee_back[1] == ["tee", str(state / "nginx.conf")]
    assert tee_back[2] == original and tee[2] != original
    assert reload == reload_back and reload[1][-2:] == ["-s", "reload"] and reload[0] == tee[0] == f"{model}-elb"
    broken = tee[2].splitlines()
    gone = [ln for ln in original.splitlines() if ln not in broken]
    if name == "ingress-no-forwarded-proto":
        assert gone == [nginx.FORWARDED_PROTO]
    elif name == "ingress-no-default-tls-server":
        assert any("443 ssl default_server" in ln for ln in gone) and "default_server" in tee[2]  # port 80's stays
    elif name == "ingress-cert-wrong-host":
        assert gone == [
            f"    ssl_certificate {state}/tls/host-web.example.com.crt;",
            f"    ssl_certificate_key {state}/tls/host-web.example.com.key;",
        ]
    else:
        assert gone == ["    return 301 https://$host$request_uri;"]
    if INGRESS_FAULTS[name]:
        assert broken.count("    " + INGRESS_FAULTS[name]) == 2  # over HTTPS and now in the clear as well
    assert fault.fails


def test_ingress_faults_need_a_tls_ingress() -> None:
    from lab.render import faults

    plan = _plan([_rule("a.example.com")])
    for name in INGRESS_FAULTS:
        with pytest.raises(ValueError, match="tls: true"):
            faults.fault(plan, name, Path("/run/cce-lab/t/ovs"))
