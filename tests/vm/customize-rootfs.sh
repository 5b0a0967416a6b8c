#!/bin/bash
# Turns a debootstrapped Debian tree (bookworm or trixie) into the reference VM: 9p share, DHCP on
# QEMU user networking, distribution OVS/nginx services masked (the lab runs its
# own), and a one-shot unit that runs /share/guest-run.sh at boot, then powers off.
set -euo pipefail
R=${1:?usage: customize-rootfs.sh ROOTFS [SUITE [MIRROR]]}
SUITE=${2:-trixie}
MIRROR=${3:-http://deb.debian.org/debian}
echo cce-vm > $R/etc/hostname
printf '127.0.0.1 localhost\n127.0.1.1 cce-vm\n' > $R/etc/hosts
printf '/dev/vda / ext4 rw,relatime 0 1\nshare /share 9p trans=virtio,version=9p2000.L,msize=1048576,nofail 0 0\n' > $R/etc/fstab
mkdir -p $R/share
# root without password on the serial console (a throwaway test VM)
sed -i 's/^root:[^:]*:/root::/' $R/etc/shadow
# network: systemd-networkd DHCP on the user-mode NIC (10.0.2.15), resolver 10.0.2.3
cat > $R/etc/systemd/network/20-dhcp.network <<'N'
[Match]
Name=en* eth*
[Network]
DHCP=ipv4
N
ln -sf /lib/systemd/system/systemd-networkd.service $R/etc/systemd/system/multi-user.target.wants/systemd-networkd.service
echo 'nameserver 10.0.2.3' > $R/etc/resolv.conf
# the lab runs its own OVS and nginx instances: mask the distribution services
for s in openvswitch-switch ovs-vswitchd ovsdb-server ovs-record-hostname nginx; do ln -sf /dev/null $R/etc/systemd/system/$s.service; done
# test runner: runs /share/guest-run.sh once at boot, logs to the share and to the serial console, then powers off
cat > $R/etc/systemd/system/vm-test.service <<'U'
[Unit]
Description=cce-lab reference VM test (runs /share/guest-run.sh)
After=share.mount network-online.target systemd-networkd.service
Wants=network-online.target
RequiresMountsFor=/share
ConditionPathExists=/share/guest-run.sh
[Service]
Type=oneshot
ExecStart=/bin/bash -c '/bin/bash /share/guest-run.sh > >(tee /share/out/guest.log > /dev/ttyS0) 2>&1; echo $? > /share/out/rc'
ExecStopPost=/bin/systemctl --no-block poweroff
TimeoutStartSec=0
[Install]
WantedBy=multi-user.target
U
ln -sf /etc/systemd/system/vm-test.service $R/etc/systemd/system/multi-user.target.wants/vm-test.service
# no getty needed on tty1; keep serial getty for debugging
# apt sources inside the guest (for the apt-over-user-net test): the suite the tree was made
# from, in the deb822 form both releases read (trixie's apt prefers it to sources.list)
rm -f $R/etc/apt/sources.list
printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$MIRROR" "$SUITE" > $R/etc/apt/sources.list.d/debian.sources
rm -rf $R/var/cache/apt/archives/*.deb
