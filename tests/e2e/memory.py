"""Reading a live process's memory the way an attacker with the laptop would: every
readable mapping of /proc/PID/maps, read through /proc/PID/mem, searched for byte strings.

Reading another process's memory needs ptrace rights over it. Valise makes itself
non-dumpable (`desktop.no_core_dumps`), so only root (CAP_SYS_PTRACE, and Yama's
ptrace_scope below 3) can read it; `why_unreadable` says why not, for a skip.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 32 * 1024 * 1024
_MAPS_LINE = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \d+\s*(.*)$")


@dataclass(frozen=True)
class Hit:
    """One copy of a needle: where it was, in which mapping."""

    needle: str
    address: int
    mapping: str

    def __str__(self) -> str:
        return f"{self.needle} at {self.address:#x} in {self.mapping or '[anonymous]'}"


def why_unreadable(pid: int) -> str | None:
    """None when this process may read `pid`'s memory, else the reason, for a skip."""
    scope = Path("/proc/sys/kernel/yama/ptrace_scope")
    if scope.exists() and scope.read_text().strip() == "3":
        return "Yama's ptrace_scope is 3: no process may read another's memory here"
    try:
        with open(f"/proc/{pid}/mem", "rb") as mem:
            start, _end, _name = next(_readable_regions(pid))
            os.pread(mem.fileno(), 1, start)
    except PermissionError:
        return (
            "reading /proc/PID/mem of a non-dumpable process needs root (CAP_SYS_PTRACE); "
            f"running as uid {os.getuid()}"
        )
    except (OSError, StopIteration) as exc:
        return f"/proc/{pid}/mem cannot be read: {exc}"
    return None


def _readable_regions(pid: int):  # type: ignore[no-untyped-def]
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        match = _MAPS_LINE.match(line)
        if match is None:
            continue
        start, end, perms, name = match.groups()
        if perms[0] != "r" or name in ("[vvar]", "[vsyscall]", "[vvar_vclock]"):
            continue
        yield int(start, 16), int(end, 16), name


def scan(pid: int, needles: dict[str, bytes]) -> list[Hit]:
    """Every copy of every needle in `pid`'s readable memory (a region that vanishes or
    cannot be read while scanning, such as a device mapping, is skipped)."""
    longest = max(len(needle) for needle in needles.values())
    hits: list[Hit] = []
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for start, end, name in _readable_regions(pid):
            at = start
            while at < end:
                size = min(_CHUNK + longest, end - at)
                try:
                    data = os.pread(mem.fileno(), size, at)
                except OSError:
                    break
                for label, needle in needles.items():
                    found = data.find(needle)
                    while found != -1:
                        if found < _CHUNK or at + size == end:  # not counted twice
                            hits.append(Hit(label, at + found, name))
                        found = data.find(needle, found + 1)
                at += _CHUNK
    return hits


def forms_of_text(label: str, text: str) -> dict[str, bytes]:
    """`text` as Python and Qt may hold it: UTF-8 (and Latin-1 for Python's compact
    ASCII strings), UTF-16 (QString) and UCS-4 (a Python str with wide characters)."""
    return {
        f"{label} (UTF-8)": text.encode("utf-8"),
        f"{label} (UTF-16)": text.encode("utf-16-le"),
        f"{label} (UCS-4)": text.encode("utf-32-le"),
    }
