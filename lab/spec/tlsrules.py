"""The rules of HTTPS Ingress rules: TLS is a property of a host, as in a Kubernetes Ingress's `tls` section.

Every rule of one host must agree on `tls` and on what plain HTTP to it does
(the ELB has one certificate and one HTTP rule per host), and only a TLS
host can redirect or refuse plain HTTP.
"""

from __future__ import annotations

from lab.errors import SpecError
from lab.spec.model import Ingress, Spec

DEFAULT_PLAIN_HTTP = "redirect"  # what ingress controllers do for a TLS host unless told otherwise


def plain_http(ing: Ingress) -> str:
    """What plain HTTP to this rule's host does: redirect or refuse (TLS hosts), "" (served, plain hosts)."""
    return (ing.plain_http or DEFAULT_PLAIN_HTTP) if ing.tls else ""


def check_ingress_tls(spec: Spec) -> None:
    first: dict[str, int] = {}  # host -> index of its first rule
    for i, ing in enumerate(spec.ingresses):
        if ing.plain_http is not None and not ing.tls:
            raise SpecError(f"ingresses[{i}].plain_http", "only a TLS rule (tls: true) redirects or refuses plain HTTP")
        j = first.setdefault(ing.host, i)
        other = spec.ingresses[j]
        if other.tls != ing.tls:
            raise SpecError(
                f"ingresses[{i}].tls",
                f"ingresses[{j}] says tls: {str(other.tls).lower()} for {ing.host}: every rule of a host must agree",
            )
        if plain_http(other) != plain_http(ing):
            raise SpecError(
                f"ingresses[{i}].plain_http",
                f"ingresses[{j}] says plain_http: {plain_http(other)} for {ing.host}: every rule of a host must agree",
            )
