"""`cce-lab provision [...]`: playbooks/site.yml through ansible-runner (its options are lab.provision's own)."""

from __future__ import annotations


def add(sub) -> None:
    sp = sub.add_parser(
        "provision", help="set this machine (or an inventory) up with playbooks/site.yml through ansible-runner"
    )
    sp.add_argument("args", nargs="*", help="[--check] [--tags a,b] [--inventory FILE] [PLAYBOOK] (see provision -h)")


def run(argv: list[str]) -> int:
    from lab.provision.runner import main  # ansible-runner is only imported when provisioning

    return main(argv)
