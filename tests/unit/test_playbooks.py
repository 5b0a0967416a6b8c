"""The provisioning side: playbooks that parse and lint clean, a Vagrantfile Vagrant accepts,
and the failure summary of `lab.provision` on a real failing Ansible run (no root needed)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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
