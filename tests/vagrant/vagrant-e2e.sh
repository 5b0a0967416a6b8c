#!/bin/bash
# make vagrant-e2e: a real `vagrant up --provider=libvirt` through the project's
# Vagrantfile, on a box built locally from Debian's packages, then `sudo cce-lab check`, then
# `vagrant destroy -f`. Starts its own virtlogd + libvirtd (no systemd here) and removes
# everything it created, by PID and by name, on exit.
#
#   E2E_DIR  work directory (default /tmp/cce-vagrant-e2e)   REPO  the repository (default: this one)
#   VM_SUITE the box's Debian release: trixie (default, like the Vagrantfile's box) or bookworm
set -euo pipefail
REPO=${REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
E2E=${E2E_DIR:-/tmp/cce-vagrant-e2e}
HERE=$(cd "$(dirname "$0")" && pwd)
SUITE=${VM_SUITE:-trixie}
case "$SUITE" in bookworm | trixie) ;; *) echo "vagrant-e2e: VM_SUITE=$SUITE is not supported (trixie or bookworm)" >&2; exit 2 ;; esac
POOL=cce-e2e NET=cce-e2e-mgmt BOX=cce-local/$SUITE
PKGS=linux-image-amd64,systemd-sysv,udev,kmod,procps,iproute2,iptables,nftables,tcpdump,ethtool,iputils-ping,iperf3,libiperf0,bridge-utils,mininet,python3-venv,python3-pip,python3-apt,openvswitch-switch,openvswitch-common,nginx,ca-certificates,make,openssh-server,sudo,rsync,dbus,less,ansible-core,python3-cffi-backend
t0=$(date +%s); stage() { echo "== $(( $(date +%s) - t0 )) s: $*"; }
mkdir -p "$E2E"
export VAGRANT_HOME=$E2E/vagrant.d VAGRANT_DOTFILE_PATH=$E2E/dot VAGRANT_CHECKPOINT_DISABLE=1 \
       VAGRANT_DEFAULT_PROVIDER=libvirt CCE_BOX=$BOX CCE_LIBVIRT_DRIVER=${CCE_LIBVIRT_DRIVER:-qemu}
VIRSH="virsh -c qemu:///system"

