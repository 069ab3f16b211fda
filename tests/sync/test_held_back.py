"""Changes a peer signs that must not be applied as they come, and how their signer is shown.

Why: a signature proves whose key wrote a changeset, not that the changeset is sound. An
office running an old or tampered copy of Valise (or a thief holding its key) can put a
protected witness's legal name in the signed body in clear, so that every office forwarding
it hands the name on; it can stamp its changes years ahead so they win every conflict; it
can type any name as the actor of a custody event, and back-date it to head the chain.

Each attack is made with real workspaces and real bundles: the attacker's changeset is
signed by hand with its real key, slipped into its own history, and exported by the real
export. Every attacker here owns the case it writes in, so no rule about who may write where
refuses it first: what refuses it (or shows it for what it is) is the rule under test.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from storage import apply as apply_module
from storage import cases, evidence, queries
from storage.apply import ALLOWED_DRIFT_MS, ClockAhead, apply_changeset
from storage.changesets import Changeset, Op, changeset_id, decode
from storage.digest import state_digest
from storage.hlc import Stamp, system_clock_ms
from storage.identity import sign_changeset
from storage.queries import custody_of
from storage.records import Case, Note, Person
from storage.workspace import Workspace, new_id
from sync.importer import retry_held
from sync.quarantine import list_held_back
from tests.conftest import PASSPHRASE
from tests.desktop.clitools import assert_ok, valise
from tests.sync.conftest import Network

ATTACKER, RECEIVER = "kabora", "liaison"


def _forge(ws: Workspace, case_id: str, ops: list[Op], *, hlc: str | None = None) -> str:
    """Sign `ops` with `ws`'s real key as its next changeset and put it in its history
    without applying it (as a tampered copy of Valise would); returns the changeset id."""
    last = ws.conn.execute(
        "SELECT seq, id FROM changesets WHERE origin = ? AND epoch = ? ORDER BY seq DESC LIMIT 1",
        (ws.origin, ws.epoch),
    ).fetchone()
    seq, prev_hash = (int(last[0]) + 1, str(last[1])) if last else (1, "")
    changeset = Changeset(
        origin=ws.origin,
        epoch=ws.epoch,
        seq=seq,
        prev_hash=prev_hash,
        hlc=hlc or str(ws.clock.now()),
        author=ws.author,
        case_id=case_id,
        ops=tuple(ops),
    )
    body = changeset.encode()
    cs_id = changeset_id(body)
    with ws.transaction() as conn:
        conn.execute(
            "INSERT INTO changesets(id, origin, epoch, seq, prev_hash, hlc, author, case_id,"
            " body, sig, applied_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                cs_id,
                changeset.origin,
                changeset.epoch,
                changeset.seq,
                changeset.prev_hash,
                changeset.hlc,
                changeset.author,
                case_id,
                body,
                sign_changeset(ws.keys, body),
                dt.datetime.now(dt.UTC).isoformat(),
            ),
        )
    return cs_id


def _field_op(ws: Workspace, entity: str, entity_id: str, name: str) -> str:
    """The op a field of a record holds now (what an honest edit names in `prev`)."""
    row = ws.conn.execute(
        "SELECT op_ref FROM field_state WHERE entity = ? AND entity_id = ? AND field IN (?, '*')"
        " ORDER BY field = '*' LIMIT 1",
        (entity, entity_id, name),
    ).fetchone()
    return str(row[0])


def _shared_case(network: Network, owner: str = ATTACKER) -> str:
    """A case of `owner` with a protected witness, shared with the receiver and sent."""
    ws = network.ws[owner]
    case_id = cases.add_case(ws, "Shelling of the Varosa market", "Three witnesses")
    cases.add_person(ws, case_id, "witness", name="Amal Haddad", protected=True, pseudonym="W-1")
    network.share(owner, case_id, RECEIVER)
    assert network.send(owner, RECEIVER).status == "imported"
    return case_id


def _held_back_after(network: Network, sender: str, forged: str) -> str:
    """Send the forged changeset to the receiver and return the sentence it is held back
    with, checking the receiver's replicated state did not change."""
    receiver = network.ws[RECEIVER]
    before = state_digest(receiver.conn)
    report = network.send(sender, RECEIVER)
    assert report.status == "imported", report.message
    assert (report.changesets, report.quarantined) == (0, 1), report.to_json()
    assert state_digest(receiver.conn) == before, "the receiver's replicated state changed"
    assert not receiver.conn.execute("SELECT 1 FROM changesets WHERE id = ?", (forged,)).fetchone()
    [held] = list_held_back(receiver)
    assert held.changeset_id == forged
    return held.sentence


