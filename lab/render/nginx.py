"""nginx.conf for the ELB Ingress (L7) listener: a server per host, a location per path. Pure.

Each rule forwards to its Service's NodePort on the nodes (all of them, or
those with an endpoint for `Local`), as CCE's ELB Ingress does, and adds
X-Forwarded-For and X-Forwarded-Proto; unknown hosts get 404.

A TLS host (`tls: true`) is served on port 443 with its own certificate,
picked by SNI; a default server with a certificate of its own answers SNI
names no rule has. Plain HTTP to a TLS host is redirected to https:// (301)
or refused (403), as the rule says. The certificates are made by
`lab.apply.tls` at the paths named here.
"""

from __future__ import annotations

from pathlib import Path

from lab.plan.model import Plan
from lab.plan.services import INGRESS_PORT, INGRESS_TLS_PORT

CONF = "nginx.conf"  # in the lab's state directory
ERROR_LOG = "nginx-error.log"
TLS_DIR = "tls"  # keys and certificates, under the lab's state directory
CA_NAME = "ca"
DEFAULT_SERVER = "default-server"  # the default TLS server's certificate files
DEFAULT_SERVER_NAME = "default.ingress.invalid"  # its certificate's name: .invalid is never a real host
NO_RULE = '"no Ingress rule for this host\\n"'
FORWARDED_PROTO = "  proxy_set_header X-Forwarded-Proto $scheme;"


def upstream(service: str) -> str:
    return f"svc-{service}"


def host_stem(host: str) -> str:
    """A host's certificate file stem: prefixed, so no host name ("ca") can take the CA's files."""
    return f"host-{host}"


def cert_files(workdir: Path, stem: str) -> tuple[Path, Path]:
    """(certificate, key) of CA_NAME, DEFAULT_SERVER or a host_stem()."""
    return workdir / TLS_DIR / f"{stem}.crt", workdir / TLS_DIR / f"{stem}.key"


def tls_hosts(plan: Plan) -> list[str]:
    """Hosts served over HTTPS, in rule order."""
    return list(dict.fromkeys(i.host for i in plan.ingresses if i.tls))


def _elb_ip(plan: Plan) -> str:
    elb = plan.host("elb")
    assert elb
    return elb.ip


def _certificate(workdir: Path, stem: str) -> list[str]:
    crt, key = cert_files(workdir, stem)
    return [f"    ssl_certificate {crt};", f"    ssl_certificate_key {key};"]


def default_tls_server(plan: Plan, workdir: Path) -> list[str]:
    """The HTTPS server for SNI names no rule has (and clients that send none): its own certificate, 404."""
    return [
        "  server {",
        f"    listen {_elb_ip(plan)}:{INGRESS_TLS_PORT} ssl default_server;",
        "    server_name _;",
        *_certificate(workdir, DEFAULT_SERVER),
        f"    return 404 {NO_RULE};",
        "  }",
    ]


def host_server(plan: Plan, host: str, workdir: Path, tls: bool) -> list[str]:
    """The server that routes `host`'s paths: on port 443 with its certificate (tls), else on port 80."""
    listen = f"{_elb_ip(plan)}:{INGRESS_TLS_PORT} ssl" if tls else f"{_elb_ip(plan)}:{INGRESS_PORT}"
    lines = ["  server {", f"    listen {listen};", f"    server_name {host};"]
    if tls:
        lines += _certificate(workdir, host_stem(host))
    for rule in (i for i in plan.ingresses if i.host == host):
        lines += [f"    location {rule.path} {{ proxy_pass http://{upstream(rule.service)}; }}"]
    return [*lines, "  }"]


def plain_http_server(plan: Plan, host: str) -> list[str]:
    """Port 80 for a TLS host: a 301 to the same URL over https, or a 403."""
    mode = next(i.plain_http for i in plan.ingresses if i.host == host)
    answer = "return 301 https://$host$request_uri;" if mode == "redirect" else f'return 403 "{host}: HTTPS only\\n";'
    return [
        "  server {",
        f"    listen {_elb_ip(plan)}:{INGRESS_PORT};",
        f"    server_name {host};",
        f"    {answer}",
        "  }",
    ]


def config(plan: Plan, workdir: Path) -> str:
    """The whole nginx.conf; `workdir` holds its pid, log, temp files and certificates."""
    elb_ip = _elb_ip(plan)
    secure = tls_hosts(plan)
    lines = [
        "# cce-lab: ELB Ingress (L7) listener",
        f"pid {workdir}/nginx.pid;",
        f"error_log {workdir}/{ERROR_LOG} warn;",
        "user root;",
        "worker_processes 1;",
        "events { worker_connections 256; }",
        "http {",
        "  access_log off;",
        *(
            f"  {kind}_temp_path {workdir}/nginx-tmp/{kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        ),
        "  proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        FORWARDED_PROTO,
        "  proxy_set_header X-Real-IP $remote_addr;",
        "  proxy_set_header Host $host;",
        "  proxy_connect_timeout 2s;",
    ]
    if secure:
        lines += ["  ssl_protocols TLSv1.2 TLSv1.3;"]
    for name in dict.fromkeys(i.service for i in plan.ingresses):
        svc = plan.service(name)
        assert svc
        backends = svc.backends(plan.nodes) or plan.nodes  # no endpoint anywhere: nginx answers 502
        lines += [f"  upstream {upstream(name)} {{", *(f"    server {n.ip}:{svc.node_port};" for n in backends), "  }"]
    lines += [f"  server {{ listen {elb_ip}:{INGRESS_PORT} default_server; return 404 {NO_RULE}; }}"]
    if secure:
        lines += default_tls_server(plan, workdir)
    for host in dict.fromkeys(i.host for i in plan.ingresses):
        lines += host_server(plan, host, workdir, tls=host in secure)
        if host in secure:
            lines += plain_http_server(plan, host)
    lines.append("}")
    return "\n".join(lines) + "\n"
