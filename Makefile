# cce-lab: set a machine up, run the demo, test, lint.
#
#   make setup   # as root on Debian/Ubuntu: python venv + packages + Ansible provisioning
#   make demo    # setup, then `cce-lab demo`
#   make test    # setup, then pytest (fails if no test was collected)
#   make vm-test # the reference VM: OVS kernel datapath + playbook in a QEMU guest (about 21 min under TCG here)
#   make vagrant-e2e # vagrant up (libvirt, local box) + sudo cce-lab check + destroy (~8 min)
#   make golden  # rewrite tests/golden/ from what the code produces now (review the diff, then commit)
#   make lint    # ruff check + ruff format --check
#   make clean   # remove the venv, caches and Ansible run logs (never lab state in /run/cce-lab)
#
# setup is cheap to repeat: the venv is (re)installed only when pyproject.toml
# changes or the venv is broken, and the playbook is idempotent (changed=0).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

VENV := .venv
PY := $(VENV)/bin/python
# Inside the venv, so removing the venv also forgets that it was installed.
STAMP := $(VENV)/.cce-lab-installed
# What the bootstrap needs before Python can run anything: venv/pip for the
# venv, python3-apt for Ansible's apt module on /usr/bin/python3.
BOOTSTRAP_PKGS := python3-venv python3-pip python3-apt
LINT_PATHS := $(wildcard lab tests benchmarks)
# e.g. make setup PROVISION_ARGS='--tags base --check'
PROVISION_ARGS ?=
PYTEST_ARGS ?=

.PHONY: help setup bootstrap demo test golden vm-test vagrant-e2e lint clean

help:
	@sed -n 's/^#   //p' $(firstword $(MAKEFILE_LIST))

setup: $(STAMP)
	@$(PY) -c 'import lab.provision, ansible_runner, pytest' 2>/dev/null || { \
	  echo "setup: the venv is incomplete, reinstalling" >&2; rm -f $(STAMP); $(MAKE) --no-print-directory $(STAMP); }
	$(PY) -m lab.provision $(PROVISION_ARGS)

# Always checked (three dpkg-query calls); apt runs only when something is missing.
bootstrap:
	@command -v dpkg-query >/dev/null || { echo "setup: needs a Debian/Ubuntu host (dpkg, apt)" >&2; exit 1; }
	@missing=""; \
	for p in $(BOOTSTRAP_PKGS); do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q ' installed$$' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" -ne 0 ]; then echo "setup: missing packages:$$missing; run 'make setup' as root" >&2; exit 1; fi; \
	  echo "setup: installing$$missing"; \
	  apt-get update; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

$(STAMP): pyproject.toml | bootstrap
	@if [ ! -x $(PY) ] || ! grep -qx 'include-system-site-packages = true' $(VENV)/pyvenv.cfg; then \
	  echo "/usr/bin/python3 -m venv --system-site-packages $(VENV)"; \
	  /usr/bin/python3 -m venv --system-site-packages $(VENV); \
	fi
	$(PY) -m pip install --disable-pip-version-check -q -e '.[dev]'
	@touch $@

# The test suite also validates the Vagrantfile (Vagrant) and boots the reference VM (QEMU, debootstrap).
test vm-test: PROVISION_ARGS += -e testtools_install=true

demo: setup
	$(VENV)/bin/cce-lab demo

test: setup
	@rc=0; $(VENV)/bin/pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ "$$rc" -eq 5 ]; then \
	  echo "make test: FAILED: pytest collected no tests (exit 5); a run that tests nothing is not a pass" >&2; exit 1; \
	fi; \
	exit "$$rc"

# Golden files (plans, rendered rules, error messages, document schemas): rewritten on purpose only.
golden: $(STAMP)
	$(VENV)/bin/pytest -q tests/unit --update-golden
	@git status --short tests/golden

# The reference VM: the OVS kernel datapath and the playbook, tested in a Debian guest under QEMU
# (trixie by default; make vm-test VM_SUITE=bookworm for Debian 12).
vm-test: setup
	bash tests/vm/vm-test.sh

# A real `vagrant up --provider=libvirt` through the Vagrantfile, on a box built here (~8 min; not in CI).
vagrant-e2e: PROVISION_ARGS += -e testtools_install=true -e testtools_e2e_install=true
vagrant-e2e: setup
	bash tests/vagrant/vagrant-e2e.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)
	$(VENV)/bin/ansible-lint --profile production playbooks/

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build playbooks/.runner *.egg-info
	find . -name .git -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
