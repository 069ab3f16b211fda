"""Keep the process's memory out of core dumps and away from same-user debuggers.

An unlocked Valise holds the database key, the signing keys and case text in memory. A
crash must not write that memory to a core file (on many systems a file next to the
program, or a crash reporter's store that outlives the session), and another program run
by the same user must not read it through ptrace or /proc/PID/mem while Valise runs.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

_PR_GET_DUMPABLE = 3  # <linux/prctl.h>
_PR_SET_DUMPABLE = 4


def forbid_core_dumps() -> None:
    """Turn core dumps off for this process and its children, and on Linux make it
    non-dumpable (no core file, no ptrace attach or /proc/PID/mem by the same user, only
    root). Call it first thing at start; it does nothing where these calls do not exist.

    On Linux `prctl(PR_SET_DUMPABLE, 0)` is reset by `execve` of a program, so the lock's
    re-execution calls this again as it starts. Elsewhere this sets only the core limit
    (macOS) or nothing (Windows). What those would need: on macOS,
    `ptrace(PT_DENY_ATTACH, 0, 0, 0)` against debuggers, and a signed build with the
    hardened runtime and without the `get-task-allow` entitlement (else any process of
    the user may read this one's memory through its task port); on Windows,
    `SetErrorMode(SEM_NOGPFAULTERRORBOX)` and `WerAddExcludedApplication` so that Windows
    Error Reporting writes no dump of the process, and a DACL on the process object
    (`SetSecurityInfo`) so that other processes of the same user cannot open it with
    `PROCESS_VM_READ` (an administrator still can).
    """
    try:
        import resource
    except ImportError:  # Windows
        return
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (OSError, ValueError):
        log.warning("could not turn core dumps off")
    if sys.platform.startswith("linux"):
        _linux_not_dumpable()


def _libc() -> ctypes.CDLL:
    # The symbols already loaded into the process, libc's among them: no `ldconfig` run
    # (as `ctypes.util.find_library` does) at every start of the command line.
    return ctypes.CDLL(None, use_errno=True)


def _linux_not_dumpable() -> None:
    libc = _libc()
    prctl = libc.prctl
    prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)
    prctl.restype = ctypes.c_int
    if prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        log.warning("could not mark the process non-dumpable (errno %d)", ctypes.get_errno())


def is_dumpable() -> bool | None:
    """Whether the kernel would write a core file or let the same user attach: None where
    this cannot be asked (not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    libc = _libc()
    return bool(libc.prctl(_PR_GET_DUMPABLE, 0, 0, 0, 0))
