"""Evidence parts written by worker processes: the same bundle, faster, nothing left over.

The thresholds are lowered so that a few megabytes take the path a gigabyte takes.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage import cases, evidence, queries
from storage.blobs import Cancelled
from storage.digest import state_digest
from storage.records import Evidence
from sync import evidence_parts
from sync.bundle_format import BUNDLE_FOLDER
from sync.errors import SyncError
from sync.evidence_parts import StoredBlob, cut_into_parts
from sync.export import export_bundle
from tests.conftest import PASSPHRASE
from tests.sync.conftest import Network, children_of

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def small_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evidence_parts, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(evidence_parts, "MIN_PART_BYTES", 256 * 1024)


def _case_with_files(network: Network, tmp_path: Path, sizes: list[int]) -> tuple[str, list[bytes]]:
    kabora = network.ws["kabora"]
    case_id = cases.add_case(kabora, "Case with several files")
    contents = []
    for number, size in enumerate(sizes):
        data = random.Random(number).randbytes(size)
        path = tmp_path / f"file-{number}.bin"
        path.write_bytes(data)
        evidence.add_evidence(kabora, case_id, path)
        contents.append(data)
    network.share("kabora", case_id, "liaison")
    return case_id, contents


def test_evidence_parts_from_workers_import_whole(
    network: Network,
    tmp_path: Path,
    small_thresholds: None,
    no_process_left: None,
) -> None:
    sizes = [3_000_000, 1, 1_048_576, 700_001]
    case_id, contents = _case_with_files(network, tmp_path, sizes)
    seen: list[tuple[int, int]] = []
    result = export_bundle(
        network.ws["kabora"],
        [network.peer("kabora", "liaison")],
        network.new_stick(),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert len(result.parts) >= 4  # the changesets, then evidence parts from the workers
    assert seen and seen[-1][0] >= sum(sizes)
    [report] = network.receive("liaison", result.head)
    assert report.status == "imported" and report.evidence == len(sizes)
    liaison = network.ws["liaison"]
    items = queries.in_case(liaison.conn, Evidence, case_id)
    got = {item.sha256: b"".join(evidence.read_evidence(liaison, item.id)) for item in items}
    assert got == {hashlib.sha256(data).hexdigest(): data for data in contents}


def test_a_worker_that_fails_leaves_no_bundle(
    network: Network,
    tmp_path: Path,
    small_thresholds: None,
    no_process_left: None,
) -> None:
    case_id, _ = _case_with_files(network, tmp_path, [2_000_000, 2_000_000])
    kabora = network.ws["kabora"]
    item = queries.in_case(kabora.conn, Evidence, case_id)[0]
    name = kabora.conn.execute(
        "SELECT store_name FROM blobs WHERE sha256 = ?", (item.sha256,)
    ).fetchone()[0]
    stored = kabora.blobs.path_of(str(name))
    data = bytearray(stored.read_bytes())
    data[-100] ^= 1  # a damaged store file, read by a worker
    stored.write_bytes(bytes(data))
    before = state_digest(kabora.conn)
    stick = network.new_stick()
    with pytest.raises(Exception, match="damaged or was altered"):
        export_bundle(kabora, [network.peer("kabora", "liaison")], stick)
    assert list((stick / BUNDLE_FOLDER).iterdir()) == []
    assert state_digest(kabora.conn) == before


def test_cancelling_while_workers_encrypt_leaves_no_bundle(
    network: Network,
    tmp_path: Path,
    small_thresholds: None,
    no_process_left: None,
) -> None:
    _case_with_files(network, tmp_path, [4_000_000, 4_000_000])
    kabora = network.ws["kabora"]
    before = state_digest(kabora.conn)
    cancel = threading.Event()
    stick = network.new_stick()

    def cancel_once_started(done: int, total: int) -> None:
        if done > 0:
            cancel.set()

    with pytest.raises(Cancelled):
        export_bundle(
            kabora,
            [network.peer("kabora", "liaison")],
            stick,
            progress=cancel_once_started,
            cancel=cancel,
        )
    assert list((stick / BUNDLE_FOLDER).iterdir()) == []
    assert state_digest(kabora.conn) == before


def test_a_broken_worker_is_explained(
    network: Network,
    tmp_path: Path,
    small_thresholds: None,
    monkeypatch: pytest.MonkeyPatch,
    no_process_left: None,
) -> None:
    _case_with_files(network, tmp_path, [2_000_000])
    monkeypatch.setattr(evidence_parts, "encrypt_part", _die)
    stick = network.new_stick()
    with pytest.raises(SyncError, match="stopped unexpectedly"):
        export_bundle(network.ws["kabora"], [network.peer("kabora", "liaison")], stick)
    assert list((stick / BUNDLE_FOLDER).iterdir()) == []


def _die(job: object) -> int:
    import os

    os._exit(9)


def test_no_worker_process_outlives_the_export_command(network: Network, tmp_path: Path) -> None:
    """`valise bundle export` with evidence large enough for the workers, run in its own
    session: while it runs it has worker processes; once it has exited, nothing of its
    session is left (no worker, no resource tracker, no zombie)."""
    size = evidence_parts.PARALLEL_MIN_BYTES + 4_000_000
    _case_with_files(network, tmp_path, [size])
    network.ws["kabora"].close()  # the command opens it
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "VALISE_WORKSPACE": str(tmp_path / "kabora"),
        "VALISE_PASSPHRASE": PASSPHRASE,
    }
    liaison = network.ws["liaison"].origin[:16]
    command = [sys.executable, "-m", "desktop.main", "bundle", "export", "--to", liaison]
    export = subprocess.Popen(
        [*command, "--out", str(network.new_stick())],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    seen: set[str] = set()
    while export.poll() is None:
        seen |= children_of(export.pid)
        time.sleep(0.02)
    _, stderr = export.communicate()
    assert export.returncode == 0, stderr.decode()
    assert len(seen) >= 2, "the export did not start its workers"
    session = subprocess.run(
        ["ps", "-o", "pid=,stat=,args=", "-s", str(export.pid)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert session == "", f"left behind by the export:\n{session}"


blob_sizes = st.lists(st.integers(min_value=1, max_value=5000), min_size=1, max_size=8)


@given(sizes=blob_sizes, per_part=st.integers(min_value=60, max_value=6000))
def test_cutting_covers_every_byte_once_in_order(sizes: list[int], per_part: int) -> None:
    header = b"H" * 50
    blobs = [StoredBlob(header, f"{n:032x}", b"k", size) for n, size in enumerate(sizes)]
    parts = cut_into_parts(blobs, per_part)
    assert all(0 < sum(s.size for s in part) <= per_part for part in parts)
    stretches = [s for part in parts for s in part]
    for blob in blobs:
        mine = [s for s in stretches if s.store_name == blob.store_name]
        assert mine[0].header == header and all(s.header == b"" for s in mine[1:])
        assert mine[0].start == 0 and mine[-1].end == blob.size
        assert all(a.end == b.start for a, b in itertools.pairwise(mine))
    order = [s.store_name for s in stretches]
    assert order == sorted(order)
