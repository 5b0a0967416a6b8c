"""Topology data (from YAML or a script) -> a validated Spec, or one SpecError naming the field and the rule."""

from __future__ import annotations

from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from lab.errors import SpecError
from lab.spec.model import DNS_LABEL, PORT_NAME, Spec
from lab.spec.netpolrules import check_network_policies
from lab.spec.rules import check_planes, check_services
from lab.spec.tlsrules import check_ingress_tls


def _shown(value: Any) -> str:
    """A value as an error shows it: quoted, and cut short (input is never echoed at length)."""
    text = repr(value)
    return text if len(text) <= 42 else text[:40] + "..."


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel]:
    """The model a location names (services[0].ports[1], network_policies[0].ingress[0].from[0]): an unknown-key
    error lists that model's own keys."""
    model: type[BaseModel] = Spec
    for part in loc:
        if isinstance(part, int):
            continue
        info = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        found = [t for t in _types(info.annotation) if isinstance(t, type) and issubclass(t, BaseModel)] if info else []
        if not found:
            break
        model = found[0]
    return model


def _types(annotation: Any) -> list[Any]:
    args = get_args(annotation)
    return [t for a in args for t in _types(a)] if args else [annotation]


def _first_error(exc: ValidationError) -> SpecError:
    err = exc.errors()[0]
    loc = err["loc"]
    # Keys and list indices; pydantic's union branch names ("int", "list[int]") are not fields.
    parts = [p for p in loc if isinstance(p, int) or (p not in ("int", "str", "bool") and "[" not in p)]
    field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".") or "topology"
    msg = err["msg"]
    shown = _shown(err.get("input"))
    if field.startswith("pods_per_node") and err["type"] in ("int_type", "int_parsing", "list_type"):
        msg = "must be a whole number of pods, or a list with one whole number per node"
    elif err["type"] in ("int_type", "int_parsing") and isinstance(err.get("input"), str):
        msg = f"{shown} is not a whole number (an integer in plain decimal digits: no leading 0, 0x, _ or :)"
    elif err["type"] == "extra_forbidden":
        model = _model_at(tuple(parts[:-1]))
        allowed = [f.alias or name for name, f in model.model_fields.items()]
        msg = f"unknown key (allowed: {', '.join(allowed)})"
    elif err["type"] == "missing":
        msg = "required key is missing"
    elif err["type"].startswith("ip_v4_network"):
        msg = f"{shown} is not an IPv4 network in CIDR form with host bits zero (e.g. 172.16.0.0/16)"
    elif err["type"] == "string_pattern_mismatch" and field == "name":
        msg = f"{shown} must be 1-10 lower-case letters or digits, starting with a letter"
    elif err["type"] == "string_pattern_mismatch" and err["ctx"]["pattern"] in (DNS_LABEL, PORT_NAME):
        msg = f"{shown} must be a DNS label: 1-63 lower-case letters, digits or '-', a letter or digit at each end"
    elif err["type"] == "string_pattern_mismatch" and "abels" in field:
        msg = f"{shown} is not a Kubernetes label: up to 63 letters, digits, '-', '_' or '.', alphanumeric at both ends"
    elif err["type"] == "literal_error":
        msg = f"{shown} is not one of {err['ctx']['expected']}"
    return SpecError(field, msg.removeprefix("Value error, "))


def build_spec(data: Any) -> Spec:
    """Validate a mapping (from YAML or a script) into a Spec, or raise SpecError."""
    if isinstance(data, Spec):
        spec = data
    elif not isinstance(data, dict):
        raise SpecError("topology", "must be a mapping of keys to values")
    else:
        try:
            spec = Spec.model_validate(data)
        except ValidationError as exc:
            raise _first_error(exc) from None
    check_planes(spec)
    check_services(spec)
    check_ingress_tls(spec)
    check_network_policies(spec)
    return spec
