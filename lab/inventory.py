"""Reading an Ansible inventory (YAML or INI) with Ansible's own parser, and nothing that would run code.

Only the `yaml` and `ini` inventory plugins are enabled: an executable file is
never run as a dynamic inventory. The file gets the topology's checks first
(regular, bounded UTF-8 text), and a host range such as `node[1:100000]` that
would expand past the host limit is refused before Ansible expands it.
Ansible's own warnings are swallowed; a file it cannot parse becomes one line.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

from lab.errors import SpecError
from lab.spec.inventory import MAX_HOSTS, Inventory, build_inventory
from lab.topology import checked_text

_RANGE = re.compile(r"\[(\d+):(\d+)(?::(\d+))?\]")
_CAUSE = re.compile(r"\w+ parsing failed: [^\n]*", re.IGNORECASE)
_SETTINGS = {
    "ANSIBLE_INVENTORY_ENABLED": "yaml,ini",
    "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
    "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "True",
    "ANSIBLE_LOCALHOST_WARNING": "False",
}


def load(path: str | Path) -> Inventory:
    """The inventory at `path`, its hosts in Ansible's order."""
    path = Path(path)
    text = checked_text(path, "inventory")
    for match in _RANGE.finditer(text):
        start, end = int(match[1]), int(match[2])
        if end - start >= MAX_HOSTS:
            raise SpecError("inventory", f"{path}: a host range {match[0][:40]} names more than {MAX_HOSTS} hosts")
    return build_inventory(str(path), _hosts(path))


def _hosts(path: Path) -> list[tuple[str, dict]]:
    os.environ.update(_SETTINGS)  # read when Ansible's constants load, so before the first import
    from ansible import constants
    from ansible.errors import AnsibleError
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.manager import VariableManager

    constants.INVENTORY_ENABLED = ["yaml", "ini"]  # also when Ansible was imported before with other settings
    constants.INVENTORY_UNPARSED_IS_FAILED = True
    quiet = io.StringIO()
    try:
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            loader = DataLoader()
            manager = InventoryManager(loader=loader, sources=[str(path.resolve())])
            variables = VariableManager(loader=loader, inventory=manager)
            return [(h.name, variables.get_vars(host=h, include_hostvars=False)) for h in manager.get_hosts()]
    except AnsibleError:
        found = _CAUSE.search(quiet.getvalue())
        cause = found[0] if found else ""
        raise SpecError(
            "inventory", f"{path} is not a YAML or INI Ansible inventory{': ' + cause if cause else ''}"
        ) from None
