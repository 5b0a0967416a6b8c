"""The lab's ELB health checker: probes kube-proxy's health-check node port on every node, as CCE's ELB does.

`checker` (the process: probe, count, rewrite a listener's chains when its
healthy set changes). `lab.apply.health` starts it; `down` ends it by pidfile.
"""
