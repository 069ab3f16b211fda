"""Valise turns core dumps off before it holds any secret, in a process of its own."""

from __future__ import annotations

import subprocess
import sys

import pytest

_PROBE = (
    "import resource, sys\n"
    "from desktop.no_core_dumps import forbid_core_dumps, is_dumpable\n"
    "forbid_core_dumps()\n"
    "print(resource.getrlimit(resource.RLIMIT_CORE), is_dumpable())\n"
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux only")
def test_a_started_process_writes_no_core_and_cannot_be_attached() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    assert " ".join(out) == "(0, 0) False"


def test_the_command_line_turns_core_dumps_off_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """`valise` (any subcommand) calls it before the command reads a passphrase."""
    import desktop.main
    import desktop.no_core_dumps

    order: list[str] = []
    monkeypatch.setattr(desktop.no_core_dumps, "forbid_core_dumps", lambda: order.append("guard"))
    monkeypatch.setattr("desktop.cli.run_cli", lambda args: order.append("cli") or 0)
    assert desktop.main.main(["--version"]) == 0
    assert order == ["guard", "cli"]
