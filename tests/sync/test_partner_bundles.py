"""A partner's bundle carries only what a partner may send: the changes it signed itself.

A partner (ngo, defence) receives a projection from every member of a case, never another
office's raw changesets, so for such a case its bundle may carry its own changesets only
(sync.partner_bundles). Each attack is a real bundle written by the NGO's own export,
made hostile the way a tampered installation would: with rows put into its database
(what it obtained elsewhere) or with its export told to forget that a projection is not
to be passed on. Each leaves the office as it was (`state_digest`, the evidence store)
and says why in a sentence.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from bench.bundle_mutations import blob_store_listing
from desktop.commands.sync_cmds import describe
from storage import audit, cases, queries
from storage.digest import state_digest
from storage.evidence import add_evidence
from storage.records import Case, Evidence, Note
from storage.workspace import Workspace
from sync import export as export_module
from tests.sync.conftest import Network
from tests.sync.test_projection import import_ok
from ui.sync_center import describe_report

NGO = re.escape("Varosa Documentation Project") + r" \(ngo, \d{5}…\)"
NOT_TAKEN = (
    r"Not taken: {who} passed on {count} of case {case} signed by {signer}; a partner passes"
    r" on only the changes it signed itself, so these were left out and the rest of its"
    r" bundle was imported\."
)


def _kabora_case_with_the_ngo_and_dressa(network: Network) -> str:
    """Kabora's case, granted to Dressa (office) and the NGO, delivered to both."""
    kabora = network.ws["kabora"]
    case_id = cases.add_case(kabora, "Burning of the Hallow mill")
    cases.add_person(kabora, case_id, "witness", protected=True, name="Quilla Marrowby")
    network.share("kabora", case_id, "dressa", "ngo")
    import_ok(network, "dressa", network.export("kabora", "dressa").head)
    import_ok(network, "ngo", network.export("kabora", "ngo").head)
    network.send("ngo", "kabora")  # its receipt of what it got, if any
    return case_id


def _reference(ws: Workspace, case_id: str) -> str:
    return re.escape(queries.get(ws.conn, Case, case_id).reference)


def _copy_changesets(source: Workspace, target: Workspace, origin: str) -> list[str]:
    """Put every changeset `origin` signed, as `source` holds it, into `target`'s history
    unapplied (what a partner that obtained them some other way would hold); returns ids."""
    columns = [str(r[1]) for r in source.conn.execute("PRAGMA table_info(changesets)")]
    rows = source.conn.execute(
        f"SELECT {', '.join(columns)} FROM changesets WHERE origin = ?", (origin,)
    ).fetchall()
    with target.transaction() as conn:
        conn.executemany(
            f"INSERT OR IGNORE INTO changesets({', '.join(columns)})"
            f" VALUES ({', '.join('?' * len(columns))})",
            rows,
        )
    return [str(row[columns.index("id")]) for row in rows]


def _copy_blob(source: Workspace, target: Workspace, sha: str) -> None:
    """Put an evidence file `source` holds into `target`'s store, as it is there."""
    row = source.conn.execute(
        "SELECT sha256, size, store_name, blob_key, stored_at FROM blobs WHERE sha256 = ?", (sha,)
    ).fetchone()
    destination = target.blobs.path_of(str(row[2]))
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source.blobs.path_of(str(row[2])), destination)
    with target.transaction() as conn:
        conn.execute("INSERT INTO blobs VALUES (?,?,?,?,?)", tuple(row))


def _not_taken_entries(ws: Workspace) -> list[str]:
    return [e.action for e in audit.entries(ws.conn, action="changesets not taken")]


