"""The hosts a lab may spread over, as an Ansible inventory names them: checked, typed, pure.

`lab/inventory.py` reads the file with Ansible's own parser and hands each
host's name and variables here. A host needs the IPv4 address the other hosts'
tunnels reach it at (`cce_lab_address`, else `ansible_host`, else its name when
that is an address) and the MTU of the link between the hosts
(`cce_lab_link_mtu`, default 1500). One host holds the lab's shared parts
(VPC router, ELB, NAT gateway, Internet, peer VPC, intranet, ECS): the one
with `cce_lab_shared: true`, else the first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from ipaddress import IPv4Address
from typing import Any

from pydantic import BaseModel, ConfigDict

from lab.errors import SpecError

MAX_HOSTS = 64
DEFAULT_LINK_MTU = 1500
_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}  # as Ansible reads them
ADDRESS_VAR, MTU_VAR, SHARED_VAR = "cce_lab_address", "cce_lab_link_mtu", "cce_lab_shared"


class LabHost(BaseModel):
    """One inventory host: how Ansible reaches it, and what its host tunnel needs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    address: str  # the IPv4 address the other hosts' tunnels send to
    link_mtu: int
    connection: str = "ssh"  # ansible_connection: ssh, or local for the controller itself
    shared: bool = False  # holds the router and the hosts around the cluster


class Inventory(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    hosts: list[LabHost]

    @property
    def shared(self) -> LabHost:
        return next(h for h in self.hosts if h.shared)

    def host(self, name: str) -> LabHost | None:
        return next((h for h in self.hosts if h.name == name), None)


def build_inventory(source: str, hosts: Sequence[tuple[str, Mapping[str, Any]]]) -> Inventory:
    """Inventory hosts (name, variables) -> Inventory; a SpecError names the host, the variable and the rule."""
    if not hosts:
        raise SpecError("inventory", f"{source} names no host")
    if len(hosts) > MAX_HOSTS:
        raise SpecError("inventory", f"{source} names {len(hosts)} hosts; a lab spreads over at most {MAX_HOSTS}")
    parsed = [_host(name, dict(variables)) for name, variables in hosts]
    shared = [h.name for h in parsed if h.shared]
    if len(shared) > 1:
        raise SpecError(
            f"inventory: {SHARED_VAR}", f"is true on {', '.join(shared[:4])}: one host holds the shared parts"
        )
    if not shared:
        parsed[0] = parsed[0].model_copy(update={"shared": True})
    seen: dict[str, str] = {}
    for h in parsed:
        if h.address in seen:
            raise SpecError(f"inventory: host {h.name}: address", f"{h.address} is host {seen[h.address]}'s too")
        seen[h.address] = h.name
    return Inventory(source=source, hosts=parsed)


def _host(name: str, variables: dict[str, Any]) -> LabHost:
    where = f"inventory: host {name}"
    address = _address(name, variables, where)
    mtu = variables.get(MTU_VAR, DEFAULT_LINK_MTU)
    if isinstance(mtu, bool) or not isinstance(mtu, int | str) or not str(mtu).isdigit():
        raise SpecError(f"{where}: {MTU_VAR}", "must be a whole number of bytes (the host link's MTU)")
    if not 1280 <= int(mtu) <= 65535:
        raise SpecError(f"{where}: {MTU_VAR}", f"{int(mtu)} is not an MTU from 1280 to 65535")
    shared = _BOOLEANS.get(str(variables.get(SHARED_VAR, False)).lower())
    if shared is None:
        raise SpecError(f"{where}: {SHARED_VAR}", "must be true or false")
    connection = str(variables.get("ansible_connection") or "ssh")
    return LabHost(name=name, address=address, link_mtu=int(mtu), connection=connection, shared=shared)


def _address(name: str, variables: dict[str, Any], where: str) -> str:
    for key in (ADDRESS_VAR, "ansible_host"):
        value = variables.get(key)
        if value is None:
            continue
        try:
            return str(IPv4Address(str(value)))
        except ValueError:
            if key == ADDRESS_VAR:
                raise SpecError(f"{where}: {ADDRESS_VAR}", "must be an IPv4 address") from None
    try:
        return str(IPv4Address(name))
    except ValueError:
        raise SpecError(
            f"{where}: {ADDRESS_VAR}",
            "is needed: the IPv4 address the other hosts reach this one at (no name is resolved)",
        ) from None
