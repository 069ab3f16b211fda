"""Crash loops: `kill -9` at random moments during `evidence add`, `passwd` and `rekey`.

After every kill the workspace must open (with the old or the new passphrase, for passwd),
its audit chain and its evidence must verify, and no temporary file may survive the next
open; after a rekey, it opens under the old database key or the new one, never neither.
The delays are drawn from a seeded RNG spanning the command's whole run time (measured
first), so a failure can be replayed: the seed is printed and named in every assertion.
Set VALISE_CRASH_SEED to replay one, VALISE_CRASH_ROUNDS to change the number of kills.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from storage import evidence, keyfile
from storage.digest import state_digest
from storage.errors import WrongPassphrase
from storage.passphrase import encode_passphrase
from storage.workspace import open_workspace
from tests.conftest import PASSPHRASE
from tests.desktop.clitools import ROOT, assert_ok, temp_leftovers, valise

ROUNDS = int(os.environ.get("VALISE_CRASH_ROUNDS", "50"))
EVIDENCE_MB = 48
NEW_PASSPHRASE = "a new and entirely different passphrase"


def _seed() -> int:
    seed = int(os.environ.get("VALISE_CRASH_SEED") or random.SystemRandom().randrange(2**32))
    print(f"crash loop seed: {seed} (replay with VALISE_CRASH_SEED={seed})")
    return seed


def _start(env: dict[str, str], *args: str | os.PathLike[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "desktop.main", *[os.fspath(a) for a in args]],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _timed_run(env: dict[str, str], *args: str | os.PathLike[str]) -> float:
    started = time.monotonic()
    process = _start(env, *args)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err.decode(errors="replace")
    return time.monotonic() - started


@dataclass
class Outcome:
    """What one round did: killed or finished, and what it printed."""

    killed: bool
    returncode: int
    stdout: str
    stderr: str
    elapsed: float  # from start to exit or kill


def _run_and_kill(env: dict[str, str], delay: float, *args: str | os.PathLike[str]) -> Outcome:
    started = time.monotonic()
    process = _start(env, *args)
    try:
        process.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
    out, err = process.communicate(timeout=120)
    elapsed = time.monotonic() - started
    killed = process.returncode == -signal.SIGKILL
    return Outcome(
        killed,
        process.returncode,
        out.decode(errors="replace"),
        err.decode(errors="replace"),
        elapsed,
    )


class RunClock:
    """How long an uninterrupted run takes now, as a factor of the calibration run.

    The calibration is one moment of a busy machine (the polling that finds a rename slows the
    run it watches); the loop then lasts minutes while other work starts and stops. Every run
    that finishes corrects the factor, so the kills stay aimed inside the run instead of
    after its end, and how many land does not depend on the machine's mood."""

    def __init__(self, calibrated: float) -> None:
        self.calibrated = calibrated
        self.factor = 1.0

    def at(self, seconds: float) -> float:
        """A moment of the calibration run, moved to where it falls in a run today."""
        return seconds * self.factor

    def observe(self, outcome: Outcome) -> None:
        if not outcome.killed and self.calibrated > 0:
            self.factor = 0.6 * self.factor + 0.4 * (outcome.elapsed / self.calibrated)


