"""ELB Ingress: nginx (from the distribution) started in the ELB namespace with the rendered config."""

from __future__ import annotations

from lab.apply import tls
from lab.kernel import procs
from lab.kernel.journal import Journal
from lab.plan.model import Plan
from lab.render import nginx

NGINX_TITLE = "nginx: master process"


def start(plan: Plan, journal: Journal) -> None:
    elb = plan.host("elb")
    assert elb
    tls.make(plan, journal)  # the certificates nginx.conf names, before nginx reads it
    conf = journal.dir / nginx.CONF
    (journal.dir / "nginx-tmp").mkdir(exist_ok=True)
    conf.write_text(nginx.config(plan, journal.dir))
    pidfile = journal.dir / "nginx.pid"
    # nginx retitles itself: its master is recognised by title and configuration path, not by --pidfile=
    journal.add(pidfile=str(pidfile), title=NGINX_TITLE, marker=f"-c {conf}")
    procs.run(elb.netns, ["nginx", "-e", str(journal.dir / nginx.ERROR_LOG), "-c", str(conf)])


def reload(plan: Plan, journal: Journal) -> None:
    """Endpoints moved: the upstreams follow (a `Local` Service's nodes), nginx reloads its workers gracefully."""
    elb = plan.host("elb")
    conf = journal.dir / nginx.CONF
    if not elb or not plan.ingresses or not conf.exists():
        return
    tmp = conf.with_name(".nginx.conf.tmp")
    tmp.write_text(nginx.config(plan, journal.dir))
    tmp.replace(conf)
    procs.run(elb.netns, ["nginx", "-e", str(journal.dir / nginx.ERROR_LOG), "-c", str(conf), "-s", "reload"])
