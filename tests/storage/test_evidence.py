"""Evidence: streamed, encrypted, stored once, verified, exported, and never in clear."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import cases, evidence, queries
from storage.blobs import CHUNK, Cancelled
from storage.errors import EvidenceFileError, IntegrityError, InvalidInput
from storage.records import CustodyEvent, Evidence
from storage.workspace import Workspace, open_workspace
from tests.conftest import PASSPHRASE


@pytest.fixture
def case_id(ws: Workspace) -> str:
    return cases.add_case(ws, "Evidence case")


def _file(folder: Path, name: str, size: int, seed: int = 1) -> Path:
    path = folder / name
    path.write_bytes(
        hashlib.sha256(str(seed).encode()).digest() * (size // 32) + b"x" * (size % 32)
    )
    return path


def _stored_files(ws: Workspace) -> list[Path]:
    return [p for p in ws.paths.blobs.rglob("*") if p.is_file()]


def test_add_hashes_registers_and_records_first_custody(
    ws: Workspace, case_id: str, tmp_path: Path
) -> None:
    source = _file(tmp_path, "scene photo.jpg", 3 * CHUNK + 123)
    item_id = evidence.add_evidence(ws, case_id, source, description="North wall")
    item = queries.get(ws.conn, Evidence, item_id)
    assert item.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert (item.size, item.type, item.media_type) == (source.stat().st_size, "photo", "image/jpeg")
    assert item.ern == "VAR-KAB-0001-0001" and item.description == "North wall"
    [first] = queries.custody_of(ws.conn, item_id)
    assert (first.event, first.hash_seen) == ("collected", item.sha256)


def test_same_bytes_twice_share_one_stored_copy(
    ws: Workspace, case_id: str, tmp_path: Path
) -> None:
    source = _file(tmp_path, "a.pdf", 2 * CHUNK)
    copy = tmp_path / "b.pdf"
    copy.write_bytes(source.read_bytes())
    first = evidence.add_evidence(ws, case_id, source)
    second = evidence.add_evidence(ws, case_id, copy)
    assert first != second
    assert len(_stored_files(ws)) == 1


@pytest.mark.parametrize("size", [1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK])
def test_export_round_trips_at_chunk_boundaries(
    ws: Workspace, case_id: str, tmp_path: Path, size: int
) -> None:
    source = _file(tmp_path, "f.bin", size, seed=size)
    item_id = evidence.add_evidence(ws, case_id, source)
    out = tmp_path / "out.bin"
    evidence.export_evidence(ws, item_id, out)
    assert out.read_bytes() == source.read_bytes()
    events = [e.event for e in queries.custody_of(ws.conn, item_id)]
    assert events == ["collected", "exported"]


def test_export_refuses_to_overwrite(ws: Workspace, case_id: str, tmp_path: Path) -> None:
    item_id = evidence.add_evidence(ws, case_id, _file(tmp_path, "f.bin", 100))
    (tmp_path / "exists.bin").write_bytes(b"mine")
    with pytest.raises(InvalidInput, match="already exists"):
        evidence.export_evidence(ws, item_id, tmp_path / "exists.bin")
    assert (tmp_path / "exists.bin").read_bytes() == b"mine"


@pytest.mark.parametrize(
    "damage",
    ["flip", "truncate", "swap", "drop last chunk", "delete"],
)
def test_damaged_store_files_are_named_by_verify(
    ws: Workspace, case_id: str, tmp_path: Path, damage: str
) -> None:
    item_id = evidence.add_evidence(ws, case_id, _file(tmp_path, "f.bin", 3 * CHUNK + 5))
    good_id = evidence.add_evidence(ws, case_id, _file(tmp_path, "g.bin", 1000, seed=9))
    item = queries.get(ws.conn, Evidence, item_id)
    name = ws.conn.execute(
        "SELECT store_name FROM blobs WHERE sha256 = ?", (item.sha256,)
    ).fetchone()[0]
    path = ws.blobs.path_of(name)
    data = bytearray(path.read_bytes())
    sealed = CHUNK + 16
    if damage == "flip":
        data[len(data) // 2] ^= 0x01
    elif damage == "truncate":
        data = data[: 16 + sealed + 100]
    elif damage == "swap":
        first, second = data[16 : 16 + sealed], data[16 + sealed : 16 + 2 * sealed]
        data[16 : 16 + 2 * sealed] = second + first
    elif damage == "drop last chunk":
        data = data[: 16 + 3 * sealed]
    if damage == "delete":
        path.unlink()
    else:
        path.write_bytes(bytes(data))
    results = {r.evidence_id: r for r in evidence.verify_all(ws)}
    assert not results[item_id].ok and results[item_id].problem
    assert results[good_id].ok
    with pytest.raises(IntegrityError):
        evidence.export_evidence(ws, item_id, tmp_path / "out.bin")
    assert not (tmp_path / "out.bin").exists()
    assert not list(tmp_path.glob(".out.bin.*"))
    verified = [e for e in queries.custody_of(ws.conn, item_id) if e.event == "verified"]
    assert verified[-1].result == "MISMATCH"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.jpg", "No such file"),
        (lambda d: d, "folder, not a file"),
        (lambda d: (d / "empty.txt").write_bytes(b"") or d / "empty.txt", "empty"),
    ],
)
def test_bad_evidence_paths_are_explained(
    ws: Workspace, case_id: str, tmp_path: Path, make, message: str
) -> None:
    with pytest.raises(EvidenceFileError, match=message):
        evidence.add_evidence(ws, case_id, make(tmp_path))
    assert queries.in_case(ws.conn, Evidence, case_id) == []
    assert _stored_files(ws) == []


def test_cancel_leaves_nothing(ws: Workspace, case_id: str, tmp_path: Path) -> None:
    source = _file(tmp_path, "big.bin", 8 * CHUNK)
    cancel = threading.Event()

    def progress(done: int, total: int) -> None:
        if done >= 2 * CHUNK:
            cancel.set()

    with pytest.raises(Cancelled):
        evidence.add_evidence(ws, case_id, source, progress=progress, cancel=cancel)
    assert _stored_files(ws) == []
    assert queries.in_case(ws.conn, Evidence, case_id) == []


def test_orphans_from_an_interrupted_add_are_collected_at_unlock(
    ws: Workspace, case_id: str, tmp_path: Path
) -> None:
    staged = ws.blobs.stage(_file(tmp_path, "f.bin", 5000))
    ws.blobs.commit(staged)  # the file landed but its row never committed (a crash)
    ws.blobs.stage(_file(tmp_path, "g.bin", 5000, seed=3))  # a temp file never renamed
    assert len(_stored_files(ws)) == 2
    ws.close()
    with open_workspace(ws.paths.root, PASSPHRASE) as reopened:
        assert _stored_files(reopened) == []


def test_custody_is_append_only_and_ordered(ws: Workspace, case_id: str, tmp_path: Path) -> None:
    item_id = evidence.add_evidence(ws, case_id, _file(tmp_path, "f.bin", 100))
    evidence.add_custody(ws, item_id, "sealed", note="bag 12", location="Kabora office")
    evidence.add_custody(
        ws,
        item_id,
        "transferred",
        at="2027-03-15T14:30Z",
        from_holder="KAB",
        to_holder="HQ",
        medium="hand carried",
    )
    chain = evidence.custody(ws, item_id)
    assert [e.event for e in chain] == ["collected", "sealed", "transferred"]
    assert chain[2].at == "2027-03-15T14:30Z"
    with pytest.raises(InvalidInput):
        evidence.add_custody(ws, item_id, "teleported")
    with pytest.raises(InvalidInput, match="time"):
        evidence.add_custody(ws, item_id, "sealed", at="yesterday-ish")
    import sqlcipher3.dbapi2 as sqlcipher

    with pytest.raises(sqlcipher.IntegrityError, match="append-only"):
        ws.conn.execute("UPDATE custody_events SET note = 'rewritten'")
    assert isinstance(chain[0], CustodyEvent)


def test_reading_streams_without_plaintext_on_disk(
    ws: Workspace, case_id: str, tmp_path: Path
) -> None:
    marker = b"UNIQUE-PLAINTEXT-MARKER-" + os.urandom(8).hex().encode()
    source = tmp_path / "note.txt"
    source.write_bytes(marker * 5000)
    item_id = evidence.add_evidence(ws, case_id, source)
    assert b"".join(evidence.read_evidence(ws, item_id)) == marker * 5000
    for path in ws.paths.root.rglob("*"):
        if path.is_file():
            assert marker not in path.read_bytes()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    start=st.integers(min_value=0, max_value=3 * CHUNK + 200),
    length=st.integers(min_value=0, max_value=2 * CHUNK + 50),
)
def test_a_stretch_of_a_stored_file_reads_as_that_stretch_of_its_bytes(
    ws: Workspace, stored_three_chunks: tuple[str, bytes, bytes], start: int, length: int
) -> None:
    """Evidence workers each encrypt a stretch of one file; together they must be the file."""
    store_name, key, plain = stored_three_chunks
    end = start + length
    got = b"".join(ws.blobs.read_range(store_name, key, start, end))
    assert got == plain[start:end]
    assert b"".join(ws.blobs.read_range(store_name, key, start, None)) == plain[start:]


def test_a_stretch_of_a_damaged_file_is_refused(
    ws: Workspace, stored_three_chunks: tuple[str, bytes, bytes]
) -> None:
    store_name, key, _plain = stored_three_chunks
    path = ws.blobs.path_of(store_name)
    data = bytearray(path.read_bytes())
    data[16 + CHUNK + 16 + 5] ^= 0x01  # inside the second chunk
    path.write_bytes(bytes(data))
    assert b"".join(ws.blobs.read_range(store_name, key, 0, CHUNK)) != b""
    with pytest.raises(IntegrityError, match="chunk 1"):
        b"".join(ws.blobs.read_range(store_name, key, CHUNK + 10, CHUNK + 20))
    truncated = bytes(data[: 16 + 2 * (CHUNK + 16) + 40])
    path.write_bytes(truncated)
    with pytest.raises(IntegrityError):
        b"".join(ws.blobs.read_range(store_name, key, 2 * CHUNK, None))


@pytest.fixture
def stored_three_chunks(ws: Workspace, case_id: str, tmp_path: Path) -> tuple[str, bytes, bytes]:
    source = _file(tmp_path, "three.bin", 3 * CHUNK + 123, seed=4)
    item = queries.get(ws.conn, Evidence, evidence.add_evidence(ws, case_id, source))
    name, key = ws.conn.execute(
        "SELECT store_name, blob_key FROM blobs WHERE sha256 = ?", (item.sha256,)
    ).fetchone()
    return str(name), bytes(key), source.read_bytes()


def test_a_check_of_one_case_rehashes_and_records_only_that_case(
    ws: Workspace, case_id: str, tmp_path: Path
) -> None:
    other_case = cases.add_case(ws, "Detentions at the camp")
    (tmp_path / "a.txt").write_bytes(b"ledger " * 1000)
    (tmp_path / "b.txt").write_bytes(b"photo " * 1000)
    mine = evidence.add_evidence(ws, case_id, tmp_path / "a.txt")
    theirs = evidence.add_evidence(ws, other_case, tmp_path / "b.txt")
    before = len(evidence.custody(ws, theirs))
    results = evidence.verify_all(ws, case_id=case_id)
    assert [r.evidence_id for r in results] == [mine] and results[0].ok
    assert evidence.custody(ws, mine)[-1].event == "verified"
    assert len(evidence.custody(ws, theirs)) == before  # the other case is left alone
    assert {r.evidence_id for r in evidence.verify_all(ws)} == {mine, theirs}
