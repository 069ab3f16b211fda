"""A planted or damaged unlock record (`unlock-attempts.json`) never locks the owner out.

The record sits in clear beside the database, so anyone who can write the folder can
plant one. Whatever it holds, the next unlock waits at most MAX_WAIT_SECONDS (5 minutes)
and a record that is not one is a fresh start with a logged warning, never a crash.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from storage import throttle
from storage.errors import ThrottledUnlock, WorkspaceFileError
from storage.paths import WorkspacePaths
from storage.workspace import open_workspace
from tests.conftest import PASSPHRASE

NOW = 1_800_000_000.0
YEAR = 365 * 24 * 3600.0


def _plant(workspace_dir: Path, content: bytes) -> Path:
    path = WorkspacePaths(workspace_dir).attempts
    path.write_bytes(content)
    return path


def test_failures_planted_years_ahead_wait_at_most_five_minutes(workspace_dir: Path) -> None:
    _plant(workspace_dir, json.dumps({"failures": [NOW + 10 * YEAR] * 100}).encode())
    with pytest.raises(ThrottledUnlock) as waiting:
        open_workspace(workspace_dir, PASSPHRASE, now=lambda: NOW)
    assert waiting.value.wait_seconds <= throttle.MAX_WAIT_SECONDS == 300
    later = NOW + throttle.MAX_WAIT_SECONDS
    with open_workspace(workspace_dir, PASSPHRASE, now=lambda: later) as ws:
        failed = ws.conn.execute("SELECT COUNT(*) FROM audit WHERE action = 'unlock failed'")
        assert failed.fetchone()[0] == 100  # recorded, at the clamped time


def test_a_failure_within_the_clock_skew_allowance_is_believed(tmp_path: Path) -> None:
    path = tmp_path / "attempts.json"
    ahead = NOW + throttle.CLOCK_SKEW_SECONDS / 2
    path.write_text(json.dumps({"failures": [ahead] * 3}))
    assert throttle.load(path, lambda: NOW).failures == [ahead] * 3
    path.write_text(json.dumps({"failures": [NOW + throttle.CLOCK_SKEW_SECONDS + 1] * 3}))
    assert throttle.load(path, lambda: NOW).failures == [NOW] * 3


def test_no_record_ever_asks_for_more_than_the_maximum_wait() -> None:
    attempts = throttle.UnlockAttempts([NOW + YEAR] * throttle.KEPT_FAILURES)
    assert attempts.wait_seconds(NOW) == throttle.MAX_WAIT_SECONDS


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("not JSON", b"\xff garbage"),
        ("huge", b'{"failures": [' + b"1," * 100_000 + b"1]}"),
        ("a list, not an object", b"[1, 2, 3]"),
        ("times as text", b'{"failures": ["soon", "later", "never"]}'),
        ("times as booleans", b'{"failures": [true, true, true, true]}'),
        ("no failures key", b'{"other": 1}'),
        ("failures not a list", b'{"failures": 12}'),
        ("negative times", b'{"failures": [-1e300, -1e300, -1e300, -1e300]}'),
        ("infinite times", b'{"failures": [1e999, 1e999, 1e999, 1e999]}'),
    ],
)
def test_a_garbage_record_is_a_fresh_start_with_a_warning(
    workspace_dir: Path, caplog: pytest.LogCaptureFixture, name: str, content: bytes
) -> None:
    _plant(workspace_dir, content)
    with (
        caplog.at_level(logging.WARNING, logger="storage.throttle"),
        open_workspace(workspace_dir, PASSPHRASE) as ws,
    ):
        assert ws.verify_audit().ok, name
    assert "counting starts afresh" in caplog.text, name
    assert not WorkspacePaths(workspace_dir).attempts.exists()


def test_a_record_that_is_a_fifo_does_not_hang_the_unlock(
    workspace_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    os.mkfifo(WorkspacePaths(workspace_dir).attempts)
    with (
        caplog.at_level(logging.WARNING, logger="storage.throttle"),
        open_workspace(workspace_dir, PASSPHRASE),
    ):
        pass
    assert "named pipe" in caplog.text


def test_a_record_that_links_elsewhere_is_not_followed(
    workspace_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps({"failures": [NOW] * 50}))
    WorkspacePaths(workspace_dir).attempts.symlink_to(elsewhere)
    with caplog.at_level(logging.WARNING, logger="storage.throttle"):
        assert throttle.load(WorkspacePaths(workspace_dir).attempts, lambda: NOW).failures == []
    assert "symbolic link" in caplog.text


def test_a_key_file_that_is_a_fifo_is_named_instead_of_hanging_the_unlock(
    workspace_dir: Path,
) -> None:
    """Not the unlock record, but the same trap beside it: a pipe for `workspace.key`."""
    key = WorkspacePaths(workspace_dir).keyfile
    key.unlink()
    os.mkfifo(key)
    with pytest.raises(WorkspaceFileError, match="key file is a named pipe"):
        open_workspace(workspace_dir, PASSPHRASE)
