"""Mininet's own CLI on a running lab (`cce-lab cli`).

Not named `mininet`: that would shadow Debian's package, whose `CLI`, `Node`
and `Intf` classes this package reuses. `topo` reads the lab's objects and
wires from its plan (pure), `nodes` wraps each existing namespace in a Mininet
node whose shell enters that namespace, `net` is the Mininet-shaped network
the CLI walks, `commands` the CLI with the lab's own verbs added.
"""
