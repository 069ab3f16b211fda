"""The locked restart: the command line that starts the same program, and what crosses the exec."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from desktop import relock
from desktop.relock import (
    LOCK_REASON_ENV,
    LOCKED_FOLDER_ENV,
    LOCKED_USER_ENV,
    LOCKED_VIEW_ENV,
    LockedStart,
    environment_for,
    restart_argv,
    take_locked_start,
)
from ui.list_view import ListView


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (LOCKED_FOLDER_ENV, LOCK_REASON_ENV, LOCKED_VIEW_ENV, LOCKED_USER_ENV):
        monkeypatch.delenv(name, raising=False)


def test_python_restarts_with_its_own_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """`python -m desktop.main` and pip's `valise` script (`python bin/valise`) alike."""
    monkeypatch.delattr(sys, "frozen", raising=False)
    monkeypatch.setattr(sys, "executable", "/venv/bin/python3.11")
    monkeypatch.setattr(sys, "orig_argv", ["python", "-X", "utf8", "-m", "desktop.main"])
    assert restart_argv() == ["/venv/bin/python3.11", "-X", "utf8", "-m", "desktop.main"]
    monkeypatch.setattr(sys, "orig_argv", ["python3", "/venv/bin/valise", "--workspace", "/w"])
    assert restart_argv() == ["/venv/bin/python3.11", "/venv/bin/valise", "--workspace", "/w"]


def test_a_frozen_build_restarts_its_own_executable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", "/opt/valise/valise")
    monkeypatch.setattr(sys, "argv", ["valise", "--workspace", "/w"])
    assert restart_argv() == ["/opt/valise/valise", "--workspace", "/w"]


def test_the_locked_start_crosses_the_exec_and_is_taken_once(tmp_path: Path) -> None:
    view = ListView(b"\x01\xd9\xd0\xcb", "open", "killing", 3, False)
    start = LockedStart(tmp_path, "Locked after 1 minute without use.", view, "Amina")
    os.environ.update(environment_for(start))
    assert take_locked_start() == start
    assert take_locked_start() is None  # nothing started later inherits it
    assert LOCKED_FOLDER_ENV not in os.environ
    assert LOCKED_USER_ENV not in os.environ


def test_the_user_name_crossing_the_exec_is_cleaned(tmp_path: Path) -> None:
    """The environment is the user's to change: a name with control characters or of any
    length only ever prefills the User field, printable and short."""
    os.environ.update(
        {LOCKED_FOLDER_ENV: str(tmp_path), LOCKED_USER_ENV: "Ami\x1b[2Jna" + "x" * 500}
    )
    start = take_locked_start()
    assert start is not None
    assert start.user == "Ami[2Jna" + "x" * 71  # the first 80 characters, the escape dropped


@pytest.mark.parametrize(
    ("folder", "reason", "view", "expected"),
    [
        ("", "anything", "{}", None),
        (
            "/w",
            "two\nlines\x1b[31m",
            '{"geometry": "not base64!"}',
            LockedStart(Path("/w"), "twolines[31m"),
        ),
        ("/w", "x" * 5000, "[1, 2]", LockedStart(Path("/w"), "x" * 200)),
        ("/w", "", "{not json", LockedStart(Path("/w"))),
        (
            "/w",
            "",
            '{"status": 7, "category": "killing", "sort_column": true, "sort_descending": 0}',
            LockedStart(Path("/w"), "", ListView(b"", "", "", -1, True)),
        ),
        (
            "/w",
            "",
            '{"status": "closed", "sort_column": 2, "sort_descending": false}',
            LockedStart(Path("/w"), "", ListView(b"", "closed", "", 2, False)),
        ),
    ],
)
def test_a_garbled_locked_start_is_refused_or_cleaned(
    folder: str, reason: str, view: str, expected: LockedStart | None
) -> None:
    os.environ.update({LOCKED_FOLDER_ENV: folder, LOCK_REASON_ENV: reason, LOCKED_VIEW_ENV: view})
    assert take_locked_start() == expected


def test_a_failed_exec_says_so_and_returns(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    calls: list[list[str]] = []

    def failing_exec(path: str, argv: list[str]) -> None:
        calls.append(argv)
        raise OSError(2, "No such file or directory")

    monkeypatch.setattr(relock, "_shut_qt_down", lambda: None)
    monkeypatch.setattr(relock.os, "execv", failing_exec)
    monkeypatch.setattr(relock.os, "environ", dict(os.environ))
    relock.execute_locked(LockedStart(tmp_path))
    assert calls == [restart_argv()]
    assert "could not start again to ask for the passphrase" in capsys.readouterr().err
