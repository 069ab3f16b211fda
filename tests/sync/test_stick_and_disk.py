"""A stick pulled out and a full disk, on either side: never half a bundle, never a change.

A full disk is a real one (a small tmpfs, when this process may mount; skipped otherwise);
a pulled stick is an I/O error injected where the bytes are read or written.
"""

from __future__ import annotations

import errno
import os
import random
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from storage import cases, evidence, queries
from storage.digest import state_digest
from storage.workspace import open_workspace
from sync import export as export_module
from sync import importer as importer_module
from sync.bundle_format import BUNDLE_FOLDER
from sync.errors import SyncError
from sync.usb import sync_usb
from tests.conftest import PASSPHRASE
from tests.desktop.clitools import valise
from tests.sync.conftest import Network
from tests.sync.test_projection import release


def _case_with_evidence(network: Network, tmp_path: Path, megabytes: int) -> str:
    kabora = network.ws["kabora"]
    case_id = cases.add_case(kabora, "Case with evidence")
    for n in range(3):
        cases.add_note(kabora, case_id, f"note {n}")
    path = tmp_path / "evidence.bin"
    path.write_bytes(random.Random(7).randbytes(megabytes * 1_000_000))
    evidence.add_evidence(kabora, case_id, path)
    network.share("kabora", case_id, "liaison")
    return case_id


def _snapshot(network: Network, name: str) -> tuple[str, int]:
    ws = network.ws[name]
    outgoing = ws.conn.execute("SELECT count(*) FROM bundles_out").fetchone()[0]
    return state_digest(ws.conn), int(outgoing)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs; skipped where this process may not mount one."""
    target = tmp_path / "small-disk"
    target.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(target)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


def test_a_full_stick_leaves_nothing_and_changes_nothing(
    network: Network, tmp_path: Path, small_disk: Path
) -> None:
    _case_with_evidence(network, tmp_path, 4)
    before = _snapshot(network, "kabora")
    with pytest.raises(SyncError, match="No space left on device"):
        network.export("kabora", "liaison", stick=small_disk)
    assert list((small_disk / BUNDLE_FOLDER).iterdir()) == []
    assert _snapshot(network, "kabora") == before


def test_a_stick_pulled_out_mid_export_leaves_no_bundle(
    network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _case_with_evidence(network, tmp_path, 3)
    before = _snapshot(network, "kabora")
    real_write_part = export_module.write_part
    calls = {"n": 0}

    def failing_write_part(*args: object) -> object:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(errno.EIO, "Input/output error")
        return real_write_part(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(export_module, "write_part", failing_write_part)
    stick = network.new_stick()
    with pytest.raises(SyncError, match="Input/output error"):
        export_module.export_bundle(
            network.ws["kabora"], [network.peer("kabora", "liaison")], stick, part_size=1 << 20
        )
    assert list((stick / BUNDLE_FOLDER).iterdir()) == []
    assert _snapshot(network, "kabora") == before


def test_parts_without_their_head_import_as_nothing(network: Network, tmp_path: Path) -> None:
    _case_with_evidence(network, tmp_path, 1)
    result = network.export("kabora", "liaison")
    result.head.unlink()  # the stick was pulled before the head was written
    before = state_digest(network.ws["liaison"].conn)
    assert network.receive("liaison", result.head.parent.parent) == []
    assert state_digest(network.ws["liaison"].conn) == before


def test_a_stick_pulled_out_mid_import_changes_nothing(
    network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _case_with_evidence(network, tmp_path, 3)
    result = network.export("kabora", "liaison")
    liaison = network.ws["liaison"]
    before = state_digest(liaison.conn)
    real_open = importer_module._open_part

    def failing_open(path: Path) -> object:
        return _FailsAfter(real_open(path), 1_500_000)

    monkeypatch.setattr(importer_module, "_open_part", failing_open)
    report = network.receive("liaison", result.head)[0]
    assert report.status == "failed"
    assert "was the stick removed?" in report.message
    assert state_digest(liaison.conn) == before
    assert [p for p in liaison.blobs.stored_names() if p.name.endswith(".partial")] == []
    monkeypatch.undo()
    assert network.receive("liaison", result.head)[0].status == "imported"


class _FailsAfter:
    """A part file whose device goes away after `limit` bytes."""

    def __init__(self, handle: Any, limit: int) -> None:
        self._handle = handle
        self._left = limit

    def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            raise OSError(errno.EIO, "Input/output error")
        data = self._handle.read(n if n >= 0 else self._left)
        self._left -= len(data)
        return bytes(data)

    def fileno(self) -> int:
        return int(self._handle.fileno())

    def __enter__(self) -> _FailsAfter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()


def test_a_full_workspace_disk_mid_import_changes_nothing(
    network: Network, tmp_path: Path, small_disk: Path
) -> None:
    _case_with_evidence(network, tmp_path, 3)
    result = network.export("kabora", "liaison")
    liaison = network.ws["liaison"]
    liaison.close()
    # The liaison's workspace moves onto the small disk (it fits; the evidence will not).
    root = small_disk / "liaison"
    shutil.copytree(liaison.paths.root, root)
    with open_workspace(root, PASSPHRASE) as ws:
        before = state_digest(ws.conn)
        report = importer_module.import_bundle(ws, result.head)
        assert report.status == "failed", report.message
        assert "disk full" in report.message
        assert state_digest(ws.conn) == before
        assert [p.name for p in ws.blobs.stored_names()] == []


# -- sync usb with a stick too small for one of its bundles ---------------------------------


def _liaison_with_news_for_three(network: Network, tmp_path: Path, stick: Path) -> Path:
    """On `stick`, a bundle from Kabora for the liaison; at the liaison, news for Dressa and
    the NGO that fits on the stick and, for Kabora (between them by name), a case with
    evidence that does not. Returns the head of Kabora's bundle."""
    kabora_case = cases.add_case(network.ws["kabora"], "Case from Kabora")
    network.share("kabora", kabora_case, "liaison")
    from_kabora = network.export("kabora", "liaison", stick=stick).head
    liaison = network.ws["liaison"]
    for name in ("dressa", "ngo"):
        case_id = cases.add_case(liaison, f"Case for {name}")
        network.share("liaison", case_id, name)
    big = cases.add_case(liaison, "Case with evidence for Kabora")
    path = tmp_path / "large.bin"
    path.write_bytes(random.Random(3).randbytes(3_000_000))
    evidence.add_evidence(liaison, big, path)
    network.share("liaison", big, "kabora")
    return from_kabora


