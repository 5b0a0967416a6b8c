#!/bin/bash
# Runs inside the reference VM at boot (vm-test.service). Provisions the guest with the
# same playbook as `make setup`, then builds the tunnel model on the OVS *kernel*
# datapath, the VPC model and the NetworkPolicy topology (kernel datapath), each checked, and
# the two models again with kube-proxy in IPVS mode (this guest's kernel has IPVS; the CI
# host's has not), and a short `compare` of the tunnel model on ovs-kernel against linux-vxlan
# (the stand-in where the OVS module is missing): its ratios per metric are the figure, its
# report goes to the share (out/vm-ratio). Exit code = result; log on the share.
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
# The proxy, validated: the same tunnel topology on the OVS kernel datapath and on linux-vxlan, one
# compare, pod -> pod across nodes only (the path VXLAN carries; under TCG a path takes minutes). The
# ratio is reported, never judged: only a failed compare or a datapath other than the pinned one fails.
ratio_compare() {
    local out=/share/out/vm-ratio results=/tmp/vm-ratio rc
    sed -e 's/^name: .*/name: vmrovs/' -e 's/^datapath: .*/datapath: ovs-kernel/' topologies/tunnel.yaml > /tmp/vmrovs.yaml
    sed -e 's/^name: .*/name: vmrvx/' -e 's/^datapath: .*/datapath: linux-vxlan/' topologies/tunnel.yaml > /tmp/vmrvx.yaml
    rm -rf "$results" "$out"
    .venv/bin/cce-lab compare /tmp/vmrovs.yaml /tmp/vmrvx.yaml --duration 2 --repetitions 3 \
        --path "pod-pod across nodes" --results "$results"; rc=$?
    stage "compare ovs-kernel / linux-vxlan (rc=$rc)"
    [ $rc -eq 0 ] || { echo "RATIO compare failed (rc=$rc)"; RC=1; return; }
    mkdir -p "$out" && cp -a "$results"/*/. "$out"/ || { echo "RATIO no report in $results"; RC=1; return; }
    # each lab on the datapath it was pinned to (the plan's, as `status --json` gives it), where the module loads
    .venv/bin/python - "$out/results.json" <<'PY' || { echo "RATIO datapaths differ from the pinned ones"; RC=1; }
import json, sys
doc = json.load(open(sys.argv[1]))
want = {"baseline": "veth", "vmrovs": "ovs-kernel", "vmrvx": "linux-vxlan"}
got = {lab["name"]: lab["datapath"] for lab in doc["labs"]}
pairs = doc["ratios"]["ovs_kernel_vs_linux_vxlan"]
ok = got == want and doc["environment"]["ovs_kernel_module"] is True
ok = ok and [(p["ovs_kernel"], p["linux_vxlan"]) for p in pairs] == [("vmrovs", "vmrvx")]
ok = ok and all("pod-pod across nodes" in lab["paths"] for lab in doc["labs"][1:])
print("RATIO labs", got, "ovs module:", doc["environment"]["ovs_kernel_module"], "pairs:", len(pairs))
sys.exit(0 if ok else 1)
PY
}
ratio_compare
echo "RESULT RC=$RC"
exit $RC
