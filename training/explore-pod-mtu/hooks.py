"""Answers of explore-pod-mtu: the number, and a reason that fits the model."""


def answer(lab) -> str:
    mtu = lab.plan.pod_mtu
    if lab.plan.model == "tunnel":
        why = r"vxlan|\b50\b|encap|overhead|tunnel|header"
    else:
        why = r"no (encap|tunnel|overhead|vxlan)|not encap|unencap|without|routed|full|same as"
    return rf"(?s)(?=.*\b{mtu}\b)(?=.*({why}))"


def reference(lab) -> str:
    if lab.plan.model == "tunnel":
        return f"{lab.plan.pod_mtu}: the {lab.plan.mtu}-byte underlay minus VXLAN's 50 bytes of encapsulation overhead"
    return f"{lab.plan.pod_mtu}: no encapsulation in the VPC model, pods use the full underlay MTU"
