"""The Mininet-shaped network Mininet's CLI walks: pods are its hosts, nodes its switches, the rest alongside.

A `Mininet` subclass that never runs `Mininet.__init__` (its `init()` raises
rlimits and root-namespace sysctls) nor `Mininet.stop` (it deletes links and
stops switches): `start` opens one shell per member, `stop` hangs each one up
by its own pid. What the CLI reads (`nameToNode`, `hosts`, `values()`,
`mn[name]`, `name in mn`) and the ping tests come from Mininet unchanged;
`iperf` is Mininet's, without its `killall -9 iperf` (which would reach every
iperf on the machine): the server is stopped through its own terminal.
"""

from __future__ import annotations

import os
import signal
import time
from itertools import chain

from mininet.log import output
from mininet.net import Mininet

from lab.minicli.nodes import LabLink, LabNode, ReadOnly
from lab.minicli.topo import HOST, NODE, POD, Layout
from lab.plan.model import Plan

PING_TIMEOUT = "1"  # seconds per reply when `pingall` gets none: a dead pod costs seconds, not minutes
LISTEN_TIMEOUT = 10.0


class LabNet(Mininet):
    """Pods (`hosts`: pingall's targets), nodes (`switches`), hosts around the cluster (`others`)."""

    def __init__(self, plan: Plan, layout: Layout) -> None:
        self.plan, self.layout = plan, layout
        self.hosts: list[LabNode] = []
        self.switches: list[LabNode] = []
        self.controllers: list[LabNode] = []
        self.others: list[LabNode] = []
        self.links: list[LabLink] = []
        self.nameToNode: dict[str, LabNode] = {}
        self.terms: list = []
        self.built = True

    def adopt(self, made: list[LabNode]) -> None:
        """Take the members' nodes (shells started) and wire their interfaces as the lab's veths are."""
        for node in made:
            self.nameToNode[node.name] = node
            {POD: self.hosts, NODE: self.switches, HOST: self.others}[node.member.kind].append(node)
        for w in self.layout.wires:
            a, b = self.nameToNode.get(w.a), self.nameToNode.get(w.b)
            if a and b and w.a_if in a.nameToIntf and w.b_if in b.nameToIntf:
                self.links.append(LabLink(a.nameToIntf[w.a_if], b.nameToIntf[w.b_if]))

    def stop(self) -> None:
        """Hang up every shell by its own pid; the lab itself is left as it is."""
        for node in self.values():
            node.terminate()

    def __iter__(self):
        for node in chain(self.hosts, self.switches, self.others):
            yield node.name

    def __len__(self) -> int:
        return len(self.hosts) + len(self.switches) + len(self.others)

    def pingAll(self, timeout=None):
        """Mininet's pingAll, pods only, with a 1 s reply timeout unless `pingall N` gives one."""
        return self.ping(timeout=timeout or PING_TIMEOUT)

    def pingPair(self):
        return self.ping(hosts=self.hosts[:2], timeout=PING_TIMEOUT)

    def configLinkStatus(self, src, dst, status):
        raise ReadOnly(f"link {src} {dst} {status}: links are the lab's; break one with 'cce-lab fault inject'")

    def iperf(self, hosts=None, l4Type="TCP", udpBw="10M", fmt=None, seconds=5, port=5001):
        """Mininet's iperf (client first, then server; [server, client] rates), server stopped by its own pid."""
        hosts = hosts or [self.hosts[0], self.hosts[-1]]
        client, server = hosts
        output("*** Iperf: testing", l4Type, "bandwidth between", client, "and", server, "\n")
        args = f"iperf -p {port} " + ("-u " if l4Type == "UDP" else "") + (f"-f {fmt} " if fmt else "")
        bw = f"-b {udpBw} " if l4Type == "UDP" else ""
        server.sendCmd(args + "-s", printPid=True)
        servout = ""
        try:
            if l4Type == "TCP" and not self._listening(server, port):
                output(f"*** iperf did not listen on {server}:{port}\n")
                return ["", ""]
            limit = seconds + 10
            cliout = client.cmd(f"timeout {limit} {args}-t {seconds} -c {server.IP()} {bw}")
            deadline = time.monotonic() + 5
            while "/sec" not in servout and time.monotonic() < deadline:
                servout += server.monitor(timeoutms=500)
        finally:
            servout += _stop(server)
        result = [self._parseIperf(servout), self._parseIperf(cliout)]
        if l4Type == "UDP":
            result.insert(0, udpBw)
        output(f"*** Results: {result}\n")
        return result

    @staticmethod
    def _listening(server: LabNode, port: int) -> bool:
        deadline = time.monotonic() + LISTEN_TIMEOUT
        while time.monotonic() < deadline:
            out, _err, _code = server.pexec(["ss", "-Hltn", f"sport = :{port}"])
            if out.strip():
                return True
            time.sleep(0.1)
        return False


def _stop(node: LabNode) -> str:
    """End the command running in `node`'s shell: Ctrl-C through its terminal, then its own pid if need be."""
    out = ""
    if not node.waiting:
        return out
    node.sendInt()
    deadline = time.monotonic() + 3
    while node.waiting and time.monotonic() < deadline:
        out += node.monitor(timeoutms=200)
    if node.waiting and node.lastPid:
        os.kill(node.lastPid, signal.SIGKILL)
        out += node.waitOutput()
    return out