FORWARD_BEFORE=$(cat /proc/sys/net/ipv4/ip_forward)  # libvirt turns forwarding on for its NAT network
cleanup() {
    set +e
    stage "cleanup"
    [ -d "$E2E/repo" ] && (cd "$E2E/repo" && vagrant destroy -f >/dev/null 2>&1)
    for d in $($VIRSH list --all --name | grep '^cce-e2e'); do $VIRSH destroy "$d"; $VIRSH undefine "$d" --remove-all-storage; done >/dev/null 2>&1
    for n in "$NET" default; do $VIRSH net-destroy "$n"; [ "$n" = "$NET" ] && $VIRSH net-undefine "$n"; done >/dev/null 2>&1
    if $VIRSH pool-info "$POOL" >/dev/null 2>&1; then
        for v in $($VIRSH vol-list "$POOL" | awk 'NR>2 && $1 {print $1}'); do $VIRSH vol-delete "$v" --pool "$POOL"; done >/dev/null 2>&1
        $VIRSH pool-destroy "$POOL"; $VIRSH pool-undefine "$POOL"
    fi >/dev/null 2>&1
    for p in libvirtd virtlogd; do
        f=/run/cce-e2e-$p.pid
        [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null && sleep 1; rm -f "$f"
    done
    bash "$HERE/libvirt-fw-cleanup.sh"; rm -rf /run/libvirt   # what the stopped libvirtd leaves behind
    rm -rf "$E2E/vagrant.d" "$E2E/dot" "$E2E/pool" "$E2E/repo" "$E2E/out" "$E2E/rootfs" "$E2E/wheels"
}
trap cleanup EXIT INT TERM

# 1. libvirt, by PID (no systemd)
virtlogd -d -p /run/cce-e2e-virtlogd.pid
libvirtd -d -p /run/cce-e2e-libvirtd.pid
for _ in $(seq 30); do $VIRSH version >/dev/null 2>&1 && break; sleep 1; done
mkdir -p "$E2E/pool"
$VIRSH pool-define-as "$POOL" dir --target "$E2E/pool" >/dev/null && $VIRSH pool-start "$POOL" >/dev/null

# 2. the box (cached by suite, package list and builder)
key=$SUITE-$( { echo "$SUITE $PKGS"; cat "$HERE/build-box.sh"; } | sha256sum | cut -c1-16)
if [ ! -f "$E2E/cache/$key/box.tar" ]; then
    stage "building the box $key (debootstrap + wheelhouse + GRUB disk)"
    rm -rf "$E2E/cache/$key" "$E2E/rootfs" "$E2E/wheels"; mkdir -p "$E2E/cache/$key" "$E2E/cache/debs"
    debootstrap --variant=minbase --include="$PKGS" --cache-dir="$E2E/cache/debs" "$SUITE" "$E2E/rootfs" http://deb.debian.org/debian >"$E2E/debootstrap.log"
    # wheels for the box's own Python (trixie 3.13, bookworm 3.11): made by it, in the tree
    R=$E2E/rootfs; mkdir -p "$E2E/wheels" "$R/tmp/cce-src" "$R/tmp/wheels"
    (cd "$REPO" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) | tar -xf - -C "$R/tmp/cce-src"
    cp -L /etc/resolv.conf "$R/etc/resolv.conf"; cp -L /etc/ssl/certs/ca-certificates.crt "$R/tmp/host-ca.crt"
    in_tree() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root PIP_CERT=/tmp/host-ca.crt PIP_DISABLE_PIP_VERSION_CHECK=1 chroot "$R" "$@"; }
    in_tree /usr/bin/python3 -m pip download -q -d /tmp/wheels /tmp/cce-src setuptools wheel
    for s in "$R"/tmp/wheels/*.tar.gz; do [ -e "$s" ] && in_tree /usr/bin/python3 -m pip wheel -q --no-deps -w /tmp/wheels "/tmp/wheels/${s##*/}" && rm -f "$s"; done
    rm -f "$R"/tmp/wheels/cce_lab-*; mv "$R"/tmp/wheels/*.whl "$E2E/wheels/"
    rm -rf "$R/tmp/cce-src" "$R/tmp/wheels" "$R/tmp/host-ca.crt" "$R/root/.cache"
    SUITE=$SUITE bash "$HERE/build-box.sh" "$E2E/rootfs" "$E2E/wheels" "$E2E/out"
    mv "$E2E/out/box.tar" "$E2E/cache/$key/box.tar"; rm -rf "$E2E/rootfs" "$E2E/wheels" "$E2E/out"
fi
mkdir -p "$VAGRANT_HOME"
cp "$HERE/e2e.Vagrantfile" "$VAGRANT_HOME/Vagrantfile"   # e2e names + boot timeout, merged under the project's
vagrant box add -f --name "$BOX" "$E2E/cache/$key/box.tar" >/dev/null
stage "box ready"

# 3. the real thing: the repository as it is, the project's Vagrantfile
mkdir -p "$E2E/repo"
(cd "$REPO" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) | tar -xf - -C "$E2E/repo"
cd "$E2E/repo"
vagrant up --provider=libvirt 2>&1 | tr '\r' '\n' | grep --line-buffered -v 'Progress:' | tee "$E2E/up.log"
[ "${PIPESTATUS[0]}" = 0 ] || { echo "vagrant-e2e: vagrant up failed" >&2; exit 1; }
stage "vagrant up (boot + ansible_local) done"
rc=0; vagrant ssh -c 'sudo cce-lab check' || rc=$?
stage "cce-lab check: exit $rc"
vagrant destroy -f
stage "destroyed"
exit "$rc"