def test_protected_value_sent_in_clear_is_held_back(network: Network) -> None:
    kabora, liaison = network.ws[ATTACKER], network.ws[RECEIVER]
    case_id = _shared_case(network)
    [witness] = queries.in_case(kabora.conn, Person, case_id)
    op = Op(
        "person",
        witness.id,
        "update",
        {"legal_name": "Someone Else"},
        {"legal_name": _field_op(kabora, "person", witness.id, "legal_name")},
    )
    forged = _forge(kabora, case_id, [op])
    sentence = _held_back_after(network, ATTACKER, forged)
    assert sentence.startswith("Held back: Kabora field office (office, ")
    assert "tried to change person W-1 (legal name)." in sentence
    assert "protected person field “legal name” in clear instead of sealed" in sentence
    assert "Someone Else" not in sentence  # the value itself is never told
    [shown] = queries.in_case(liaison.conn, Person, case_id)
    assert shown.legal_name == "Amal Haddad"


def test_privileged_note_text_in_clear_is_held_back(network: Network) -> None:
    kabora, liaison = network.ws[ATTACKER], network.ws[RECEIVER]
    case_id = _shared_case(network)
    note_id = cases.add_note(kabora, case_id, "Our theory of the case.", klass="privileged")
    assert network.send(ATTACKER, RECEIVER).status == "imported"
    edit = Op(
        "note",
        note_id,
        "update",
        {"text": "Our theory, now in clear for everyone."},
        {"text": _field_op(kabora, "note", note_id, "text")},
    )
    fresh = Op(
        "note",
        new_id(),
        "create",
        {"case_id": case_id, "class": "privileged", "text": "Weak points of witness W-1."},
        {},
    )
    forged = _forge(kabora, case_id, [edit, fresh])
    sentence = _held_back_after(network, ATTACKER, forged)
    assert sentence.startswith("Held back: Kabora field office (office, ")
    assert "tried to change note (text); add a note." in sentence
    assert "privileged note field “text” in clear instead of sealed" in sentence
    assert "theory" not in sentence and "Weak points" not in sentence
    [note] = queries.in_case(liaison.conn, Note, case_id)
    assert note.text == ""  # still withheld here, as it was sealed


def test_an_open_note_edited_in_clear_still_applies(network: Network) -> None:
    """The rule refuses only values that must be sealed: open text travels in clear."""
    kabora, liaison = network.ws[ATTACKER], network.ws[RECEIVER]
    case_id = _shared_case(network)
    note_id = cases.add_note(kabora, case_id, "Market gate closed at noon.")
    cases.update_record(kabora, Note, note_id, text="Market gate closed at one.")
    report = network.send(ATTACKER, RECEIVER)
    assert (report.changesets, report.quarantined) == (2, 0), report.to_json()
    assert queries.get(liaison.conn, Note, note_id).text == "Market gate closed at one."


def test_far_future_clock_stamp_is_held_back(network: Network) -> None:
    kabora = network.ws[ATTACKER]
    case_id = _shared_case(network)
    # Half a minute more, so the time the import takes cannot bring it under the mark.
    ahead = Stamp(system_clock_ms() + 3 * 3600 * 1000 + ALLOWED_DRIFT_MS + 30_000, 0)
    op = Op(
        "case",
        case_id,
        "update",
        {"title": "Nothing happened at Varosa"},
        {"title": _field_op(kabora, "case", case_id, "title")},
    )
    forged = _forge(kabora, case_id, [op], hlc=str(ahead))
    sentence = _held_back_after(network, ATTACKER, forged)
    assert sentence.startswith("Held back: Kabora field office (office, ")
    assert "tried to rename case " in sentence
    assert "clock stamp is 3 hours 10 minutes ahead of this computer's clock" in sentence
    assert "offered again on later imports" in sentence


