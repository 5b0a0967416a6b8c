"""nginx.conf for the ELB Ingress (L7) listener: a server per host, a location per path. Pure.

Each rule forwards to its Service's NodePort on the nodes (all of them, or
those with an endpoint for `Local`), as CCE's ELB Ingress does, and adds
X-Forwarded-For; unknown hosts get 404.
"""

from __future__ import annotations

from pathlib import Path

from lab.plan.model import Plan
from lab.plan.services import INGRESS_PORT


def upstream(service: str) -> str:
    return f"svc-{service}"


def config(plan: Plan, workdir: Path) -> str:
    """The whole nginx.conf; `workdir` holds its pid, log and temp files."""
    elb = plan.host("elb")
    assert elb
    lines = [
        "# cce-lab: ELB Ingress (L7) listener",
        f"pid {workdir}/nginx.pid;",
        f"error_log {workdir}/nginx-error.log warn;",
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
        "  proxy_set_header X-Real-IP $remote_addr;",
        "  proxy_set_header Host $host;",
        "  proxy_connect_timeout 2s;",
    ]
    for name in dict.fromkeys(i.service for i in plan.ingresses):
        svc = plan.service(name)
        assert svc
        backends = svc.backends(plan.nodes) or plan.nodes  # no endpoint anywhere: nginx answers 502
        lines += [f"  upstream {upstream(name)} {{", *(f"    server {n.ip}:{svc.node_port};" for n in backends), "  }"]
    lines += [
        f'  server {{ listen {elb.ip}:{INGRESS_PORT} default_server; return 404 "no Ingress rule for this host\\n"; }}'
    ]
    for host in dict.fromkeys(i.host for i in plan.ingresses):
        lines += ["  server {", f"    listen {elb.ip}:{INGRESS_PORT};", f"    server_name {host};"]
        for rule in (i for i in plan.ingresses if i.host == host):
            lines += [f"    location {rule.path} {{ proxy_pass http://{upstream(rule.service)}; }}"]
        lines += ["  }"]
    lines.append("}")
    return "\n".join(lines) + "\n"
