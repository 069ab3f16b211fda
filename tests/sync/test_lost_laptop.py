"""Restoring after a lost laptop: backup, keep working, export to a peer, restore the backup
into a new folder, sync with the peer. The restored office gets its own later work back,
numbering continues after it, and every restore writes in its own epoch."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import backup, cases, queries
from storage.records import Case, Note, Person
from storage.workspace import Workspace, open_workspace
from sync import trust
from sync.export import export_bundle
from sync.importer import ImportReport, import_paths
from sync.peers import peer_by_origin
from tests.conftest import PASSPHRASE
from tests.sync.conftest import Network, compare_new_keys


def _send(network: Network, sender: Workspace, receiver: Workspace) -> ImportReport:
    """A bundle from `sender` for `receiver`, imported there."""
    peer = peer_by_origin(sender, receiver.origin)
    assert peer is not None
    result = export_bundle(sender, [peer], network.new_stick())
    reports = import_paths(receiver, [result.head])
    assert len(reports) == 1
    assert reports[0].status == "imported", reports[0].message
    return reports[0]


@pytest.fixture
def opened(tmp_path: Path) -> Iterator[list[Workspace]]:
    """Restored workspaces opened by a test, closed after it."""
    found: list[Workspace] = []
    yield found
    for ws in found:
        ws.close()


def _restore(source: Path, root: Path, opened: list[Workspace]) -> Workspace:
    backup.restore_backup(source, root, PASSPHRASE)
    ws = open_workspace(root, PASSPHRASE)
    opened.append(ws)
    return ws


def _shared_case_then_backup(network: Network, tmp_path: Path) -> tuple[str, Path]:
    """Kabora opens a case, shares it with Dressa and sends it, then writes a backup."""
    kabora = network.ws["kabora"]
    case_id = cases.add_case(kabora, "Shelling of Kabora market")
    network.share("kabora", case_id, "dressa")
    _send(network, kabora, network.ws["dressa"])
    saved = tmp_path / "kabora.valise-backup"
    backup.write_backup(kabora, saved)
    return case_id, saved


def test_backup_keep_working_export_restore_and_sync_brings_the_work_back(
    network: Network, tmp_path: Path, opened: list[Workspace]
) -> None:
    kabora, dressa = network.ws["kabora"], network.ws["dressa"]
    first, saved = _shared_case_then_backup(network, tmp_path)

    # Kept working on the laptop that will be lost: a case, a note, a protected witness.
    later = cases.add_case(kabora, "Killings at the Dressa checkpoint")
    note = cases.add_note(kabora, later, "The driver saw two trucks")
    witness = cases.add_person(kabora, later, "witness", name="Amina K.", protected=True)
    network.share("kabora", later, "dressa")
    _send(network, kabora, dressa)
    reply = cases.add_note(dressa, later, "Dressa holds the checkpoint log")
    references = [queries.get(kabora.conn, Case, c).reference for c in (first, later)]
    assert [r[-4:] for r in references] == ["0001", "0002"]

    restored = _restore(saved, tmp_path / "restored", opened)
    assert restored.epoch != kabora.epoch
    assert restored.awaiting_own_work
    _send(network, restored, dressa)  # tells Dressa what the restored office holds
    report = _send(network, dressa, restored)
    assert not restored.awaiting_own_work

    assert report.parked == 0, report.parked_reasons
    assert queries.get(restored.conn, Case, later).reference == references[1]
    assert queries.get(restored.conn, Note, note).text == "The driver saw two trucks"
    assert queries.get(restored.conn, Note, reply).text == "Dressa holds the checkpoint log"
    back = queries.get(restored.conn, Person, witness)
    assert back.pseudonym == "W-0001" and back.legal_name == "Amina K."
    assert not restored.conn.execute("SELECT 1 FROM parked_changesets").fetchall()

    # Numbering continues after what came back, and the restored office's work flows on.
    third = cases.add_case(restored, "Looting of the Kabora clinic")
    assert queries.get(restored.conn, Case, third).reference.endswith("-0003")
    second_witness = cases.add_person(restored, later, "witness", name="B. T.", protected=True)
    assert queries.get(restored.conn, Person, second_witness).pseudonym == "W-0002"
    cases.add_note(restored, later, "Asked Dressa for the log")
    report = _send(network, restored, dressa)
    assert report.changesets >= 2 and report.quarantined == 0, report.quarantine_reasons

    # A second restore of the same backup writes in an epoch of its own.
    again = _restore(saved, tmp_path / "restored-again", opened)
    assert again.epoch not in (kabora.epoch, restored.epoch)


def test_one_backup_restored_twice_gives_two_epochs_whose_changes_both_flow(
    network: Network, tmp_path: Path, opened: list[Workspace]
) -> None:
    dressa = network.ws["dressa"]
    shared, saved = _shared_case_then_backup(network, tmp_path)

    one = _restore(saved, tmp_path / "one", opened)
    two = _restore(saved, tmp_path / "two", opened)
    assert one.epoch != two.epoch
    cases.add_note(one, shared, "Written on the first copy")
    cases.add_note(two, shared, "Written on the second copy")

    for copy in (one, two):
        report = _send(network, copy, dressa)
        assert report.changesets == 1 and report.quarantined == 0, report.quarantine_reasons
    for copy in (one, two):
        cases.add_note(copy, shared, f"Later, epoch {copy.epoch}")
        report = _send(network, copy, dressa)
        assert report.changesets == 1 and report.quarantined == 0, report.quarantine_reasons
    texts = {n.text for n in queries.in_case(dressa.conn, Note, shared)}
    assert {"Written on the first copy", "Written on the second copy"} <= texts
    assert {f"Later, epoch {one.epoch}", f"Later, epoch {two.epoch}"} <= texts


def test_the_readme_procedure_restore_rotate_and_sync_brings_the_work_back(
    network: Network, tmp_path: Path, opened: list[Workspace]
) -> None:
    """After a lost laptop: restore, `identity rotate`, then sync with the peer twice. The
    changes the old key made after the backup come back and verify under the retired key,
    and the office carries on under its new key."""
    kabora, dressa = network.ws["kabora"], network.ws["dressa"]
    saved = tmp_path / "kabora.valise-backup"
    backup.write_backup(kabora, saved)
    later = cases.add_case(kabora, "Killings at the Dressa checkpoint")
    note = cases.add_note(kabora, later, "The driver saw two trucks")
    network.share("kabora", later, "dressa")
    _send(network, kabora, dressa)
    reply = cases.add_note(dressa, later, "Dressa holds the checkpoint log")

    restored = _restore(saved, tmp_path / "restored", opened)
    old_origin = restored.origin
    trust.rotate_identity(restored)
    assert restored.origin != old_origin
    result = export_bundle(
        restored,
        [peer_by_origin(restored, dressa.origin)],
        network.new_stick(),  # type: ignore[list-item]
    )
    [kept] = import_paths(dressa, [result.head])
    assert kept.status == "parked"  # the new keys are on probation at Dressa
    [read] = compare_new_keys(dressa, restored.origin)
    assert read.status == "imported", read.message
    report = _send(network, dressa, restored)

    assert report.parked == 0 and report.quarantined == 0, report
    assert queries.get(restored.conn, Note, note).text == "The driver saw two trucks"
    assert queries.get(restored.conn, Note, reply).text == "Dressa holds the checkpoint log"
    cases.add_note(restored, later, "Under the new key")
    report = _send(network, restored, dressa)
    assert report.changesets == 1 and report.quarantined == 0, report.quarantine_reasons
    texts = {n.text for n in queries.in_case(dressa.conn, Note, later)}
    assert "Under the new key" in texts


def test_a_copy_of_this_workspace_writing_in_its_epoch_makes_it_start_a_new_one(
    network: Network, tmp_path: Path, opened: list[Workspace]
) -> None:
    """A cloned disk (or a folder copied by hand) writes in the same epoch as the original:
    once one of its changesets arrives, the original writes in a new epoch, so the two
    never give one (origin, epoch, seq) to two different changesets."""
    kabora, dressa = network.ws["kabora"], network.ws["dressa"]
    shared = cases.add_case(kabora, "Shelling of Kabora market")
    network.share("kabora", shared, "dressa")
    _send(network, kabora, dressa)
    _send(network, dressa, kabora)
    kabora.close()
    shutil.copytree(kabora.paths.root, tmp_path / "clone")
    kabora = open_workspace(kabora.paths.root, PASSPHRASE)
    network.ws["kabora"] = kabora
    clone = open_workspace(tmp_path / "clone", PASSPHRASE)
    opened.append(clone)
    epoch = kabora.epoch
    assert clone.epoch == epoch

    cases.add_note(clone, shared, "Written on the clone")
    _send(network, clone, dressa)
    _send(network, kabora, dressa)  # Dressa cannot tell the two apart: it learns anew
    report = _send(network, dressa, kabora)  # what "Kabora" holds, and sends the note
    assert report.changesets == 1
    assert kabora.epoch != epoch
    assert kabora.meta("epoch_prev") == str(epoch)

    cases.add_note(kabora, shared, "Written on the original")
    cases.add_note(clone, shared, "Written on the clone again")
    for copy in (kabora, clone):
        report = _send(network, copy, dressa)
        assert report.quarantined == 0, report.quarantine_reasons
    texts = {n.text for n in queries.in_case(dressa.conn, Note, shared)}
    assert {"Written on the original", "Written on the clone again"} <= texts