def test_a_clock_stamp_ahead_is_refused_as_clock_ahead_until_the_clock_catches_up(
    network: Network,
) -> None:
    """`ClockAhead` is its own refusal, so an import can offer the changeset again; with
    our clock at its stamp, the same changeset applies."""
    kabora, liaison = network.ws[ATTACKER], network.ws[RECEIVER]
    case_id = _shared_case(network)
    ahead = system_clock_ms() + 2 * ALLOWED_DRIFT_MS
    op = Op(
        "case",
        case_id,
        "update",
        {"summary": "Four witnesses"},
        {"summary": _field_op(kabora, "case", case_id, "summary")},
    )
    forged = _forge(kabora, case_id, [op], hlc=str(Stamp(ahead, 0)))
    body, sig = kabora.conn.execute(
        "SELECT body, sig FROM changesets WHERE id = ?", (forged,)
    ).fetchone()
    changeset = decode(bytes(body))
    with liaison.transaction() as conn:
        try:
            apply_changeset(conn, changeset, forged, bytes(body), bytes(sig))
        except ClockAhead as exc:
            refused = str(exc)
        else:
            raise AssertionError("a stamp two drifts ahead was applied")
    assert "ahead of this computer's clock" in refused
    with liaison.transaction() as conn:
        apply_changeset(conn, changeset, forged, bytes(body), bytes(sig), now_ms=ahead)
    assert queries.get(liaison.conn, Case, case_id).summary == "Four witnesses"


