"""Mininet nodes, interfaces and links over a lab's existing namespaces, with no side effect on the lab.

Stock Mininet starts each node's shell with `mnexec -cdn`, which makes a NEW
network namespace, and its Intf/Link constructors create veth pairs, move
them and run `ifconfig`. Here the shell is `mnexec -cd` (close descriptors,
own session: `terminate` can signal its process group by its own pid) running
`nsenter --net=/run/netns/NS`, so it stands in the lab's namespace; interfaces
and links only describe the devices `lab.apply` made. Anything that would
change a device (setIP, setMAC, rename, delete, `ifconfig ARGS`) is refused:
the CLI leaves the lab exactly as it found it.
"""

from __future__ import annotations

import contextlib
import os
import pty
import select
import signal
import time

from mininet.link import Intf, Link
from mininet.node import Host

from lab.datapaths.ovs import rundir
from lab.errors import LabError
from lab.kernel import netns
from lab.minicli.topo import NODE, Member, Port
from lab.plan.model import Plan

START_TIMEOUT = 10.0  # seconds for a shell's first prompt


class ReadOnly(LabError):
    """A Mininet call that would change the lab's devices."""


def shell_argv(ns: str, name: str) -> list[str]:
    """Mininet's shell command line (prompt sentinel chr(127), no rc files), entering `ns` instead of a new netns."""
    return [
        "mnexec",
        "-cd",
        "nsenter",
        f"--net={netns.path(ns)}",
        "env",
        "PS1=" + chr(127),
        "bash",
        "--norc",
        "--noediting",
        "-is",
        "mininet:" + name,
    ]


class LabIntf(Intf):
    """An existing device: its name and plan address, read-only."""

    def config(self, mac=None, ip=None, prefixLen=None, **_params):
        """Record the plan's address; stock Mininet would `ifconfig` the device here."""
        self.ip, self.prefixLen, self.mac = ip, prefixLen, mac
        return {}

    def updateIP(self):
        """The plan's address: one name -> IP lookup without an ifconfig process, also for a pod whose link is down."""
        return self.ip

    def ifconfig(self, *args):
        """`ifconfig DEV` reads; with arguments it would change the device: refused."""
        if args:
            self._refuse()
        return self.cmd("ifconfig", self.name)

    def _refuse(self, *_args, **_kwargs):
        owner = getattr(self.node, "name", "?")
        raise ReadOnly(f"{owner} {self.name}: the lab's interfaces are read-only in cce-lab cli")

    setIP = setMAC = rename = delete = _refuse


class LabLink(Link):
    """A veth pair the lab made: two LabIntfs pointing at each other, nothing created."""

    def __init__(self, intf1: LabIntf, intf2: LabIntf) -> None:
        self.intf1, self.intf2 = intf1, intf2
        intf1.link = intf2.link = self

    def delete(self):
        raise ReadOnly(f"{self}: the lab's links are read-only in cce-lab cli")

    stop = delete


class LabNode(Host):
    """A lab member (pod, node or host) as a Mininet Host whose shell runs in the member's own namespace."""

    def __init__(self, member: Member, plan: Plan) -> None:
        self.member, self.plan = member, plan
        self.netns = member.netns
        # inNamespace=False: addIntf would otherwise move devices (stock Mininet's moveIntf)
        super().__init__(member.name, inNamespace=False)
        for port in member.ports:
            self.add_port(port)

    def add_port(self, port: Port) -> LabIntf:
        return LabIntf(port.name, node=self, ip=port.ip, prefixLen=port.prefixlen, mac=port.mac)

    def startShell(self, mnopts=None):
        """Mininet's startShell with the one change: the shell joins the lab's namespace."""
        if self.shell:
            return
        if not netns.exists(self.netns):
            raise LabError(f"{self.name}: namespace {self.netns} is gone: the lab is degraded (cce-lab status)")
        self.master, self.slave = pty.openpty()
        self.shell = self._popen(
            shell_argv(self.netns, self.name), stdin=self.slave, stdout=self.slave, stderr=self.slave, close_fds=False
        )
        self.stdin = os.fdopen(self.master, "r")
        self.stdout = self.stdin
        self.pid = self.shell.pid
        self.pollOut = select.poll()
        self.pollOut.register(self.stdout)
        self.outToNode[self.stdout.fileno()] = self
        self.inToNode[self.stdin.fileno()] = self
        self.execed, self.lastCmd, self.lastPid, self.readbuf = False, None, None, ""
        deadline = time.monotonic() + START_TIMEOUT
        while True:  # wait for the first prompt (the sentinel)
            if self.pollOut.poll(200) and self.read(1024).endswith(chr(127)):
                break
            if self.shell.poll() is not None or time.monotonic() > deadline:
                self.terminate()
                raise LabError(f"{self.name}: no shell prompt in {self.netns} (is mnexec/nsenter installed?)")
        self.waiting = False
        self.cmd("unset HISTFILE; stty -echo; set +m")

    def terminate(self):
        """Hang up the shell's own process group (its pid: mnexec made it a session leader), then reap it."""
        if self.shell and self.shell.poll() is None:
            with contextlib.suppress(ProcessLookupError):  # it exited between poll and kill
                os.killpg(self.shell.pid, signal.SIGHUP)
        self.cleanup()

    def dpctl(self, *args: str) -> str:
        """Mininet's `dpctl ARGS` on a switch: `ovs-ofctl ARGS` on this node's br-int (OVS datapaths)."""
        if self.member.kind != NODE or not self.plan.datapath.startswith("ovs-"):
            return f"no OpenFlow bridge on {self.name} (datapath {self.plan.datapath})\n"
        mgmt = f"unix:{rundir(self.plan.name, self.plan.node(self.name))}/br-int.mgmt"
        return self.cmd("ovs-ofctl", *args, mgmt)

    def config(self, **_params):
        """Nothing to configure: the lab is built (stock config would `ifconfig lo up`)."""
        return {}

    def setDefaultRoute(self, intf=None):
        raise ReadOnly(f"{self.name}: routes are the lab's; change them with cce-lab fault or an exercise")

    setHostRoute = setARP = setDefaultRoute

    def deleteIntfs(self, checkName=True):
        """Never: the devices belong to the lab."""
        return None
