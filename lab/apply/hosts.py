"""A lab over the hosts of an inventory, from one controller: every host's part through Ansible.

Each host builds its own part with its own cce-lab (`up --here HOST`), so the
engine, the journal and `down` are the same on one host as on many; Ansible
(through ansible-runner, `playbooks/lab.yml`) only ships the files, runs the
command on every host in parallel and reports per host. A part that fails
takes every host's part down again: nothing is left half-built anywhere.
"""

from __future__ import annotations

import sys
from pathlib import Path

from lab.errors import LabError
from lab.provision.runner import ProvisionResult, provision

PLAYBOOK = "playbooks/lab.yml"


def _run(action: str, name: str, inventory: str, **more: str) -> ProvisionResult:
    extravars = {
        "cce_lab_action": action,
        "cce_lab_name": name,
        "cce_lab_inventory": str(Path(inventory).resolve()),
        "cce_lab_controller_cli": f"{sys.executable} -m lab.cli",  # hosts on Ansible's local connection
        **more,
    }
    return provision(PLAYBOOK, inventory, extravars=extravars)


def _why(result: ProvisionResult) -> str:
    failure = next(iter(result.failures), None)
    if failure is None:
        return result.error.splitlines()[-1] if result.error else f"ansible-playbook exited {result.rc}"
    last = [ln for ln in failure.message.splitlines() if ln.strip()][-1:] or ["failed"]
    return f"host {failure.host}: {last[0].removeprefix('error: ')}"


def up(name: str, topology: str, inventory: str, placement: str, datapath: str | None) -> None:
    """Every host's part; on any failure every part is removed again and the first failure raised."""
    result = _run(
        "up",
        name,
        inventory,
        cce_lab_topology=str(Path(topology).resolve()),
        cce_lab_placement=placement,
        cce_lab_datapath=datapath or "",
    )
    if result.ok:
        return
    undone = _run("down", name, inventory)
    also = (
        "" if undone.ok else f"; removing the parts failed too ({_why(undone)}): run 'cce-lab down {name} --inventory'"
    )
    raise LabError(f"up failed on {_why(result)}; every host's part was removed{also}")


def down(name: str, inventory: str) -> None:
    result = _run("down", name, inventory)
    if not result.ok:
        raise LabError(f"down failed on {_why(result)}")