def _enough_rounds(round_no: int, rounds: int, tally: Tally) -> bool:
    """The loop's end: at least `rounds` rounds and a third of them killed mid-run; runs that
    finished before their kill add rounds, up to three times as many."""
    return (round_no >= rounds and tally.killed >= rounds // 3) or round_no >= 3 * rounds


@dataclass
class Tally:
    killed: int = 0
    finished: int = 0
    mid_write: int = 0  # kills that left a temporary file for the next open to collect
    landed: int = 0  # kills after the change was already durable


def _write_evidence_file(path: Path, rng: random.Random, base: bytes) -> None:
    """The same large file with a fresh random head, so every round stores new content."""
    path.write_bytes(rng.randbytes(64) + base)


# -- the deterministic part: what a kill leaves behind is collected -----------------------


def test_temporary_files_left_by_a_kill_are_collected_at_the_next_open(
    workspace_dir: Path,
) -> None:
    """Each atomic write goes through a temp name; `kill -9` before the rename leaves it
    behind. The next open holds the workspace lock, so every such file is an orphan: the
    key file rewrapped by an interrupted passwd (a copy of the database key!), the audit
    anchor written at close, the failed-unlock record, a backup's database export, and a
    staged or committed-but-unrecorded evidence file."""
    root = workspace_dir
    stray = [
        root / ".workspace.key.0123456789ab.partial",
        root / ".audit.anchor.0123456789ab.partial",
        root / ".unlock-attempts.json.0123456789ab.partial",
        root / ".backup-0123456789ab.db",
        root / "blobs" / f".{'ab' * 16}.partial",
        root / "blobs" / "cd" / ("cd" * 16),
    ]
    for path in stray:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"left by a crash")
    with open_workspace(root, PASSPHRASE) as ws:
        assert ws.verify_audit().ok
    left = [p for p in stray if p.exists()]
    assert left == [], f"not collected at open: {[p.name for p in left]}"
    assert (root / "workspace.key").is_file()


# -- the crash loops ----------------------------------------------------------------------


def _open_checked(root: Path, passphrases: list[str], seed: int, round_no: int) -> str:
    """Open with whichever passphrase the key file now holds; check audit, evidence and
    leftovers in this process (faster than a CLI run per check). Returns the passphrase."""
    where = f"seed {seed}, round {round_no}"
    sealed = keyfile.read(root / "workspace.key")  # whole: written atomically
    fitting = []
    for candidate in passphrases:
        try:
            keyfile.unseal(sealed, encode_passphrase(candidate))
            fitting.append(candidate)
        except WrongPassphrase:
            continue
    assert len(fitting) == 1, f"{where}: the key file opens with {len(fitting)} passphrases"
    with open_workspace(root, fitting[0]) as ws:
        report = ws.verify_audit()
        assert report.ok, f"{where}: audit chain broken at {report.broken_at}: {report.reason}"
        results = evidence.verify_all(ws, record=False)
        bad = [r for r in results if not r.ok]
        assert bad == [], f"{where}: evidence failed verification: {bad}"
        known = {row[0] for row in ws.conn.execute("SELECT store_name FROM blobs")}
        stored = {p.name for p in ws.blobs.stored_names()}
        assert stored == known, f"{where}: store and database disagree: {stored ^ known}"
        assert ws.meta("key_generation") == sealed.generation, where
        left = temp_leftovers(root)
        assert left == [], f"{where}: temporary files survived the open: {left}"
    assert not (root / "unlock-attempts.json").exists(), where
    return fitting[0]


def _time_key_file_change(
    env: dict[str, str], key: Path, command: str = "passwd"
) -> tuple[float, float]:
    """Run `command` to the end; return its duration and when the key file was replaced."""
    before = key.stat().st_ino
    started = time.monotonic()
    process = _start(env, command)
    replaced_at = None
    while process.poll() is None:
        if replaced_at is None and key.stat().st_ino != before:
            replaced_at = time.monotonic() - started
        time.sleep(0.0005)
    took = time.monotonic() - started
    _, err = process.communicate()
    assert process.returncode == 0, err.decode(errors="replace")
    assert key.stat().st_ino != before
    return took, took if replaced_at is None else replaced_at


def _evidence_count(root: Path) -> int:
    with open_workspace(root, PASSPHRASE) as ws:
        return int(ws.conn.execute("SELECT count(*) FROM evidence").fetchone()[0])


def _cli_verify(env: dict[str, str], seed: int) -> None:
    audit_out = assert_ok(valise(env, "audit", "verify"))
    assert audit_out.startswith("ok ") and int(audit_out.split()[1]) > 0, f"seed {seed}"
    verified = assert_ok(valise(env, "evidence", "verify")).splitlines()[-1]
    count = verified.split()[0]
    assert verified == f"{count} of {count} evidence items verified.", f"seed {seed}: {verified}"


