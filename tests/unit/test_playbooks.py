"""The provisioning side: playbooks that parse and lint clean, a Vagrantfile Vagrant accepts,
the failure summary of `lab.provision` on a real failing Ansible run (no root needed), and the
per-distribution vars of the supported systems (Debian 12, Debian 13, Ubuntu 24.04)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lab.provision import runner as provision

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PLAYBOOKS = ["playbooks/site.yml", "playbooks/bench.yml"]
FAILING = "tests/fixtures/failing-playbook.yml"


def _run(argv: list[str], **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600, **kw)


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_playbook_syntax(playbook):
    res = _run([str(BIN / "ansible-playbook"), "--syntax-check", "-i", "playbooks/inventory/localhost.yml", playbook])
    assert res.returncode == 0, res.stdout + res.stderr


def test_ansible_lint_production_profile():
    res = _run([str(BIN / "ansible-lint"), "--profile", "production", "playbooks/"])
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "passed" in (res.stdout + res.stderr).lower()


@pytest.mark.skipif(shutil.which("vagrant") is None, reason="vagrant is not installed (make test installs it)")
def test_vagrantfile_validates(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "VAGRANT_DOTFILE_PATH": str(tmp_path / ".vagrant")}
    res = _run(["vagrant", "validate"], env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "validated successfully" in res.stdout
    assert not (ROOT / ".vagrant").exists()


def test_failure_summary_from_a_real_failing_run(capsys):
    result = provision.provision(FAILING, quiet=True)
    assert not result.ok and result.rc != 0
    (failure,) = result.failures
    assert failure.host == "localhost"
    assert failure.task == "Run a program that does not exist"
    assert "No such file or directory" in failure.message
    assert result.stats["localhost"]["failed"] == 1 and result.stats["localhost"]["ok"] >= 1

    assert provision.main([FAILING]) == 1
    err = capsys.readouterr().err
    assert "localhost" in err and "failed=1" in err  # Ansible's recap form
    assert "FAILED: 1 task(s) on 1 host(s)" in err
    assert "Run a program that does not exist" in err and "/nonexistent/cce-lab-fails-on-purpose" in err


def test_bad_extra_vars_is_a_usage_error(capsys):
    assert provision.main(["--extra-vars", "nokey", FAILING]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err


# --- Per-distribution vars: Debian 12, Debian 13, Ubuntu 24.04 (playbooks/roles/platform) ---

ROLES = ROOT / "playbooks" / "roles"
PLATFORM_CHECK = "tests/fixtures/platform-playbook.yml"
PACKAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")  # Debian policy 5.6.1


def _yaml(path: Path):
    return yaml.safe_load(path.read_text())


def _supported() -> dict[str, str]:
    return _yaml(ROLES / "platform" / "defaults" / "main.yml")["platform_supported"]


def _roles_with_vars() -> list[Path]:
    return sorted(p.parent for p in ROLES.glob("*/vars"))


def test_the_supported_systems_are_debian_12_and_13_and_ubuntu_24_04():
    assert set(_supported()) == {"Debian-12", "Debian-13", "Ubuntu-24.04"}
    assert [r.name for r in _roles_with_vars()] == ["base", "testtools"]


@pytest.mark.parametrize("role", [r.name for r in _roles_with_vars()])
def test_every_supported_system_defines_every_variable_the_role_uses(role):
    """One vars file per supported system, the same keys in each, each key used by the role's tasks."""
    files = {p.stem: _yaml(p) for p in (ROLES / role / "vars").glob("*.yml")}
    assert set(files) == set(_supported()), f"{role}/vars/ must have one file per supported system"
    keys = {key: {name for name, data in files.items() if key in data} for data in files.values() for key in data}
    missing = {key: sorted(set(files) - have) for key, have in keys.items() if have != set(files)}
    assert not missing, f"{role}: variables not defined for every system: {missing}"
    tasks = (ROLES / role / "tasks" / "main.yml").read_text()
    assert "include_vars" in tasks and "platform_key" in tasks
    for key in keys:
        assert key.startswith(f"{role}_"), f"{role}/vars: {key} lacks the role prefix"
        assert re.search(rf"\b{key}\b", tasks), f"{role}/vars: {key} is defined but the tasks never use it"


