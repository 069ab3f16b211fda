"""A short description of the machine the figures were measured on."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path


def _cpuinfo() -> tuple[str, bool]:
    model, virtual = platform.processor() or "unknown", False
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model in ("unknown", "", platform.machine()):
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and " hypervisor" in line:
                virtual = True
    except OSError:
        pass
    return model, virtual


def _memory_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _tool_version(*cmd: str) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def _filesystem(path: Path) -> str:
    try:
        done = subprocess.run(
            ["stat", "-f", "-c", "%T", str(path)], capture_output=True, text=True, check=False
        )
        kind = done.stdout.strip().replace("ext2/ext3", "ext2/3/4")
        done = subprocess.run(
            ["df", "--output=source", str(path)], capture_output=True, text=True, check=False
        )
        source = done.stdout.strip().splitlines()[-1]
        return f"{kind} on {source}"
    except (OSError, IndexError):
        return "unknown"


def describe(out: Path) -> list[tuple[str, str]]:
    """(label, value) pairs: CPU, cores, memory, OS, Python, SQLCipher and tool versions."""
    import sqlcipher3.dbapi2 as sqlcipher

    conn = sqlcipher.connect(":memory:")
    conn.execute("PRAGMA key = 'machine description'")  # provider pragmas need a key
    cipher = conn.execute("PRAGMA cipher_version").fetchone()
    provider = conn.execute("PRAGMA cipher_provider_version").fetchone()
    sqlite_version = conn.execute("SELECT sqlite_version()").fetchone()[0]
    conn.close()
    model, virtual = _cpuinfo()
    cores = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return [
        ("CPU", model + (" (virtual machine)" if virtual else "")),
        ("cores", f"{cores} logical, {usable} usable by this process"),
        ("memory", _memory_gib()),
        ("OS", f"{platform.system()} {platform.release()} ({platform.machine()})"),
        ("filesystem of the output folder", _filesystem(out)),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        (
            "SQLCipher",
            f"{cipher[0] if cipher else '?'} (SQLite {sqlite_version},"
            f" sqlcipher3 {metadata.version('sqlcipher3')},"
            f" {provider[0] if provider else '?'})",
        ),
        ("cryptography", metadata.version("cryptography")),
        ("age", _tool_version("age", "--version")),
        ("sha256sum", _tool_version("sha256sum", "--version")),
    ]