def test_partner_forwarding_the_offices_projection_back_changes_nothing(
    network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The NGO's export is told to pass on the projection Kabora wrote for it, and to
    believe Kabora lacks it: Kabora takes none of it, says so, and is unchanged."""
    kabora, ngo = network.ws["kabora"], network.ws["ngo"]
    case_id = _kabora_case_with_the_ngo_and_dressa(network)
    projected = ngo.conn.execute(
        "SELECT count(*) FROM changesets WHERE origin = ?", (kabora.origin,)
    ).fetchone()[0]
    assert projected >= 1
    monkeypatch.setattr(export_module, "projected_for", lambda author: None)
    with ngo.transaction() as conn:
        conn.execute("UPDATE peers SET holdings = ?", (json.dumps({ngo.origin: []}),))
    hostile = network.export("ngo", "kabora")
    assert hostile.changesets >= projected
    before = (state_digest(kabora.conn), blob_store_listing(kabora))

    [report] = network.receive("kabora", hostile.head)

    assert report.status == "imported", report.message
    assert (report.changesets, report.duplicates, report.quarantined) == (0, 0, 0), report
    sentence = NOT_TAKEN.format(
        who=NGO,
        count=rf"{projected} changesets?",
        case=_reference(kabora, case_id),
        signer=re.escape("this office (its own work, or the projection it wrote for the partner)"),
    )
    assert [s for s in report.not_taken if re.fullmatch(sentence, s)], report.not_taken
    assert (state_digest(kabora.conn), blob_store_listing(kabora)) == before
    assert kabora.conn.execute("SELECT 1 FROM quarantine").fetchone() is None
    assert _not_taken_entries(kabora) == ["changesets not taken"]
    assert json.loads(json.dumps(report.to_json()))["not_taken"] == report.not_taken
    assert report.not_taken[0] in describe(report)  # what `valise bundle import` prints
    assert report.not_taken[0] in describe_report(report, {})  # and the sync centre shows


def test_partner_bundle_carrying_another_offices_changeset_is_refused(
    network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dressa adds an evidence item to Kabora's case; before Dressa's bundle reaches
    Kabora, the NGO obtains that changeset and its file and passes them on in its own
    bundle. Kabora takes neither (not the record, not the file) and says why; Dressa's
    own bundle then brings the same changeset, which applies: only the courier was wrong."""
    kabora, dressa, ngo = network.ws["kabora"], network.ws["dressa"], network.ws["ngo"]
    case_id = _kabora_case_with_the_ngo_and_dressa(network)
    photo = tmp_path / "checkpoint.jpg"
    photo.write_bytes(b"Dressa's photograph of the Hallow checkpoint")
    item = add_evidence(dressa, case_id, photo)
    sha = queries.get(dressa.conn, Evidence, item).sha256
    carried = _copy_changesets(dressa, ngo, dressa.origin)
    _copy_blob(dressa, ngo, sha)
    # (The tampered NGO records no custody of a file whose record it never applied.)
    monkeypatch.setattr(export_module, "record_handoff", lambda *args: None)
    hostile = network.export("ngo", "kabora")
    monkeypatch.undo()
    assert hostile.changesets >= 1 and hostile.evidence == 1
    before = (state_digest(kabora.conn), blob_store_listing(kabora))

    [report] = network.receive("kabora", hostile.head)

    assert report.status == "imported", report.message
    assert (report.changesets, report.quarantined, report.evidence) == (0, 0, 0), report
    dressa_words = re.escape("Dressa field office") + r" \(office, \d{5}…\)"
    sentence = NOT_TAKEN.format(
        who=NGO, count=r"\d+ changesets?", case=_reference(kabora, case_id), signer=dressa_words
    )
    assert [s for s in report.not_taken if re.fullmatch(sentence, s)], report.not_taken
    assert (state_digest(kabora.conn), blob_store_listing(kabora)) == before
    assert kabora.conn.execute("SELECT 1 FROM blobs WHERE sha256 = ?", (sha,)).fetchone() is None
    assert len(carried) >= 1

    # Positive control: from Dressa itself, the same changeset and file are welcome.
    direct = network.send("dressa", "kabora")
    assert direct.status == "imported" and direct.quarantined == 0, direct
    assert queries.get(kabora.conn, Evidence, item).sha256 == sha


def test_partner_bundle_keeps_its_own_work_and_leaves_out_what_it_passes_on(
    network: Network,
) -> None:
    """In the same bundle as Dressa's changeset, the NGO's own note: the note applies."""
    kabora, dressa, ngo = network.ws["kabora"], network.ws["dressa"], network.ws["ngo"]
    case_id = _kabora_case_with_the_ngo_and_dressa(network)
    incident = cases.add_incident(dressa, case_id, "Dressa's account of the Hallow mill")
    _copy_changesets(dressa, ngo, dressa.origin)
    note = cases.add_note(ngo, case_id, "Spoke to the miller's family")

    report = network.send("ngo", "kabora")

    assert report.status == "imported" and report.quarantined == 0, report
    assert len(report.not_taken) == 1 and "Dressa field office" in report.not_taken[0]
    assert queries.get(kabora.conn, Note, note).text == "Spoke to the miller's family"
    assert (
        kabora.conn.execute("SELECT 1 FROM incidents WHERE id = ?", (incident,)).fetchone() is None
    )