@pytest.mark.parametrize("role", [r.name for r in _roles_with_vars()])
def test_package_lists_are_debian_package_names(role):
    for path in sorted((ROLES / role / "vars").glob("*.yml")):
        for key, value in _yaml(path).items():
            if not key.endswith("_packages"):
                continue
            assert isinstance(value, list), f"{path.name}: {key} is not a list"
            assert len(value) == len(set(value)), f"{path.name}: {key} names a package twice"
            bad = [name for name in value if not (isinstance(name, str) and PACKAGE_NAME.match(name))]
            assert not bad, f"{path.name}: {key}: not package names: {bad}"


def test_ubuntu_installs_no_snap_transitional_browser_and_no_vagrant():
    """Ubuntu's chromium debs only install a snap; Vagrant left its archive after 22.04."""
    ubuntu = _yaml(ROLES / "testtools" / "vars" / "Ubuntu-24.04.yml")
    names = set(ubuntu["testtools_packages"]) | set(ubuntu["testtools_e2e_packages"])
    assert not names & {"chromium", "chromium-browser", "chromium-driver", "chromium-chromedriver", "vagrant"}
    assert {"qemu-system-x86", "qemu-utils", "debootstrap", "debian-archive-keyring"} <= names
    assert len(ubuntu["testtools_missing"]) == 2
    for debian in ("Debian-12", "Debian-13"):
        pkgs = _yaml(ROLES / "testtools" / "vars" / f"{debian}.yml")["testtools_packages"]
        assert {"chromium", "chromium-driver", "vagrant", "vagrant-libvirt"} <= set(pkgs)


# host -> the facts the platform role reads, and the key it must make (None: refused)
PLATFORMS = {
    "debian12": ("Debian", "12.10", "12", "bookworm", "Debian-12"),
    "debian13": ("Debian", "13.8", "13", "trixie", "Debian-13"),
    "ubuntu2404": ("Ubuntu", "24.04", "24", "noble", "Ubuntu-24.04"),
    "ubuntu2204": ("Ubuntu", "22.04", "22", "jammy", None),
    "ubuntu2410": ("Ubuntu", "24.10", "24", "oracular", None),
    "debiansid": ("Debian", "n/a", "n/a", "sid", None),
    "fedora": ("Fedora", "41", "41", "", None),
}


def test_the_platform_role_names_each_system_and_refuses_others_in_one_line(tmp_path):
    hosts = {
        name: {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "platform_distribution": dist,
            "platform_version": version,
            "platform_major_version": major,
            "platform_release": release,
        }
        for name, (dist, version, major, release, _) in PLATFORMS.items()
    }
    hosts["this-host"] = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    res = _run([str(BIN / "ansible-playbook"), "-i", str(inventory), PLATFORM_CHECK], env=_ansible_env(tmp_path))
    out = res.stdout
    assert res.returncode == 2, out + res.stderr  # some hosts failed (on purpose)
    for name, (dist, version, _, release, key) in PLATFORMS.items():
        if key:
            assert re.search(rf'ok: \[{name}\] => {{\s+"msg": "platform_key={re.escape(key)}"', out), out
        else:
            (line,) = [x for x in out.splitlines() if x.startswith(f"fatal: [{name}]")]
            assert (
                "cce-lab provisions Debian 12 (bookworm), Debian 13 (trixie), Ubuntu 24.04 LTS (noble) hosts; "
                f"this one is {dist} {version}" + (f" ({release})" if release else "") + "."
            ) in line
    # the machine running the tests is a supported one (CI's too)
    assert re.search(r'ok: \[this-host\] => {\s+"msg": "platform_key=(Debian-12|Debian-13|Ubuntu-24\.04)"', out), out


def _ansible_env(tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": f"{BIN}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
    }


def test_readme_two_commands_name_the_supported_systems():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    for system in ("Debian 12", "Debian 13", "Ubuntu 24.04"):
        assert system in section, f"README's 'Two commands' does not name {system}"


def test_vm_test_refuses_an_unknown_suite():
    res = _run(["bash", "tests/vm/vm-test.sh"], env={"PATH": "/usr/bin:/bin", "VM_SUITE": "sid"})
    assert res.returncode == 2
    assert "VM_SUITE=sid is not supported (trixie or bookworm)" in res.stderr


def test_debian_13_is_the_default_vagrant_box_and_vm_suite():
    assert 'ENV.fetch("CCE_BOX", "debian/trixie64")' in (ROOT / "Vagrantfile").read_text()
    assert "SUITE=${VM_SUITE:-trixie}" in (ROOT / "tests/vm/vm-test.sh").read_text()
    e2e = (ROOT / "tests/vagrant/vagrant-e2e.sh").read_text()
    assert "BOX=cce-local/$SUITE" in e2e and "SUITE=${VM_SUITE:-trixie}" in e2e
