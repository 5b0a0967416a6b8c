"""Stage 3, rendering: the text the kernel and its tools are given (iptables-restore batches, OpenFlow flows,
ovs-vsctl transactions, nftables rulesets, nginx.conf), computed from a plan. Pure: golden-tested.
"""
