#!/bin/bash
# make vm-test: the reference VM test. Builds (and caches) a Debian image (trixie, Debian 13,
# by default; VM_SUITE=bookworm for Debian 12) from Debian's packages, boots it under QEMU
# (KVM where it works, else TCG), and inside it provisions the lab with playbooks/site.yml and
# runs the tunnel model on the OVS kernel datapath and the VPC model, each with `cce-lab check`,
# then a short `cce-lab compare` of the tunnel model on ovs-kernel against linux-vxlan, whose report
# (results.json, report.md, charts) lands in benchmarks/results/vm-ratio/ and whose ratio table is
# printed. Exit code = the guest's result.
#
#   CCE_VM_CACHE  image and wheel cache (default /var/cache/cce-lab-vm)
#   CCE_VM_TIMEOUT seconds before the VM is stopped (default 2700)
#   CCE_VM_ACCEL  kvm or tcg (default tcg)
#   VM_SUITE      the guest's Debian release: trixie (default) or bookworm
#   CCE_VM_MIRROR the Debian mirror debootstrap and the guest's apt use (default deb.debian.org)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$REPO/tests/vm"
CACHE=${CCE_VM_CACHE:-/var/cache/cce-lab-vm}
TIMEOUT=${CCE_VM_TIMEOUT:-2700}
PKGS=linux-image-amd64,systemd-sysv,udev,kmod,procps,iproute2,iptables,nftables,ipset,ipvsadm,conntrack,tcpdump,ethtool,iputils-ping,iperf3,libiperf0,bridge-utils,mininet,python3-venv,python3-pip,python3-apt,openvswitch-switch,openvswitch-common,nginx,graphviz,fonts-dejavu-core,ca-certificates,make
SUITE=${VM_SUITE:-trixie}
MIRROR=${CCE_VM_MIRROR:-http://deb.debian.org/debian}
case "$SUITE" in
    bookworm | trixie) ;;
    *) echo "vm-test: VM_SUITE=$SUITE is not supported (trixie or bookworm)" >&2; exit 2 ;;
esac

for tool in debootstrap qemu-system-x86_64 qemu-img mkfs.ext4; do
    command -v "$tool" >/dev/null || { echo "vm-test: $tool is missing: run 'make setup PROVISION_ARGS=\"-e testtools_install=true\"'" >&2; exit 2; }
done
t0=$(date +%s)
stage() { echo "== $(( $(date +%s) - t0 )) s: $*"; }