def test_a_changeset_held_for_its_clock_applies_once_our_clock_catches_up(
    network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Held back, not refused for good: offered again on the next import (still ahead, it
    stays held), and applied on an import once our clock has reached its stamp."""
    kabora, liaison = network.ws[ATTACKER], network.ws[RECEIVER]
    case_id = _shared_case(network)
    ahead = system_clock_ms() + 3 * ALLOWED_DRIFT_MS
    op = Op(
        "case",
        case_id,
        "update",
        {"summary": "Four witnesses"},
        {"summary": _field_op(kabora, "case", case_id, "summary")},
    )
    forged = _forge(kabora, case_id, [op], hlc=str(Stamp(ahead, 0)))
    _held_back_after(network, ATTACKER, forged)
    assert retry_held(liaison) == 0  # still ahead: still held
    [held] = list_held_back(liaison)
    assert held.changeset_id == forged
    monkeypatch.setattr(apply_module, "system_clock_ms", lambda: ahead)
    assert retry_held(liaison) == 1
    assert list_held_back(liaison) == []
    assert queries.get(liaison.conn, Case, case_id).summary == "Four witnesses"


def _evidence_file(tmp_path: Path) -> Path:
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"\xff\xd8 market gate photo " * 64)
    return path


def _custody_op(item: str, case_id: str, event: str, at: str, actor: str, office: str) -> Op:
    values = {
        "case_id": case_id,
        "evidence_id": item,
        "event": event,
        "at": at,
        "actor": actor,
        "office": office,
        "note": "copied to personal laptop",
    }
    return Op("custody", new_id(), "create", values, {})


def _case_with_evidence(network: Network, tmp_path: Path, owner: str) -> tuple[str, str]:
    ws = network.ws[owner]
    case_id = cases.add_case(ws, "Detention at the river camp", "One photograph")
    item = evidence.add_evidence(ws, case_id, _evidence_file(tmp_path))
    network.share(owner, case_id, RECEIVER)
    assert network.send(owner, RECEIVER).status == "imported"
    return case_id, item


def test_custody_event_with_a_forged_actor_shows_its_real_signer(
    network: Network, tmp_path: Path
) -> None:
    dressa, liaison = network.ws["dressa"], network.ws[RECEIVER]
    case_id, item = _case_with_evidence(network, tmp_path, "dressa")
    op = _custody_op(
        item, case_id, "copied", "2026-01-05T10:00:00Z", "Kabora evidence officer", "Kabora"
    )
    _forge(dressa, case_id, [op])
    report = network.send("dressa", RECEIVER)
    assert (report.changesets, report.quarantined) == (2, 0)  # and Dressa's "sent in bundle"
    [forged] = [e for e in custody_of(liaison.conn, item) if e.id == op.entity_id]
    assert forged.actor == "Kabora evidence officer"  # kept as written...
    dressa_print = network.peer(RECEIVER, "dressa").fingerprint.split()
    # ...but shown as what it is: signed by Dressa's key, named from Dressa's card.
    assert forged.signer == f"Dressa field office (office, {' '.join(dressa_print[:2])}…)"
    assert "Kabora" not in forged.signer


def test_backdated_custody_event_does_not_come_first(network: Network, tmp_path: Path) -> None:
    dressa, liaison = network.ws["dressa"], network.ws[RECEIVER]
    case_id, item = _case_with_evidence(network, tmp_path, "dressa")
    evidence.add_custody(liaison, item, "examined", note="Checked at the registry")
    chain_before = [(e.id, e.event) for e in custody_of(liaison.conn, item)]
    years_ago = Stamp(system_clock_ms() - 3 * 365 * 24 * 3600 * 1000, 0)
    op = _custody_op(item, case_id, "copied", "2023-01-01T08:00:00Z", "Registry clerk", "")
    _forge(dressa, case_id, [op], hlc=str(years_ago))
    report = network.send("dressa", RECEIVER)
    assert (report.changesets, report.quarantined) == (2, 0)  # and Dressa's "sent in bundle"
    chain = custody_of(liaison.conn, item)
    # The stamp and the date it claims are the earliest in the chain, yet it comes last:
    # the chain is in the order events reached this office.
    assert min(e.created_hlc for e in chain) == str(years_ago)
    assert [(e.id, e.event) for e in chain[: len(chain_before)]] == chain_before
    assert chain[-2].event == "sent in bundle"  # Dressa's own, recorded before it forged
    assert (
        chain[-1].id == op.entity_id
        and chain[-1].event == "copied"
        and chain[-1].at.startswith("2023-01-01")
    )
    assert chain[-1].signer.startswith("Dressa field office (office, ")
    assert chain[0].event == "collected"


def test_quarantine_list_says_from_whom_what_why_when_and_which_bundle(
    network: Network,
) -> None:
    kabora, liaison = network.ws[ATTACKER], network.ws[RECEIVER]
    case_id = _shared_case(network)
    op = Op(
        "case",
        case_id,
        "update",
        {"reference": "KAB-FAKE-0001", "title": "Nothing happened"},
        {
            "reference": _field_op(kabora, "case", case_id, "reference"),
            "title": _field_op(kabora, "case", case_id, "title"),
        },
    )
    ahead = Stamp(system_clock_ms() + 2 * ALLOWED_DRIFT_MS, 0)
    forged = _forge(kabora, case_id, [op], hlc=str(ahead))
    _held_back_after(network, ATTACKER, forged)
    [held] = list_held_back(liaison)
    reference = queries.get(liaison.conn, Case, case_id).reference
    assert held.attempted == (f"rename case {reference}",)
    env = {
        **os.environ,
        "VALISE_WORKSPACE": str(liaison.paths.root),
        "VALISE_PASSPHRASE": PASSPHRASE,
    }
    liaison.close()
    lines = assert_ok(valise(env, "quarantine", "list")).splitlines()
    assert lines[0] == held.sentence
    assert lines[1] == f"  case:    {reference} Shelling of the Varosa market"
    assert lines[2].startswith(f"  change:  {forged[:16]} (epoch 0, change ")
    assert lines[3] == f"  bundle:  {held.bundle_id} from {held.sender}"
    assert lines[4] == f"  held at: {held.held_at}"
    assert lines[-1].startswith("A held-back change is never applied and never passed on.")
    [listed] = json.loads(assert_ok(valise(env, "quarantine", "list", "--json")))
    assert listed == held.to_json()
    assert listed["signer"]["office"] == "Kabora field office"
    assert listed["attempted"] == [f"rename case {reference}"]


def test_quarantine_list_with_nothing_held_back_says_so(cli_env: dict[str, str]) -> None:
    assert assert_ok(valise(cli_env, "quarantine", "list")) == (
        "Nothing is held back: no change received was refused."
    )
    assert json.loads(assert_ok(valise(cli_env, "quarantine", "list", "--json"))) == []
