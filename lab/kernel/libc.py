"""The C library, loaded once: system calls Python has no wrapper for (setns, unshare, mount, prctl, pidfd_getfd)."""

from __future__ import annotations

import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)


def check(ret: int, what: str) -> None:
    """Raise OSError with errno's text when a libc call returned non-zero."""
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


# pidfd_getfd(2), Linux 5.6+: one number on every architecture (the syscall table is shared from 424 on).
_SYS_PIDFD_GETFD = 438


def pidfd_getfd(pidfd: int, target_fd: int) -> int:
    """A duplicate, in this process, of file descriptor `target_fd` of the process behind `pidfd` (close-on-exec).

    Python 3.11 has os.pidfd_open but no pidfd_getfd. The duplicate shares the open
    file with the other process: a socket option set through it is set on its socket.
    """
    fd = libc.syscall(_SYS_PIDFD_GETFD, pidfd, target_fd, 0)
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"pidfd_getfd: {os.strerror(err)}")
    return fd
