"""Named network namespaces, made and entered without forking.

`ip netns add` and pyroute2's `netns.create` fork a process per namespace;
a lab of 1000 pods would spend seconds on that. A thread can instead unshare
itself into a new namespace, bind-mount it under /run/netns (exactly what `ip
netns add` leaves behind, so `ip netns list/exec` see it) and step back. A
netlink socket opened while a thread stands in a namespace stays bound to it,
which is how `iproute()` hands out pyroute2 sockets for any namespace.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from pyroute2 import IPRoute

from lab.kernel.libc import check as _check
from lab.kernel.libc import libc as _libc

NETNS_DIR = "/run/netns"
_CLONE_NEWNET = 0x40000000
_MS_BIND, _MS_REC, _MS_SHARED = 4096, 16384, 1 << 20
_MNT_DETACH = 2


def _prepare_dir() -> None:
    """Make /run/netns a shared mount point, as `ip netns add` does on first use."""
    os.makedirs(NETNS_DIR, exist_ok=True)
    if _libc.mount(b"none", NETNS_DIR.encode(), None, _MS_SHARED | _MS_REC, None) == 0:
        return
    _check(_libc.mount(NETNS_DIR.encode(), NETNS_DIR.encode(), b"none", _MS_BIND | _MS_REC, None), "bind /run/netns")
    _check(_libc.mount(b"none", NETNS_DIR.encode(), None, _MS_SHARED | _MS_REC, None), "share /run/netns")


def path(name: str) -> str:
    return f"{NETNS_DIR}/{name}"


def exists(name: str) -> bool:
    return os.path.exists(path(name))


def list_names() -> list[str]:
    try:
        return sorted(os.listdir(NETNS_DIR))
    except FileNotFoundError:
        return []


def enter(name: str) -> None:
    """Move the calling thread into namespace `name` (for good: see `inside` for a visit)."""
    target = os.open(path(name), os.O_RDONLY)
    try:
        _check(_libc.setns(target, _CLONE_NEWNET), f"setns {name}")
    finally:
        os.close(target)


@contextmanager
def inside(name: str) -> Iterator[None]:
    """Run the body with this thread in namespace `name` (other threads stay put)."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        enter(name)
        yield
    finally:
        _check(_libc.setns(home, _CLONE_NEWNET), "setns back")
        os.close(home)


def create(name: str, sysctls: dict[str, str] | None = None) -> None:
    """Create namespace `name` (fails if it exists), with `sysctls` set while standing in it."""
    if not os.path.ismount(NETNS_DIR):
        _prepare_dir()
    fd = os.open(path(name), os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0)
    os.close(fd)
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        _check(_libc.unshare(_CLONE_NEWNET), "unshare")
        _check(
            _libc.mount(b"/proc/thread-self/ns/net", path(name).encode(), b"none", _MS_BIND, None),
            f"bind netns {name}",
        )
        _write_sysctls(sysctls or {})
    except OSError:
        _libc.umount2(path(name).encode(), _MNT_DETACH)
        os.unlink(path(name))
        raise
    finally:
        _check(_libc.setns(home, _CLONE_NEWNET), "setns back")
        os.close(home)


def delete(name: str) -> None:
    """Remove namespace `name`; its links go with it. Missing is fine."""
    p = path(name)
    if not os.path.exists(p):
        return
    _libc.umount2(p.encode(), _MNT_DETACH)
    os.unlink(p)


def iproute(name: str) -> IPRoute:
    """A pyroute2 IPRoute socket bound to namespace `name`."""
    with inside(name):
        return IPRoute()


def sysctl(name: str, settings: dict[str, str]) -> None:
    """Write /proc/sys/net keys (dotted names) inside namespace `name`."""
    with inside(name):
        _write_sysctls(settings)


def _write_sysctls(settings: dict[str, str]) -> None:
    """Write /proc/sys/net keys (dotted names) in the namespace this thread stands in.

    Paths are opened below one directory handle: every namespace's /proc/sys/net entry sits in
    one kernel hash chain, so looking it up costs time in proportion to the namespaces there
    are; once per call, not once per key.
    """
    if not settings:
        return
    if not all(key.startswith("net.") for key in settings):
        raise ValueError(f"not a network sysctl: {next(k for k in settings if not k.startswith('net.'))}")
    net = os.open("/proc/sys/net", os.O_RDONLY | os.O_DIRECTORY)
    try:
        for key, value in settings.items():
            fd = os.open(key.removeprefix("net.").replace(".", "/"), os.O_WRONLY, dir_fd=net)
            try:
                os.write(fd, value.encode())
            finally:
                os.close(fd)
    finally:
        os.close(net)