def _expected_steps(from_kabora: Path, stick: Path) -> list[str]:
    """Every line `sync usb` must report, as patterns ({head} is a bundle's file name)."""
    head = r"[0-9a-f]{32}\.head\.age"
    return [
        rf"Imported {from_kabora.name} from Kabora field office: 2 changesets in 1 case,"
        r" 0 evidence files\.",
        rf"Removed {from_kabora.name} from the stick: it was for us alone\.",
        r"Wrote a bundle for Dressa field office: 2 changesets, 0 evidence files,"
        rf" [\d,]+ bytes \({head}\)\.",
        r"FAILED writing a bundle for Kabora field office: Writing the bundle for Kabora"
        rf" field office to {re.escape(str(stick))} failed \(No space left on device\); none"
        r" of its files were left there\.",
        # The NGO's is the liaison's projection of the case: one changeset.
        r"Wrote a bundle for Varosa Documentation Project: 1 changeset, 0 evidence"
        rf" files, [\d,]+ bytes \({head}\)\.",
    ]


def test_sync_usb_on_a_full_stick_reports_every_step_and_goes_on(
    network: Network, tmp_path: Path, small_disk: Path
) -> None:
    from_kabora = _liaison_with_news_for_three(network, tmp_path, small_disk)
    outcome = sync_usb(network.ws["liaison"], small_disk)

    lines = [step.text for step in outcome.steps]
    patterns = _expected_steps(from_kabora, small_disk)
    assert len(lines) == len(patterns), lines
    for line, pattern in zip(lines, patterns, strict=True):
        assert re.fullmatch(pattern, line), (line, pattern)
    assert [s.ok for s in outcome.steps] == [True, True, True, False, True]
    assert outcome.headline() == (
        "Synced: 1 bundle imported, 2 bundles written; 1 step FAILED (see above)."
    )
    written = {p.office_name: r.head for r in outcome.exported for p in r.recipients}
    assert set(written) == {"Dressa field office", "Varosa Documentation Project"}
    # Nothing of Kabora's bundle is on the stick: every file belongs to a written bundle.
    expected = set()
    for result in outcome.exported:
        expected |= {p.name for p in result.files}
    assert {p.name for p in (small_disk / BUNDLE_FOLDER).iterdir()} == expected
    # The bundle written before the failure is whole: Dressa imports it.
    reports = {r.head: r for r in network.receive("dressa", small_disk)}
    assert reports[written["Dressa field office"]].status == "imported"
    assert reports[written["Varosa Documentation Project"]].status == "not for us"
    assert [c.title for c in queries.list_cases(network.ws["dressa"].conn)] == ["Case for dressa"]


