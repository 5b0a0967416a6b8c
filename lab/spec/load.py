"""Loading a topology: YAML or a Python script -> a validated Spec, or one SpecError."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from lab.errors import SpecError
from lab.spec.model import NESTED, Spec
from lab.spec.rules import check_planes, check_services


def _first_error(exc: ValidationError) -> SpecError:
    err = exc.errors()[0]
    loc = err["loc"]
    # Keys and list indices; pydantic's union branch names ("int", "list[int]") are not fields.
    parts = [p for p in loc if isinstance(p, int) or (p not in ("int", "str", "bool") and "[" not in p)]
    field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".") or "topology"
    msg = err["msg"]
    if field.startswith("pods_per_node") and err["type"] in ("int_type", "int_parsing", "list_type"):
        msg = "must be a whole number of pods, or a list with one whole number per node"
    elif err["type"] == "extra_forbidden":
        model = NESTED.get(str(loc[0]), Spec) if len(loc) > 1 else Spec
        allowed = [f.alias or name for name, f in model.model_fields.items()]
        msg = f"unknown key (allowed: {', '.join(allowed)})"
    elif err["type"] == "missing":
        msg = "required key is missing"
    elif err["type"].startswith("ip_v4_network"):
        msg = f"{err.get('input')!r} is not an IPv4 network in CIDR form with host bits zero (e.g. 172.16.0.0/16)"
    elif err["type"] == "string_pattern_mismatch" and field == "name":
        msg = f"{err.get('input')!r} must be 1-10 lower-case letters or digits, starting with a letter"
    elif err["type"] == "literal_error":
        msg = f"{err.get('input')!r} is not one of {err['ctx']['expected']}"
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
    return spec


def load(path: str | Path, params: dict[str, str] | None = None) -> Spec:
    """Read a topology file: YAML (`.yaml`/`.yml`) or a Python script (`.py`).

    A script defines `topology(**params)` returning a mapping or a Spec;
    `params` are the CLI's `--param KEY=VALUE` pairs, passed as strings.
    """
    path = Path(path)
    if not path.is_file():
        raise SpecError("topology", f"file {path} does not exist")
    if path.suffix == ".py":
        mod_spec = importlib.util.spec_from_file_location(f"cce_topology_{path.stem}", path)
        assert mod_spec and mod_spec.loader
        module = importlib.util.module_from_spec(mod_spec)
        try:
            mod_spec.loader.exec_module(module)
        except Exception as exc:
            raise SpecError("topology", f"{path} failed to load: {type(exc).__name__}: {exc}") from None
        if not callable(getattr(module, "topology", None)):
            raise SpecError("topology", f"{path} must define a function topology(**params)")
        try:
            data = module.topology(**(params or {}))
        except (TypeError, ValueError) as exc:
            raise SpecError("param", f"{path}: {exc}") from None
        except Exception as exc:
            raise SpecError("topology", f"{path}: topology() failed: {type(exc).__name__}: {exc}") from None
        return build_spec(data)
    if path.suffix not in (".yaml", ".yml"):
        raise SpecError("topology", f"{path}: use a .yaml/.yml file or a .py topology script")
    if params:
        raise SpecError("param", "--param applies to Python topology scripts only")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise SpecError("topology", f"{path} is not valid YAML: {_yaml_problem(exc)}") from None
    return build_spec(data)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's complaint on one line: what is wrong and where (its own text spans several lines)."""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark else problem
