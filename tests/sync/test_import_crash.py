"""`kill -9` at random moments during a bundle import: all of it or none of it, always.

A bundle with a few hundred changesets and evidence files is imported by a child process
that is killed after a random delay drawn over the import's own run time. Afterwards the
workspace must open, its audit chain and evidence must verify, the evidence store must agree
with the database, and the bundle must be either entirely there (recorded as imported, every
changeset present) or not at all (the workspace digest unchanged); importing again then
completes it. Set VALISE_IMPORT_CRASH_ROUNDS and VALISE_CRASH_SEED to change or replay.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storage import cases, evidence
from storage.digest import state_digest
from storage.workspace import open_workspace
from sync.importer import import_paths
from tests.conftest import PASSPHRASE
from tests.desktop.clitools import ROOT, temp_leftovers
from tests.sync.conftest import Network

ROUNDS = int(os.environ.get("VALISE_IMPORT_CRASH_ROUNDS", "100"))


def _bundle(network: Network, tmp_path: Path) -> tuple[Path, set[str]]:
    kabora = network.ws["kabora"]
    case_id = cases.add_case(kabora, "Crash loop case", "summary")
    for n in range(300):
        cases.add_note(kabora, case_id, f"note {n} " + "words " * 40)
    for n in range(6):
        path = tmp_path / f"evidence-{n}.bin"
        path.write_bytes(random.Random(n).randbytes(2_000_000))
        evidence.add_evidence(kabora, case_id, path)
    network.share("kabora", case_id, "liaison")
    ids = {
        str(row[0])
        for row in kabora.conn.execute("SELECT id FROM changesets WHERE case_id = ?", (case_id,))
    }
    stick = network.new_stick()
    assert network.export("kabora", "liaison", stick=stick).changesets == len(ids)
    return stick, ids


def _start(root: Path, stick: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "VALISE_DEBUG"}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.sync.import_child", str(root), PASSPHRASE, str(stick)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait_for_go(process: subprocess.Popen[bytes]) -> None:
    assert process.stderr is not None
    line = process.stderr.readline()
    assert line.strip() == b"go", line


def _held(root: Path, ids: set[str]) -> tuple[int, bool, str]:
    """How many of the bundle's changesets are here, whether the bundle is recorded, and
    the digest; checks audit, evidence and the store on the way."""
    with open_workspace(root, PASSPHRASE) as ws:
        assert ws.verify_audit().ok
        assert all(r.ok for r in evidence.verify_all(ws, record=False))
        known = {str(row[0]) for row in ws.conn.execute("SELECT store_name FROM blobs")}
        assert {p.name for p in ws.blobs.stored_names()} == known
        held = sum(
            1
            for cs_id in ids
            if ws.conn.execute("SELECT 1 FROM changesets WHERE id = ?", (cs_id,)).fetchone()
        )
        recorded = ws.conn.execute("SELECT count(*) FROM bundles_in").fetchone()[0] == 1
        digest = state_digest(ws.conn)
    assert temp_leftovers(root) == []
    return held, recorded, digest


@pytest.mark.slow
def test_kill_9_during_bundle_import(network: Network, tmp_path: Path) -> None:
    seed = int(os.environ.get("VALISE_CRASH_SEED") or random.SystemRandom().randrange(2**32))
    print(f"import crash loop seed: {seed}")
    rng = random.Random(seed)
    stick, ids = _bundle(network, tmp_path)
    base = network.ws["liaison"].paths.root
    network.ws["liaison"].close()
    before = _held(base, ids)[2]

    timing_copy = tmp_path / "timing"
    shutil.copytree(base, timing_copy)
    process = _start(timing_copy, stick)
    _wait_for_go(process)
    started = time.monotonic()
    out, err = process.communicate(timeout=120)
    duration = time.monotonic() - started
    assert process.returncode == 0 and out.strip() == b"imported", err

    tally = {"all": 0, "none": 0, "finished": 0}
    for round_no in range(ROUNDS):
        where = f"seed {seed}, round {round_no}"
        root = tmp_path / f"round-{round_no}"
        shutil.copytree(base, root)
        process = _start(root, stick)
        _wait_for_go(process)
        time.sleep(rng.uniform(0, duration * 1.1))
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=120)
        if process.returncode == 0:
            tally["finished"] += 1
        held, recorded, digest = _held(root, ids)
        if recorded:
            assert held == len(ids), f"{where}: recorded but only {held} of {len(ids)} here"
            tally["all"] += 1
        else:
            assert held == 0 and digest == before, f"{where}: half an import ({held} held)"
            tally["none"] += 1
        with open_workspace(root, PASSPHRASE) as ws:
            statuses = [r.status for r in import_paths(ws, [stick])]
        assert statuses == (["already imported"] if recorded else ["imported"]), where
        assert _held(root, ids)[:2] == (len(ids), True), where
        shutil.rmtree(root)
    print(f"import crash loop: {ROUNDS} rounds, {tally}, import took {duration:.2f} s")
    assert tally["all"] + tally["none"] == ROUNDS