# One image per suite (bookworm and trixie coexist in the cache), rebuilt when the package list,
# the mirror, the Python dependencies or the image recipe change; a suite's older images are removed.
key=$( { echo "$SUITE $MIRROR $PKGS"; cat "$REPO/pyproject.toml" "$HERE/customize-rootfs.sh" "$HERE/guest-wheels.sh"; } | sha256sum | cut -c1-16)
IMG="$CACHE/$SUITE-$key"
WORK=$(mktemp -d /var/tmp/cce-vm-test.XXXXXX)
QEMU_PID=""
cleanup() {
    if [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null; then kill "$QEMU_PID"; fi
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

if [ ! -f "$IMG/base.raw" ]; then
    for old in "$CACHE/$SUITE"-*; do [ -d "$old" ] && [ "$old" != "$IMG" ] && rm -rf "$old"; done
    stage "building the image $SUITE-$key (debootstrap $SUITE from $MIRROR, 2 to 4 minutes)"
    rm -rf "$IMG"; mkdir -p "$IMG/rootfs" "$CACHE/debs-$SUITE" "$IMG/wheels"
    debootstrap --variant=minbase --include="$PKGS" --cache-dir="$CACHE/debs-$SUITE" "$SUITE" "$IMG/rootfs" "$MIRROR" >"$IMG/debootstrap.log"
    stage "debootstrap $SUITE done ($(cat "$IMG/rootfs/etc/debian_version"))"
    # The wheelhouse is made by the guest's own Python (trixie's 3.13 needs other wheels than the host's),
    # in the tree before it boots: PyPI is not reachable from the guest.
    bash "$HERE/guest-wheels.sh" "$IMG/rootfs" "$REPO" "$IMG/wheels"
    stage "wheelhouse: $(ls "$IMG/wheels" | wc -l) wheels for the guest's $(chroot "$IMG/rootfs" /usr/bin/python3 -V)"
    bash "$HERE/customize-rootfs.sh" "$IMG/rootfs" "$SUITE" "$MIRROR"
    rm -rf "$IMG/rootfs/root/.cache" "$IMG"/rootfs/var/cache/apt/archives/*.deb
    cp "$IMG"/rootfs/boot/vmlinuz-* "$IMG/vmlinuz"
    cp "$IMG"/rootfs/boot/initrd.img-* "$IMG/initrd.img"
    mkfs.ext4 -q -F -L cce-root -d "$IMG/rootfs" "$IMG/base.raw" 4G
    rm -rf "$IMG/rootfs"
    stage "image ready"
else
    stage "cached image $key"
fi

# The share: this repository as it is (tracked and untracked files, not ignored ones), the wheels, the script.
mkdir -p "$WORK/share/repo" "$WORK/share/out"
(cd "$REPO" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) | tar -xf - -C "$WORK/share/repo"
cp -a "$IMG/wheels" "$WORK/share/wheels"  # a copy: 9p does not follow a link out of the share
cp "$HERE/guest-run.sh" "$WORK/share/guest-run.sh"
qemu-img create -q -f qcow2 -b "$IMG/base.raw" -F raw "$WORK/overlay.qcow2"

# KVM where it works: CCE_VM_ACCEL=kvm. The default is TCG, since /dev/kvm on this kind of
# machine exists but cannot run a stock kernel (seen only once the guest hangs at boot).
accel=${CCE_VM_ACCEL:-tcg}
stage "booting the VM (accel=$accel)"
qemu-system-x86_64 -machine "q35,accel=$accel" -cpu max -smp 2 -m 4096 \
    -kernel "$IMG/vmlinuz" -initrd "$IMG/initrd.img" \
    -append 'root=/dev/vda rw console=ttyS0 net.ifnames=0 quiet' \
    -drive "file=$WORK/overlay.qcow2,if=virtio,format=qcow2,cache=unsafe" \
    -netdev user,id=n0 -device virtio-net-pci,netdev=n0 \
    -virtfs "local,path=$WORK/share,mount_tag=share,security_model=none,id=share" \
    -display none -monitor none -serial "file:$WORK/serial.log" \
    -pidfile "$WORK/qemu.pid" -daemonize
QEMU_PID=$(cat "$WORK/qemu.pid")
started=$(date +%s)
while kill -0 "$QEMU_PID" 2>/dev/null; do
    sleep 2
    if (( $(date +%s) - started > TIMEOUT )); then
        echo "vm-test: the VM did not finish within $TIMEOUT s; stopping QEMU (pid $QEMU_PID)" >&2
        kill "$QEMU_PID"; break
    fi
done
QEMU_PID=""
stage "VM powered off"

echo "---- guest log (stages)"
grep -E '^== STAGE|RESULT|RATIO|no kernel VXLAN|not ovs-kernel|passed, [0-9]+ failed|system@|port [0-9]+: vxlan' "$WORK/share/out/guest.log" || tail -40 "$WORK/serial.log"
rc=$(cat "$WORK/share/out/rc" 2>/dev/null || echo 99)
cp "$WORK/share/out/guest.log" "$REPO/vm-test.log" 2>/dev/null || true
RATIO="$REPO/benchmarks/results/vm-ratio"
if [ -f "$WORK/share/out/vm-ratio/report.md" ]; then
    rm -rf "$RATIO" && mkdir -p "$RATIO" && cp -a "$WORK/share/out/vm-ratio/." "$RATIO/"
    echo "---- ovs-kernel / linux-vxlan under the same emulation (${RATIO#"$REPO"/}/report.md)"
    awk '/^## OVS kernel datapath/ {on = 1; next} on && /^## / {exit} on && /^[|#]/' "$RATIO/report.md"
fi
echo "vm-test: guest exit code $rc (full log: vm-test.log), $(( $(date +%s) - t0 )) s in all"
exit "$rc"
