"""Topology spec: the validated model of what the user asked for.

A spec comes from a YAML file or a Python topology script. Type and range
checks are pydantic's; the address-plane rules of CCE (what must lie inside
what, what must not overlap) are checked here too, so a spec that loads is
self-consistent. Capacity rules (how many nodes and pods fit) live in plan.py.
"""

from __future__ import annotations

import importlib.util
from ipaddress import IPv4Network
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError, field_validator

from lab.errors import SpecError

Model = Literal["tunnel", "vpc"]
Datapath = Literal["auto", "ovs-kernel", "ovs-userspace", "linux-vxlan"]

# CCE's defaults (cce_10_0282, cce_10_0283, cce_bestpractice_00004).
DEFAULT_SERVICE_CIDR = IPv4Network("10.247.0.0/16")
VXLAN_OVERHEAD = 50
# Counts are whole numbers only: YAML's `yes` must not become 1 node.
Count = Annotated[int, Strict()]
CIDR_FIELDS = ("vpc_cidr", "node_subnet", "container_cidr", "service_cidr")


class Spec(BaseModel):
    """One cluster: its network model, address planes and size."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        pattern=r"^[a-z][a-z0-9]{0,9}$",
        description="lab name, prefix of every namespace (1-10 lower-case letters/digits)",
    )
    model: Model
    vpc_cidr: IPv4Network = IPv4Network("192.168.0.0/16")
    node_subnet: IPv4Network = IPv4Network("192.168.0.0/24")
    container_cidr: IPv4Network = IPv4Network("172.16.0.0/16")
    service_cidr: IPv4Network = DEFAULT_SERVICE_CIDR
    nodes: Count = Field(default=3, ge=1, le=2000)
    pods_per_node: Count | list[Count] = Field(default=2)
    block_mask: Count = Field(default=25, ge=24, le=28, description="VPC model: per-node pod block mask")
    tunnel_block_size: Count = Field(default=16, description="tunnel model: IPs per on-demand block")
    route_quota: Count = Field(default=200, ge=1, description="VPC route table quota")
    mtu: Count = Field(default=1500, ge=1280, le=9000, description="underlay (node network) MTU")
    datapath: Datapath = "auto"
    ecs: bool = Field(default=False, description="add an ECS: a VM in the node subnet outside the cluster")

    @field_validator(*CIDR_FIELDS, mode="before")
    @classmethod
    def _cidr_has_prefix(cls, value: Any) -> Any:
        if isinstance(value, str) and "/" not in value:
            raise ValueError(
                f"{value!r} is not an IPv4 network in CIDR form: the /prefix length is missing (e.g. 172.16.0.0/16)"
            )
        return value

    @field_validator("pods_per_node")
    @classmethod
    def _pods_non_negative(cls, value: int | list[int]) -> int | list[int]:
        counts = value if isinstance(value, list) else [value]
        if any(c < 0 for c in counts):
            raise ValueError("pod counts must be 0 or more")
        return value

    @field_validator("tunnel_block_size")
    @classmethod
    def _block_power_of_two(cls, value: int) -> int:
        if value < 4 or value > 256 or value & (value - 1):
            raise ValueError("must be a power of two from 4 to 256 (CCE uses 16)")
        return value

    def pod_counts(self) -> list[int]:
        """Pods on each node, in node order."""
        if isinstance(self.pods_per_node, int):
            return [self.pods_per_node] * self.nodes
        return list(self.pods_per_node)


def _check_planes(spec: Spec) -> None:
    """CCE's rules for the three address planes: which must not overlap."""
    if not spec.node_subnet.subnet_of(spec.vpc_cidr):
        raise SpecError("node_subnet", f"{spec.node_subnet} must lie inside vpc_cidr {spec.vpc_cidr}")
    if spec.container_cidr.overlaps(spec.vpc_cidr):
        raise SpecError(
            "container_cidr",
            f"{spec.container_cidr} overlaps vpc_cidr {spec.vpc_cidr}; the container network must not overlap the VPC",
        )
    for other in ("vpc_cidr", "node_subnet", "container_cidr"):
        net = getattr(spec, other)
        if spec.service_cidr.overlaps(net):
            raise SpecError(
                "service_cidr", f"{spec.service_cidr} overlaps {other} {net}; the Service CIDR must not overlap it"
            )
    if isinstance(spec.pods_per_node, list) and len(spec.pods_per_node) != spec.nodes:
        raise SpecError(
            "pods_per_node", f"lists {len(spec.pods_per_node)} counts but nodes is {spec.nodes}; give one per node"
        )
    if spec.model == "vpc" and spec.datapath not in ("auto",):
        raise SpecError(
            "datapath", f"{spec.datapath!r} is a tunnel datapath; the VPC model routes without one (use auto)"
        )


def _first_error(exc: ValidationError) -> SpecError:
    err = exc.errors()[0]
    loc = err["loc"]
    # After the key itself, keep list indices only: other parts are pydantic's union branch names.
    field = (str(loc[0]) + "".join(f"[{p}]" for p in loc[1:] if isinstance(p, int))) if loc else "topology"
    msg = err["msg"]
    if field.startswith("pods_per_node") and err["type"] in ("int_type", "int_parsing", "list_type"):
        msg = "must be a whole number of pods, or a list with one whole number per node"
    elif err["type"] == "extra_forbidden":
        msg = f"unknown key (allowed: {', '.join(Spec.model_fields)})"
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
    _check_planes(spec)
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
        raise SpecError("topology", f"{path} is not valid YAML: {exc}") from None
    return build_spec(data)