def test_sync_usb_command_on_a_full_stick_prints_every_step_and_exits_1(
    network: Network, tmp_path: Path, small_disk: Path
) -> None:
    from_kabora = _liaison_with_news_for_three(network, tmp_path, small_disk)
    liaison = network.ws["liaison"]
    liaison.close()
    env = {**os.environ, "VALISE_WORKSPACE": str(liaison.paths.root)}
    env["VALISE_PASSPHRASE"] = PASSPHRASE
    result = valise(env, "sync", "usb", small_disk)

    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    patterns = _expected_steps(from_kabora, small_disk)
    assert len(lines) == len(patterns), result.stdout
    for line, pattern in zip(lines, patterns, strict=True):
        assert re.fullmatch(pattern, line), (line, pattern)
    assert result.stderr.splitlines() == [
        "valise: Synced: 1 bundle imported, 2 bundles written; 1 step FAILED (see above)."
    ]
    reports = network.receive("dressa", small_disk)
    assert sorted(r.status for r in reports) == ["imported", "not for us"]
    assert [c.title for c in queries.list_cases(network.ws["dressa"].conn)] == ["Case for dressa"]
    files = sorted((small_disk / BUNDLE_FOLDER).iterdir())
    assert len([f for f in files if f.name.endswith(".head.age")]) == 2, files
    assert not [f for f in files if not f.name.endswith((".head.age", ".part.age"))], files


def test_one_export_for_two_groups_on_a_full_stick_keeps_the_bundle_that_fits(
    network: Network, tmp_path: Path, small_disk: Path
) -> None:
    """The liaison's bundle fits and is kept whole; the NGO's does not and leaves nothing;
    the command prints the head written, says which failed and why, and exits 1."""
    kabora = network.ws["kabora"]
    small = cases.add_case(kabora, "Case for the liaison")
    network.share("kabora", small, "liaison")
    big = cases.add_case(kabora, "Case with evidence for the NGO")
    path = tmp_path / "large.bin"
    path.write_bytes(random.Random(5).randbytes(3_000_000))
    item = evidence.add_evidence(kabora, big, path)
    release(kabora, big, item, network.ws["ngo"].origin, with_file_name=False)  # so it travels
    network.share("kabora", big, "ngo")
    kabora.close()
    env = {**os.environ, "VALISE_WORKSPACE": str(kabora.paths.root)}
    env["VALISE_PASSPHRASE"] = PASSPHRASE
    to = [network.ws[name].origin[:16] for name in ("liaison", "ngo")]
    result = valise(env, "bundle", "export", "--to", to[0], "--to", to[1], "--out", small_disk)

    assert result.returncode == 1, result.stderr
    [head] = [Path(line) for line in result.stdout.splitlines()]
    assert result.stderr.splitlines()[-1] == (
        "valise: Wrote 1 bundle: one for Tribunal liaison (full identities). FAILED writing"
        " the one for Varosa Documentation Project (pseudonyms only): Writing the bundle for"
        f" Varosa Documentation Project to {small_disk} failed (No space left on device);"
        " none of its files were left there."
    )
    names = {p.name for p in (small_disk / BUNDLE_FOLDER).iterdir()}
    assert head.name in names and len(names) == 2  # the liaison's head and its one part
    assert [r.status for r in network.receive("liaison", small_disk)] == ["imported"]
    assert network.receive("ngo", small_disk)[0].status == "not for us"
    assert [c.title for c in queries.list_cases(network.ws["ngo"].conn)] == []
