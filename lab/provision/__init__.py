"""Provisioning: preparing hosts for the lab with the Ansible playbooks, through ansible-runner."""
