"""A plain copy of evidence (`evidence get`, *Save a copy*) is whole and verified, or absent.

The copy is the one place evidence leaves the encryption. A copy killed half-way must not
sit beside its output as a readable partial file (a half statement that looks whole, in
clear, under a name nobody will think to delete); a copy whose stored file does not match
its SHA-256 must not appear at all; and an existing file is never replaced.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storage import cases, evidence, queries
from storage.atomic import PLAIN_COPY_PREFIX, WholeNewFile
from storage.errors import IntegrityError, InvalidInput
from storage.records import Evidence
from storage.workspace import Workspace, open_workspace
from tests.conftest import PASSPHRASE

ROOT = Path(__file__).resolve().parents[2]
LARGE = 192 * 1024 * 1024  # long enough to be caught mid-copy on a busy machine
MID_COPY = 4 * 1024 * 1024


def _add(ws: Workspace, folder: Path, name: str, data: bytes) -> str:
    source = folder / name
    source.write_bytes(data)
    case_id = cases.add_case(ws, f"Case for {name}")
    item_id = evidence.add_evidence(ws, case_id, source)
    source.unlink()
    return item_id


def _open_in(pid: int, folder: Path) -> list[tuple[str, int]]:
    """Files `pid` has open in `folder` (by their /proc name) and their sizes."""
    found = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        link = f"/proc/{pid}/fd/{fd}"
        try:
            target = os.readlink(link)
            size = os.stat(link).st_size
        except OSError:
            continue
        if target.startswith(f"{folder}/"):
            found.append((target, size))
    return found


def test_a_killed_evidence_get_leaves_nothing_readable(workspace_dir: Path, tmp_path: Path) -> None:
    with open_workspace(workspace_dir, PASSPHRASE) as ws:
        item_id = _add(ws, tmp_path, "statement.bin", os.urandom(1024) * (LARGE // 1024))
    out_folder = tmp_path / "out"
    out_folder.mkdir()
    env = {**os.environ, "VALISE_WORKSPACE": str(workspace_dir), "VALISE_PASSPHRASE": PASSPHRASE}
    child = subprocess.Popen(
        [sys.executable, "-m", "desktop.main", "evidence", "get", item_id, "--out", out_folder],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    caught: list[tuple[str, int]] = []
    deadline = time.monotonic() + 120
    while child.poll() is None and time.monotonic() < deadline:
        caught = [(name, size) for name, size in _open_in(child.pid, out_folder) if size > MID_COPY]
        if caught:
            child.send_signal(signal.SIGKILL)
            break
    child.wait(timeout=60)
    assert caught, "the copy finished before it could be killed; make LARGE larger"
    assert child.returncode == -signal.SIGKILL
    assert os.listdir(out_folder) == [], "a killed copy left a file behind"
    with open_workspace(workspace_dir, PASSPHRASE) as ws:  # the next start
        item = queries.get(ws.conn, Evidence, item_id)
        exported = [e for e in queries.custody_of(ws.conn, item.id) if e.event == "exported"]
        assert exported == []
    assert os.listdir(out_folder) == []


def test_a_killed_copy_under_a_hidden_name_is_removed_at_the_next_start(
    workspace_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the folder has no unnamed files: the hidden name is listed before it is made,
    and the next unlock removes it. The kill is simulated by never closing the writer."""
    monkeypatch.setattr(WholeNewFile, "_open_unnamed", lambda self: None)
    out_folder = tmp_path / "fuse-like"
    out_folder.mkdir()
    pending = workspace_dir / "copies-under-way"
    writer = WholeNewFile(out_folder / "statement.txt", pending)
    writer.write(b"the first half of a statement")
    writer._file.flush()
    [hidden] = os.listdir(out_folder)
    assert hidden.startswith(PLAIN_COPY_PREFIX)
    assert stat.S_IMODE(os.stat(out_folder / hidden).st_mode) == 0o600
    with open_workspace(workspace_dir, PASSPHRASE):
        pass
    assert os.listdir(out_folder) == []
    assert not pending.exists()


def test_a_planted_list_of_copies_under_way_deletes_nothing_else(
    workspace_dir: Path, tmp_path: Path
) -> None:
    victim = tmp_path / "important.doc"
    victim.write_bytes(b"keep me")
    (workspace_dir / "copies-under-way").write_text(
        f"{victim}\n{workspace_dir / 'workspace.key'}\n"
    )
    with open_workspace(workspace_dir, PASSPHRASE):
        pass
    assert victim.read_bytes() == b"keep me"
    assert (workspace_dir / "workspace.key").is_file()


def test_a_copy_under_a_hidden_name_is_published_and_the_name_removed(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(WholeNewFile, "_open_unnamed", lambda self: None)
    item_id = _add(ws, tmp_path, "photo.jpg", b"\xff\xd8" + os.urandom(300_000))
    out_folder = tmp_path / "out"
    out_folder.mkdir()
    evidence.export_evidence(ws, item_id, out_folder / "copy.jpg")
    assert os.listdir(out_folder) == ["copy.jpg"]
    assert not ws.paths.pending_copies.exists()


def test_a_mismatching_stored_file_writes_no_copy(ws: Workspace, tmp_path: Path) -> None:
    """The store holds another item's (intact) bytes under this item's digest."""
    wanted = _add(ws, tmp_path, "wanted.txt", b"the statement as recorded\n" * 5000)
    other = _add(ws, tmp_path, "other.txt", b"another file altogether\n" * 5000)
    sha = {i: queries.get(ws.conn, Evidence, i).sha256 for i in (wanted, other)}
    rows = {
        i: ws.conn.execute(
            "SELECT store_name, blob_key FROM blobs WHERE sha256 = ?", (sha[i],)
        ).fetchone()
        for i in (wanted, other)
    }
    other_file = ws.blobs.path_of(rows[other][0])
    ws.blobs.path_of(rows[wanted][0]).write_bytes(other_file.read_bytes())
    ws.conn.execute("UPDATE blobs SET blob_key = ? WHERE sha256 = ?", (rows[other][1], sha[wanted]))
    out_folder = tmp_path / "out"
    out_folder.mkdir()
    with pytest.raises(IntegrityError, match="does not match its recorded SHA-256, so no copy"):
        evidence.export_evidence(ws, wanted, out_folder / "wanted.txt")
    assert os.listdir(out_folder) == []


def test_a_file_that_appears_during_the_copy_is_never_replaced(
    ws: Workspace, tmp_path: Path
) -> None:
    item_id = _add(ws, tmp_path, "photo.jpg", os.urandom(200_000))
    out = tmp_path / "copy.jpg"

    def someone_else_writes(done: int, total: int) -> None:
        if not out.exists():
            out.write_bytes(b"someone else's file")

    with pytest.raises(InvalidInput, match="appeared while the copy was being written"):
        evidence.export_evidence(ws, item_id, out, progress=someone_else_writes)
    assert out.read_bytes() == b"someone else's file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.jpg", "ws"]


def test_the_unnamed_file_is_used_where_the_folder_allows_it(tmp_path: Path) -> None:
    """On this machine's file system (ext4/tmpfs) the copy is never visible by any name
    until it is published."""
    if not getattr(os, "O_TMPFILE", 0):
        pytest.skip("no O_TMPFILE here")
    with WholeNewFile(tmp_path / "copy.bin", tmp_path / "pending") as writer:
        writer.write(b"x" * 1000)
        assert os.listdir(tmp_path) == []
        writer.publish()
    assert os.listdir(tmp_path) == ["copy.bin"]
    assert (tmp_path / "copy.bin").read_bytes() == b"x" * 1000
