"""Answers of explore-kube-sep: the KUBE-SEP chain whose affinity list remembers the client pod."""

from lab.render import kubeproxy


def _client(lab):
    return next(p for p in lab.plan.pods if p.name == "pod-1-1")


def taken(lab) -> list[str]:
    """The web-sticky KUBE-SEP chains whose `recent` list on the client's node holds the client's IP."""
    svc, client = lab.plan.service("web-sticky"), _client(lab)
    node = lab.plan.node(client.node)
    chains = [kubeproxy.sep_chain(svc, e) for e in svc.endpoints]
    return [c for c in chains if f"src={client.ip} " in lab.run(node.netns, "cat", f"/proc/net/xt_recent/{c}")]


def answer(lab) -> str:
    chains = taken(lab)
    return rf"\b({'|'.join(chains)})\b" if chains else r"(?!)"  # no request sent yet: nothing is right


def reference(lab) -> str:
    if not taken(lab):  # the reference solution sends the request itself, as the trainee would
        from lab.observe import probe

        svc = lab.plan.service("web-sticky")
        probe.http(_client(lab).netns, svc.cluster_ip, svc.port)
    return (taken(lab) or ["(no chain took the request)"])[0]
