"""Full-text search and backups."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from storage import backup, cases, epochs, evidence, queries, search
from storage.digest import state_digest
from storage.errors import InvalidInput, WorkspaceExists, WorkspaceFileError, WrongPassphrase
from storage.records import Case, Note
from storage.workspace import Workspace, open_workspace
from tests.conftest import PASSPHRASE


def test_search_finds_every_kind_with_its_case(ws: Workspace, tmp_path: Path) -> None:
    case_id = cases.add_case(ws, "Mirani checkpoint detentions", "Men taken at the bridge")
    cases.add_person(
        ws, case_id, "witness", name="Tomas Ferreira", protected=True, pseudonym="W-0042"
    )
    cases.add_incident(ws, case_id, "Detention at the bridge", location="Mirani bridge")
    cases.add_element(ws, case_id, "Imprisonment", "Deprivation of liberty at the bridge")
    cases.add_note(ws, case_id, "Ask about the bridge ledger", klass="privileged")
    sample = tmp_path / "ledger.pdf"
    sample.write_bytes(b"%PDF-1.4 fake")
    evidence.add_evidence(ws, case_id, sample, description="Bridge ledger scan")
    hits = search.search(ws.conn, "bridge")
    assert {h.entity for h in hits} == {"case", "incident", "element", "note", "evidence"}
    assert all(h.case_id == case_id and h.case_reference.startswith("VAR-KAB-") for h in hits)
    assert [h.entity for h in search.search(ws.conn, "W-0042")] == ["person"]
    assert [h.entity for h in search.search(ws.conn, "ferreira")] == ["person"]
    assert search.search(ws.conn, "Mira")  # prefixes match


def test_search_follows_edits_and_withdrawals(ws: Workspace) -> None:
    case_id = cases.add_case(ws, "Pillage of the granary")
    cases.update_case(ws, case_id, title="Destruction of the granary")
    assert search.search(ws.conn, "pillage") == []
    assert len(search.search(ws.conn, "destruction")) == 1
    note_id = cases.add_note(ws, case_id, "granary keeper statement")
    cases.withdraw(ws, Note, note_id)
    assert {h.entity for h in search.search(ws.conn, "granary")} == {"case"}


@pytest.mark.parametrize("query", ['"NEAR(', "a OR", "title:x", "*", "(((", "'", "NOT x", "é"])
def test_search_text_is_never_parsed_as_query_syntax(ws: Workspace, query: str) -> None:
    cases.add_case(ws, "Ordinary case")
    try:
        search.search(ws.conn, query)
    except InvalidInput as exc:
        assert "word" in str(exc)


def test_search_ranks_the_better_match_first(ws: Workspace) -> None:
    weak = cases.add_case(ws, "Market", "A report")
    strong = cases.add_case(
        ws, "Kabora market shelling", "Shelling of Kabora market, shelling again"
    )
    hits = search.search(ws.conn, "kabora shelling")
    assert [h.entity_id for h in hits] == [strong]
    assert weak not in [h.entity_id for h in hits]


def test_backup_and_restore_round_trip_into_a_new_epoch(ws: Workspace, tmp_path: Path) -> None:
    case_id = cases.add_case(ws, "Backed up", "summary")
    sample = tmp_path / "photo.jpg"
    sample.write_bytes(b"\xff\xd8" + bytes(300_000))
    evidence.add_evidence(ws, case_id, sample)
    digest = state_digest(ws.conn)
    out = tmp_path / "valise.backup"
    summary = backup.write_backup(ws, out)
    assert summary.evidence_files == 1
    with pytest.raises(InvalidInput, match="already exists"):
        backup.write_backup(ws, out)
    target = tmp_path / "restored"
    result = backup.restore_backup(out, target, PASSPHRASE)
    assert result.epoch > ws.epoch
    with pytest.raises(WorkspaceExists):
        backup.restore_backup(out, target, PASSPHRASE)
    with open_workspace(target, PASSPHRASE) as restored:
        assert state_digest(restored.conn) == digest
        assert all(r.ok for r in evidence.verify_all(restored, record=False))
        cases.update_case(restored, case_id, title="After restore")
        last = restored.conn.execute(
            "SELECT epoch, seq FROM changesets ORDER BY epoch DESC, seq DESC LIMIT 1"
        ).fetchone()
        assert tuple(last) == (result.epoch, 1)
        assert restored.verify_audit().ok
        assert queries.get(restored.conn, Case, case_id).title == "After restore"


def test_restoring_one_backup_twice_gives_each_copy_an_epoch_of_its_own(
    ws: Workspace, tmp_path: Path
) -> None:
    """Two copies writing "epoch 1, change 1" would be a fork at every peer."""
    out = tmp_path / "valise.backup"
    backup.write_backup(ws, out)
    first = backup.restore_backup(out, tmp_path / "one", PASSPHRASE)
    second = backup.restore_backup(out, tmp_path / "two", PASSPHRASE)
    assert len({ws.epoch, first.epoch, second.epoch}) == 3
    assert min(first.epoch, second.epoch) > ws.epoch
    with open_workspace(tmp_path / "one", PASSPHRASE) as one:
        assert one.epoch == first.epoch and one.meta("epoch_prev") == str(ws.epoch)


def test_a_fresh_epoch_ranks_after_its_backup_and_after_earlier_restores() -> None:
    """Revocations say "after change N of epoch E": a later restore must rank after."""
    earlier = epochs.fresh_epoch(0, now=lambda: 1_800_000_000)
    later = epochs.fresh_epoch(0, now=lambda: 1_800_000_001)
    assert 0 < earlier < later < epochs.EPOCH_LIMIT
    assert epochs.fresh_epoch(later, now=lambda: 0) > later  # a clock set back
    with pytest.raises(InvalidInput, match="limit"):
        epochs.fresh_epoch(epochs.EPOCH_LIMIT - 1)


def test_restore_with_the_wrong_passphrase_leaves_nothing(ws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "valise.backup"
    backup.write_backup(ws, out)
    with pytest.raises(WrongPassphrase):
        backup.restore_backup(out, tmp_path / "restored", "not the right passphrase")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["valise.backup", "ws"]


@pytest.mark.parametrize("kind", ["random", "truncated", "traversal", "extra member", "empty"])
def test_restore_refuses_damaged_or_hostile_backups(
    ws: Workspace, tmp_path: Path, kind: str
) -> None:
    good = tmp_path / "good.backup"
    backup.write_backup(ws, good)
    bad = tmp_path / "bad.backup"
    if kind == "random":
        bad.write_bytes(bytes(range(256)) * 50)
    elif kind == "truncated":
        bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif kind == "empty":
        bad.write_bytes(b"")
    else:
        with tarfile.open(good) as src, tarfile.open(bad, "w") as dst:
            for member in src.getmembers():
                dst.addfile(member, src.extractfile(member))
            evil = tarfile.TarInfo("../escaped" if kind == "traversal" else "blobs/notes.txt")
            evil.size = 4
            import io

            dst.addfile(evil, io.BytesIO(b"evil"))
    with pytest.raises(WorkspaceFileError, match="not a Valise backup"):
        backup.restore_backup(bad, tmp_path / "restored", PASSPHRASE)
    assert not (tmp_path / "restored").exists()
    assert not (tmp_path / "escaped").exists()
    assert not [p for p in tmp_path.iterdir() if "restore" in p.name]


def test_function_words_are_left_out_unless_nothing_else_remains(ws: Workspace) -> None:
    case_id = cases.add_case(ws, "Siege of the hospital")
    assert [h.entity_id for h in search.search(ws.conn, "the hospital")] == [case_id]
    assert [h.entity_id for h in search.search(ws.conn, "of the")] == [case_id]


def test_too_many_matches_come_newest_first_and_say_so(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "RANK_LIMIT", 3)
    case_id = cases.add_case(ws, "Convoy case")
    notes = [cases.add_note(ws, case_id, f"convoy sighting number {n}") for n in range(5)]
    results = search.search_results(ws.conn, "convoy", limit=2)
    assert results.many and not results.ranked
    assert [h.entity_id for h in results.hits] == [notes[4], notes[3]]
    few = search.search_results(ws.conn, "number", limit=10)
    assert few.many  # five notes match, above the (patched) limit of three


def test_a_word_start_fills_up_after_whole_words(ws: Workspace) -> None:
    case_id = cases.add_case(ws, "Kabora")
    longer = cases.add_note(ws, case_id, "Kaboranese militia")
    hits = [h.entity_id for h in search.search(ws.conn, "kabora")]
    assert hits == [case_id, longer]
