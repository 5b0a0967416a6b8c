#!/bin/bash
# libvirt (iptables backend) leaves its top-level chains behind when it stops: remove them.
for ipt in iptables ip6tables; do
    for j in "INPUT LIBVIRT_INP" "FORWARD LIBVIRT_FWX" "FORWARD LIBVIRT_FWI" "FORWARD LIBVIRT_FWO" "OUTPUT LIBVIRT_OUT"; do
        set -- $j; while $ipt -D "$1" -j "$2" 2>/dev/null; do :; done
    done
    for c in LIBVIRT_INP LIBVIRT_FWX LIBVIRT_FWI LIBVIRT_FWO LIBVIRT_OUT; do $ipt -F $c 2>/dev/null; $ipt -X $c 2>/dev/null; done
    for t in nat mangle; do
        while $ipt -t $t -D POSTROUTING -j LIBVIRT_PRT 2>/dev/null; do :; done
        $ipt -t $t -F LIBVIRT_PRT 2>/dev/null; $ipt -t $t -X LIBVIRT_PRT 2>/dev/null
    done
done
exit 0
