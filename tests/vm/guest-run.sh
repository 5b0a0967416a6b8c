#!/bin/bash
# Runs inside the reference VM at boot (vm-test.service). Provisions the guest with the
# same playbook as `make setup`, then builds the tunnel model on the OVS *kernel*
# datapath, the VPC model and the NetworkPolicy topology (kernel datapath), each checked, and
# the two models again with kube-proxy in IPVS mode (this guest's kernel has IPVS; the CI
# host's has not). Exit code = result; log on the share.
set -u
T0=$(date +%s%3N)
stage() { local ms=$(( $(date +%s%3N) - T0 )); printf '== STAGE %-34s %6d.%03d s\n' "$1" $((ms / 1000)) $((ms % 1000)); }
stage "guest up ($(nproc) CPUs, kernel $(uname -r))"
for m in openvswitch vxlan ip_vs ip_vs_rr ip_vs_sh ip_set dummy; do modprobe "$m" || { echo "modprobe $m failed"; exit 20; }; done
stage "modules openvswitch, vxlan, ip_vs, ip_set, dummy"

rm -rf /opt/cce-lab && cp -a /share/repo /opt/cce-lab && cd /opt/cce-lab || exit 21
export PIP_NO_INDEX=1 PIP_FIND_LINKS=/share/wheels PIP_DISABLE_PIP_VERSION_CHECK=1
make .venv/.cce-lab-installed || exit 22
stage "venv + pip install -e .[dev]"
make setup || exit 23
stage "make setup (site.yml via ansible-runner)"

RC=0
run_topology() {  # FILE NAME
    local file=$1 name=$2 rc
    .venv/bin/cce-lab up "$file"; rc=$?
    stage "up $name (rc=$rc)"; [ $rc -eq 0 ] || { RC=1; return; }
    if [ "$name" = tunnel ] || [ "$name" = tunipvs ]; then
        .venv/bin/cce-lab status "$name" --json | grep -q '"datapath": "ovs-kernel"' || { echo "not ovs-kernel"; RC=1; }
        for ns in $(ip netns list | awk '{print $1}' | grep -E "^$name-node-[0-9]+$"); do
            echo "--- ip netns exec $ns ovs-dpctl show"
            ip netns exec "$ns" ovs-dpctl show | grep -E 'system@|port '
            ip netns exec "$ns" ovs-dpctl show | grep -q vxlan_sys_4789 || { echo "no kernel VXLAN port in $ns"; RC=1; }
        done
    fi
    if grep -q '^kube_proxy_mode: ipvs' "$file"; then
        echo "--- ip netns exec $name-node-1 ipvsadm -Ln"
        ip netns exec "$name-node-1" ipvsadm -Ln
        ip netns exec "$name-node-1" ip -brief addr show kube-ipvs0
        # the node's IPVS table is the plan's, line for line (ipvsadm -S lists it in hash order)
        .venv/bin/python - "$name" <<'PY' || { echo "IPVS table differs from the plan"; RC=1; }
import subprocess, sys
from lab.observe.status import load_plan
from lab.render import ipvs
plan = load_plan(sys.argv[1])
for node in plan.nodes:
    want = sorted(ipvs.ipvsadm_save(ipvs.virtual_servers(plan, node.name)).splitlines())
    got = sorted(subprocess.run(["ip", "netns", "exec", node.netns, "ipvsadm", "-S", "-n"], capture_output=True,
                                text=True, check=True).stdout.splitlines())
    if got != want:
        print(node.name, "missing:", sorted(set(want) - set(got))[:5], "extra:", sorted(set(got) - set(want))[:5])
        sys.exit(1)
print("IPVS tables of", len(plan.nodes), "nodes equal the plan's")
PY
        .venv/bin/cce-lab explain web --lab "$name" | tee /tmp/explain.txt
        grep -q "chose a real server" /tmp/explain.txt && grep -q "real server 172.16" /tmp/explain.txt \
            || { echo "explain shows no IPVS real server"; RC=1; }
        .venv/bin/cce-lab trace pod-1-1 web --lab "$name" | tee /tmp/trace.txt
        grep -q "IPVS: TCP" /tmp/trace.txt || { echo "trace shows no IPVS connection entry"; RC=1; }
    fi
    .venv/bin/cce-lab check "$name"; rc=$?
    stage "check $name (rc=$rc)"; [ $rc -eq 0 ] || RC=1
    .venv/bin/cce-lab down "$name"; rc=$?
    stage "down $name (rc=$rc)"; [ $rc -eq 0 ] || RC=1
}
sed 's/^datapath: .*/datapath: ovs-kernel/' topologies/tunnel.yaml > /tmp/tunnel-ovs-kernel.yaml
run_topology /tmp/tunnel-ovs-kernel.yaml tunnel
run_topology topologies/vpc.yaml vpc
# NetworkPolicy flows (conntrack zone 2) on the kernel datapath: nf_conntrack, not the userspace tracker
sed 's/^datapath: .*/datapath: ovs-kernel/' topologies/netpol.yaml > /tmp/netpol-ovs-kernel.yaml
run_topology /tmp/netpol-ovs-kernel.yaml netpol
ipvs() { sed "s/^name: .*/name: $2/" "$1"; echo "kube_proxy_mode: ipvs"; }
ipvs /tmp/tunnel-ovs-kernel.yaml tunipvs > /tmp/tunnel-ipvs.yaml
ipvs topologies/vpc.yaml vpcipvs > /tmp/vpc-ipvs.yaml
run_topology /tmp/tunnel-ipvs.yaml tunipvs
run_topology /tmp/vpc-ipvs.yaml vpcipvs
echo "RESULT RC=$RC"
exit $RC
