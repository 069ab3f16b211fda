"""Passphrases given in the environment, taken out of it before anything else runs.

Scripts may give the passphrase in `VALISE_PASSPHRASE` (and a new one in
`VALISE_NEW_PASSPHRASE`). Left there, it would be inherited by every process Valise
starts (the evidence and signature workers, anything they run) and readable by anyone
who may read those processes' environment. So `take_from_environment` runs first in
`desktop.main.main`: it keeps the values in this process's memory, overwrites the original
environment strings (which `/proc/PID/environ` shows) where the C library lets it, and
removes the variables, so no worker or child inherits them.

What it cannot do: the parent shell still holds the variable, and Python may keep copies
of the string in its own memory (see PLATFORM.md: zeroing buffers does not help).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys

PASSPHRASE_ENV = "VALISE_PASSPHRASE"  # noqa: S105 (a variable name, not a secret)
NEW_PASSPHRASE_ENV = "VALISE_NEW_PASSPHRASE"  # noqa: S105
SECRET_VARIABLES = (PASSPHRASE_ENV, NEW_PASSPHRASE_ENV)

_taken: dict[str, str] = {}


def _overwrite_initial_string(name: str) -> None:
    """Zero the value of `name=value` where the C library's `environ` keeps it. For a
    variable given at start-up that is the block the kernel shows in /proc/PID/environ."""
    if not sys.platform.startswith("linux"):
        return
    prefix = os.fsencode(name) + b"="
    with contextlib.suppress(OSError, ValueError, AttributeError):
        libc = ctypes.CDLL(None)
        table = ctypes.c_void_p.in_dll(libc, "environ").value
        pointer_size = ctypes.sizeof(ctypes.c_void_p)
        index = 0
        while table:
            entry = ctypes.c_void_p.from_address(table + index * pointer_size).value
            if not entry:
                break
            text = ctypes.string_at(entry)
            if text.startswith(prefix):
                ctypes.memset(entry + len(prefix), 0, len(text) - len(prefix))
            index += 1


def take_from_environment() -> None:
    """Move the passphrase variables out of the environment into this process's memory.
    Safe to call more than once; a variable set again later is taken again."""
    for name in SECRET_VARIABLES:
        if name not in os.environ:
            continue
        _taken[name] = os.environ[name]
        _overwrite_initial_string(name)
        del os.environ[name]  # unsetenv: workers and children no longer inherit it
    _forget_startup_copy()


def _forget_startup_copy() -> None:
    """`posix.environ` is the dict `os.environ` was built from; it keeps the start-up value."""
    if os.name != "posix":
        return
    import posix

    for name in SECRET_VARIABLES:
        posix.environ.pop(os.fsencode(name), None)


def passphrase_from_environment(name: str) -> str | None:
    """The value `name` had in the environment (taken out of it now if still there)."""
    take_from_environment()
    return _taken.get(name)
