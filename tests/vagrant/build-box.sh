#!/bin/bash
# Build a local libvirt Vagrant box (cce-local/$SUITE) from a debootstrapped Debian tree of
# that suite (SUITE=trixie by default, or bookworm): partitioned raw disk with GRUB (BIOS, MBR),
# no mount, no loop device, no root filesystem tool beyond mkfs.ext4 -d.
# Usage: [SUITE=trixie] build-box.sh ROOTFS WHEELS OUTDIR
set -euo pipefail
R=${1:?rootfs}; WHEELS=${2:?wheels}; OUT=${3:?outdir}
SUITE=${SUITE:-trixie}
KEYS=$(dirname "$(ls /usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant.pub | head -n 1)")  # the insecure key
SIZE_MB=${BOX_DISK_MB:-8192}
mkdir -p "$OUT"

# --- the guest: hostname, fstab, DHCP on the management NIC, vagrant user, sshd
echo cce-box > $R/etc/hostname
printf '127.0.0.1 localhost\n127.0.1.1 cce-box\n' > $R/etc/hosts
printf '/dev/vda1 / ext4 rw,relatime,errors=remount-ro 0 1\n' > $R/etc/fstab
cat > $R/etc/systemd/network/20-dhcp.network <<'N'
[Match]
Name=en* eth*
[Network]
DHCP=ipv4
N
ln -sf /lib/systemd/system/systemd-networkd.service $R/etc/systemd/system/multi-user.target.wants/systemd-networkd.service
mkdir -p $R/etc/systemd/system/sockets.target.wants
ln -sf /lib/systemd/system/systemd-networkd.socket $R/etc/systemd/system/sockets.target.wants/systemd-networkd.socket 2>/dev/null || true
# resolver: networkd hands DHCP DNS to resolved only if installed; write resolv.conf from the lease instead
cat > $R/etc/systemd/system/dhcp-resolv.service <<'U'
[Unit]
Description=resolv.conf from the libvirt network (dnsmasq on the gateway)
After=systemd-networkd-wait-online.service
Wants=systemd-networkd-wait-online.service
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'gw=$(ip -4 route show default | awk "{print \\$3; exit}"); [ -n "$gw" ] && echo "nameserver $gw" > /etc/resolv.conf'
[Install]
WantedBy=multi-user.target
U
ln -sf /etc/systemd/system/dhcp-resolv.service $R/etc/systemd/system/multi-user.target.wants/dhcp-resolv.service
rm -f $R/etc/apt/sources.list
printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$SUITE" > $R/etc/apt/sources.list.d/debian.sources
# like the reference VM: the lab runs its own OVS and nginx instances
for s in openvswitch-switch ovs-vswitchd ovsdb-server ovs-record-hostname nginx; do ln -sf /dev/null $R/etc/systemd/system/$s.service; done
# vagrant user: insecure key, passwordless sudo
chroot $R /usr/bin/id vagrant >/dev/null 2>&1 || chroot $R /usr/sbin/useradd -m -s /bin/bash -U vagrant
echo 'vagrant:vagrant' | chroot $R /usr/sbin/chpasswd
install -d -m 700 -o 1000 -g 1000 $R/home/vagrant/.ssh
install -m 600 -o 1000 -g 1000 $KEYS/vagrant.pub $R/home/vagrant/.ssh/authorized_keys
echo 'vagrant ALL=(ALL) NOPASSWD: ALL' > $R/etc/sudoers.d/vagrant; chmod 440 $R/etc/sudoers.d/vagrant
printf 'UseDNS no\n' > $R/etc/ssh/sshd_config.d/vagrant.conf
rm -f $R/etc/ssh/ssh_host_*   # regenerated at first boot
cat > $R/etc/systemd/system/ssh-hostkeys.service <<'U'
[Unit]
Description=generate SSH host keys
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key
[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A
[Install]
WantedBy=multi-user.target
U
ln -sf /etc/systemd/system/ssh-hostkeys.service $R/etc/systemd/system/multi-user.target.wants/ssh-hostkeys.service
# serial console getty (debugging through `virsh console`)
ln -sf /lib/systemd/system/serial-getty@.service $R/etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service

# --- PyPI is not reachable from the guest: wheelhouse in the image, pip told to use it
mkdir -p $R/opt/cce-wheels && cp "$WHEELS"/*.whl $R/opt/cce-wheels/
printf '[global]\nno-index = true\nfind-links = /opt/cce-wheels\n' > $R/etc/pip.conf
# (not pre-installed into the system Python: that would put ansible on PATH and hide
#  whether Vagrant's own Ansible install works; the lab's venv installs from the wheelhouse)
rm -rf $R/root/.cache $R/var/cache/apt/archives/*.deb

# --- GRUB (BIOS): modules + grub.cfg in /boot/grub, core.img in the MBR gap
kver=$(ls $R/boot/vmlinuz-* | sed 's|.*/vmlinuz-||' | sort -V | tail -1)
mkdir -p $R/boot/grub/i386-pc && cp /usr/lib/grub/i386-pc/*.mod /usr/lib/grub/i386-pc/*.lst $R/boot/grub/i386-pc/
cat > $R/boot/grub/grub.cfg <<G
set timeout=1
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
menuentry 'Debian $SUITE (cce-local box)' {
  linux /boot/vmlinuz-$kver root=/dev/vda1 rw console=tty0 console=ttyS0,115200 net.ifnames=0
  initrd /boot/initrd.img-$kver
}
G
grub-mkimage -O i386-pc -o "$OUT/core.img" -p '(hd0,msdos1)/boot/grub' \
    biosdisk part_msdos ext2 normal linux search configfile echo serial terminal test
[ "$(stat -c %s "$OUT/core.img")" -lt $((2047*512)) ]

# --- disk: 1 MiB gap + one ext4 partition built from the tree (mkfs.ext4 -d: no mount)
mkfs.ext4 -q -F -L cce-root -d $R "$OUT/part.raw" $((SIZE_MB-1))M
truncate -s ${SIZE_MB}M "$OUT/disk.raw"
echo 'label: dos
start=2048, type=83, bootable' | sfdisk -q "$OUT/disk.raw"
dd if="$OUT/part.raw" of="$OUT/disk.raw" bs=1M seek=1 conv=sparse,notrunc status=none
dd if=/usr/lib/grub/i386-pc/boot.img of="$OUT/disk.raw" bs=446 count=1 conv=notrunc status=none
dd if="$OUT/core.img" of="$OUT/disk.raw" bs=512 seek=1 conv=notrunc status=none
rm -f "$OUT/part.raw"

# --- the box
mkdir -p "$OUT/box"
qemu-img convert -O qcow2 "$OUT/disk.raw" "$OUT/box/box.img"
rm -f "$OUT/disk.raw"
vsize=$(( SIZE_MB / 1024 ))
printf '{"provider":"libvirt","format":"qcow2","virtual_size":%d}\n' $vsize > "$OUT/box/metadata.json"
cat > "$OUT/box/Vagrantfile" <<V
# cce-local/$SUITE: Debian $SUITE built locally (debootstrap); boots from its own disk (GRUB).
Vagrant.configure("2") do |config|
  config.vm.provider :libvirt do |lv|
    lv.disk_bus = "virtio"   # the image's root is /dev/vda1
  end
end
V
tar -C "$OUT/box" -cf "$OUT/box.tar" metadata.json Vagrantfile box.img
ls -l "$OUT/box.tar"