@pytest.mark.slow
def test_kill_9_during_evidence_add(workspace_dir: Path, tmp_path: Path) -> None:
    seed = _seed()
    rng = random.Random(seed)
    base_ws = tmp_path / "base"
    shutil.copytree(workspace_dir, base_ws)
    env = {**os.environ, "VALISE_WORKSPACE": str(workspace_dir), "VALISE_PASSPHRASE": PASSPHRASE}
    env.pop("VALISE_DEBUG", None)
    case_id = assert_ok(valise(env, "case", "add", "--title", "Crash loop case"))
    shutil.rmtree(base_ws)
    shutil.copytree(workspace_dir, base_ws)  # with the case, to start over from

    big = tmp_path / "exhibit 17 — drone footage.mp4"
    body = rng.randbytes(EVIDENCE_MB << 20)
    _write_evidence_file(big, rng, body)
    timings = []
    for _ in range(3):
        _write_evidence_file(big, rng, body)
        timings.append(_timed_run(env, "evidence", "add", case_id, big))
    took = sorted(timings)[1]
    print(f"one evidence add of {EVIDENCE_MB} MB takes {took:.2f} s")

    tally = Tally()
    added: set[str] = set()
    items = _evidence_count(workspace_dir)
    mid_write_delays: list[float] = []

    clock = RunClock(took)

    def one_round(round_no: int, delay: float) -> None:
        nonlocal items
        _write_evidence_file(big, rng, body)
        outcome = _run_and_kill(env, delay, "evidence", "add", case_id, big)
        clock.observe(outcome)
        if outcome.killed:
            tally.killed += 1
            if temp_leftovers(workspace_dir):
                tally.mid_write += 1
                mid_write_delays.append(delay)
        else:
            tally.finished += 1
            assert outcome.returncode == 0, f"seed {seed}, round {round_no}: {outcome.stderr}"
            added.add(outcome.stdout.strip())
        _open_checked(workspace_dir, [PASSPHRASE], seed, round_no)
        if round_no % 10 == 9:
            _cli_verify(env, seed)
        with open_workspace(workspace_dir, PASSPHRASE) as ws:
            ids = {row[0] for row in ws.conn.execute("SELECT id FROM evidence")}
        assert added <= ids, f"seed {seed}, round {round_no}: a finished add is missing"
        assert len(ids) - items in ((0, 1) if outcome.killed else (1,)), (
            f"seed {seed}, round {round_no}: {len(ids) - items} items added by one add"
        )
        tally.landed += outcome.killed and len(ids) > items
        items = len(ids)
        if items >= 4:  # keep re-hashing cheap: start over from the base copy
            shutil.rmtree(workspace_dir)
            shutil.copytree(base_ws, workspace_dir)
            added.clear()
            items = _evidence_count(workspace_dir)

    round_no = 0
    while not _enough_rounds(round_no, ROUNDS, tally):
        one_round(round_no, rng.uniform(0, clock.at(1.2 * took)))
        round_no += 1
    # On a busy machine the write's window moves within the run: aim further rounds at the
    # delays that landed mid-write so far (or the whole run again), until three have.
    spread_rounds = round_no
    for round_no in range(spread_rounds, spread_rounds + ROUNDS // 2):
        if tally.mid_write >= 3:
            break
        low, high = (
            (0.8 * min(mid_write_delays), 1.2 * max(mid_write_delays))
            if mid_write_delays
            else (0.0, clock.at(1.2 * took))
        )
        one_round(round_no, rng.uniform(low, high))
    _cli_verify(env, seed)
    print(
        f"evidence add: {tally.killed} killed ({tally.mid_write} mid-write, {tally.landed} "
        f"after the commit), {tally.finished} finished"
    )
    assert tally.mid_write >= 3, f"seed {seed}: too few kills landed mid-write"
    assert tally.killed >= ROUNDS // 3, f"seed {seed}: too few kills landed ({tally.killed})"


@pytest.mark.slow
def test_kill_9_during_passwd(workspace_dir: Path, tmp_path: Path) -> None:
    seed = _seed()
    rng = random.Random(seed)
    env = {**os.environ, "VALISE_WORKSPACE": str(workspace_dir)}
    env.pop("VALISE_DEBUG", None)
    passphrases = [PASSPHRASE, NEW_PASSPHRASE]

    # Some evidence too, so "evidence verify" has something to check.
    source = tmp_path / "statement.txt"
    source.write_bytes(rng.randbytes(3 << 20))
    with open_workspace(workspace_dir, PASSPHRASE) as ws:
        from storage import cases

        evidence.add_evidence(ws, cases.add_case(ws, "Passphrase loop"), source)

    def change(current: str) -> tuple[str, dict[str, str]]:
        new = passphrases[1 - passphrases.index(current)]
        return new, {**env, "VALISE_PASSPHRASE": current, "VALISE_NEW_PASSPHRASE": new}

    current = PASSPHRASE
    timings = []
    for _ in range(3):
        new, run_env = change(current)
        timings.append(_time_key_file_change(run_env, workspace_dir / "workspace.key"))
        current = new
    took, replaced_at = sorted(timings)[1]
    print(f"one passwd takes {took:.2f} s; the key file is replaced at {replaced_at:.3f} s")

    # ROUNDS kills spread over the whole run, then half as many again aimed at the moment
    # the key file is replaced (a window of a few milliseconds the spread rarely hits).
    tally = Tally()
    clock = RunClock(took)
    round_no = 0
    while not _enough_rounds(round_no, ROUNDS + ROUNDS // 2, tally):
        new, run_env = change(current)
        if round_no % 3 != 2:
            delay = rng.uniform(0, clock.at(1.2 * took))
        else:
            delay = max(0.0, rng.gauss(clock.at(replaced_at), 0.015))
        outcome = _run_and_kill(run_env, delay, "passwd")
        clock.observe(outcome)
        if outcome.killed:
            tally.mid_write += bool(temp_leftovers(workspace_dir))
        now = _open_checked(workspace_dir, passphrases, seed, round_no)
        if outcome.killed:
            tally.killed += 1
            tally.landed += now == new
            assert now in (current, new)
        else:
            tally.finished += 1
            assert outcome.returncode == 0, f"seed {seed}, round {round_no}: {outcome.stderr}"
            assert now == new, f"seed {seed}, round {round_no}: passwd finished, old key kept"
        if round_no % 10 == 9:
            _cli_verify({**env, "VALISE_PASSPHRASE": now}, seed)
        current = now
        round_no += 1
    _cli_verify({**env, "VALISE_PASSPHRASE": current}, seed)
    print(
        f"passwd: {tally.killed} killed ({tally.mid_write} mid-write, {tally.landed} after "
        f"the new key file was in place), {tally.finished} finished"
    )
    assert tally.killed >= ROUNDS // 3, f"seed {seed}: too few kills landed ({tally.killed})"


def _time_rekey(env: dict[str, str], root: Path) -> tuple[float, float, float]:
    """Run rekey to the end: its duration, when its first new file appeared, and when the
    key file was replaced."""
    key = root / "workspace.key"
    before = key.stat().st_ino
    started = time.monotonic()
    process = _start(env, "rekey")
    first_file = replaced_at = None
    while process.poll() is None:
        now = time.monotonic() - started
        if first_file is None and any(root.glob("*.rekey*")):
            first_file = now
        if replaced_at is None and key.stat().st_ino != before:
            replaced_at = now
        time.sleep(0.0005)
    took = time.monotonic() - started
    _, err = process.communicate()
    assert process.returncode == 0, err.decode(errors="replace")
    return (
        took,
        took if first_file is None else first_file,
        took if replaced_at is None else replaced_at,
    )


def _database_key(root: Path) -> bytes:
    return keyfile.unseal(keyfile.read(root / "workspace.key"), encode_passphrase(PASSPHRASE))


@pytest.mark.slow
def test_kill_9_during_rekey(workspace_dir: Path, tmp_path: Path) -> None:
    """Issue 13: a `kill -9` at any moment of `valise rekey` leaves the old or the new
    workspace whole, 100 times: it opens, under the key it had or a new one, with every
    case and evidence item, its audit chain and evidence verifying, nothing left over."""
    seed = _seed()
    rng = random.Random(seed)
    env = {**os.environ, "VALISE_WORKSPACE": str(workspace_dir), "VALISE_PASSPHRASE": PASSPHRASE}
    env.pop("VALISE_DEBUG", None)
    source = tmp_path / "statement.txt"
    source.write_bytes(rng.randbytes(1 << 20))
    with open_workspace(workspace_dir, PASSPHRASE) as ws:
        from storage import cases

        for number in range(20):
            case = cases.add_case(ws, f"Rekey loop case {number}")
        evidence.add_evidence(ws, case, source)
        state = state_digest(ws.conn)

    timings = [_time_rekey(env, workspace_dir) for _ in range(3)]
    took, started_at, replaced_at = sorted(timings)[1]
    print(
        f"one rekey takes {took:.2f} s; it writes its first file at {started_at:.3f} s and"
        f" replaces the key file at {replaced_at:.3f} s"
    )

    rounds = max(ROUNDS * 2, 100) if "VALISE_CRASH_ROUNDS" not in os.environ else ROUNDS
    tally = Tally()
    clock = RunClock(took)
    round_no = 0
    while not _enough_rounds(round_no, rounds, tally):
        before = _database_key(workspace_dir)
        if round_no % 3 == 2:  # aimed at the commit, a window the spread rarely hits
            delay = rng.gauss(clock.at(replaced_at), 0.01)
        elif round_no % 6 == 1:  # aimed at the export's first bytes (an empty file once
            delay = rng.gauss(clock.at(started_at), 0.01)  # replaced the database)
        else:  # mostly while it writes (before that it only starts and unlocks)
            delay = rng.uniform(clock.at(started_at) - 0.1, clock.at(1.1 * took))
        outcome = _run_and_kill(env, max(0.0, delay), "rekey")
        clock.observe(outcome)
        if outcome.killed:
            tally.mid_write += bool(temp_leftovers(workspace_dir))
        _open_checked(workspace_dir, [PASSPHRASE], seed, round_no)
        after = _database_key(workspace_dir)
        with open_workspace(workspace_dir, PASSPHRASE) as ws:
            assert state_digest(ws.conn) == state, f"seed {seed}, round {round_no}: data changed"
        if outcome.killed:
            tally.killed += 1
            tally.landed += after != before
        else:
            tally.finished += 1
            assert outcome.returncode == 0, f"seed {seed}, round {round_no}: {outcome.stderr}"
            assert after != before, f"seed {seed}, round {round_no}: rekey finished, key kept"
        if round_no % 20 == 19:
            _cli_verify(env, seed)  # records the verification in the evidence's custody
            with open_workspace(workspace_dir, PASSPHRASE) as ws:
                state = state_digest(ws.conn)
        round_no += 1
    _cli_verify(env, seed)
    print(
        f"rekey: {round_no} rounds, runs took {clock.factor:.2f}× the calibration at the end;"
        f" {tally.killed} killed ({tally.mid_write} with files left for the next"
        f" unlock, {tally.landed} after the commit), {tally.finished} finished"
    )
    assert tally.killed >= rounds // 3, f"seed {seed}: too few kills landed ({tally.killed})"
    assert tally.mid_write >= 3, f"seed {seed}: too few kills landed mid-rekey"
    assert 0 < tally.landed < tally.killed, f"seed {seed}: kills on one side of the commit only"
