"""Stage 4, apply: a plan realised on the kernel (VPC, nodes, pods, datapath, surroundings, workloads, Ingress),
journalled as it is built, and taken down from that journal.
"""
