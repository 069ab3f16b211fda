"""Helpers for tests that run `valise` as a user would: in a process, with env and arguments.

`valise()` runs the command line; `assert_refused()` checks that a failure ends the way the
conventions ask (the exit code, a `valise: ...` message naming the problem, no traceback,
nothing on stdout); `fingerprint()` and `contents()` capture a workspace so a test can say
"unchanged" both byte for byte and record for record.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storage import audit
from storage.workspace import open_workspace
from tests.conftest import PASSPHRASE

ROOT = Path(__file__).resolve().parents[2]

# Files that legitimately change without the workspace changing: the flock file, and the
# failed-unlock record that a wrong passphrase writes by design.
VOLATILE = {".lock", "unlock-attempts.json"}


def valise(
    env: dict[str, str],
    *args: str | os.PathLike[str],
    timeout: float = 120,
    feed: bytes | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m desktop.main ARGS` with `env`, output captured; standard input is
    `feed` when given, else nothing (and no terminal).

    Arguments and environment values may hold lone surrogates (non-UTF-8 bytes, as Python
    decodes them): subprocess encodes them back to the original bytes.
    """
    clean = {k: v for k, v in env.items() if k != "VALISE_DEBUG"}
    stdin: dict[str, Any] = {"stdin": subprocess.DEVNULL} if feed is None else {"input": feed}
    ran = subprocess.run(
        [sys.executable, "-m", "desktop.main", *[os.fspath(a) for a in args]],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        timeout=timeout,
        check=False,
        **stdin,
    )
    return subprocess.CompletedProcess(
        ran.args,
        ran.returncode,
        ran.stdout.decode("utf-8", "replace"),
        ran.stderr.decode("utf-8", "replace"),
    )


def assert_ok(result: subprocess.CompletedProcess[str]) -> str:
    """The command succeeded; returns stdout stripped."""
    assert result.returncode == 0, f"exit {result.returncode}\nstderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout.strip()


def assert_refused(result: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    """Failed with `code`, a `valise:` message holding every needle (case-insensitive), no
    traceback and no internal error; returns the message lines."""
    stderr = result.stderr
    assert result.returncode == code, (
        f"{result.args}: expected exit {code}, got {result.returncode}\n"
        f"stdout:\n{result.stdout}\nstderr:\n{stderr}"
    )
    assert "Traceback" not in stderr, stderr
    assert "internal error" not in stderr, stderr
    messages = [
        line
        for line in stderr.splitlines()
        if line.startswith("valise: ") and not line.startswith("valise: warning:")
    ]
    assert messages, f"no 'valise: ...' message on stderr:\n{stderr}"
    text = "\n".join(messages)
    for needle in needles:
        assert needle.lower() in text.lower(), f"{needle!r} not in the message:\n{text}"
    assert result.stdout.strip() == "", f"a failure printed on stdout: {result.stdout!r}"
    return text


# -- what a workspace holds ----------------------------------------------------------------


def fingerprint(root: Path) -> dict[str, str]:
    """SHA-256 of every file in the workspace folder (and below) except the volatile ones."""
    found: dict[str, str] = {}
    if not root.exists():
        return found
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name not in VOLATILE:
            found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@dataclass(frozen=True)
class Contents:
    """What an unlocked workspace holds, table by table, with its audit chain apart."""

    tables: dict[str, str]
    audit_actions: tuple[str, ...]
    audit_ok: bool


def contents(root: Path, passphrase: str = PASSPHRASE, user: str | None = None) -> Contents:
    """Unlock `root` in this process (as `user`) and digest every table (the audit chain is
    kept as its list of actions, since a failed unlock is, by design, added to it at the
    next unlock)."""
    with open_workspace(root, passphrase, user=user) as ws:
        names = [
            row[0]
            for row in ws.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        tables: dict[str, str] = {}
        for name in names:
            if name == "audit":
                continue
            where = " WHERE key != 'audit_head'" if name == "meta" else ""
            digest = hashlib.sha256()
            for row in ws.conn.execute(f'SELECT * FROM "{name}"{where} ORDER BY 1'):
                digest.update(repr(row).encode())
            tables[name] = digest.hexdigest()
        actions = tuple(e.action for e in reversed(audit.entries(ws.conn, limit=1_000_000)))
        ok = ws.verify_audit().ok
    return Contents(tables, actions, ok)


def assert_contents_unchanged(before: Contents, after: Contents, failed_unlocks: int = 0) -> None:
    """Same records; the audit chain intact and grown by exactly the failed unlocks."""
    assert after.audit_ok
    assert after.tables == before.tables
    added = after.audit_actions[len(before.audit_actions) :]
    assert after.audit_actions[: len(before.audit_actions)] == before.audit_actions
    assert list(added) == ["unlock failed"] * failed_unlocks


def temp_leftovers(root: Path) -> list[Path]:
    """Temporary files a crash or a refusal may leave behind (none should survive)."""
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and (p.name.endswith(".partial") or p.name.startswith(".backup-") or ".rekey" in p.name)
    )
