"""Edits of a note's text and class reach the peers allowed them, and no other.

Real workspaces exchange real bundles (tests.sync.conftest); each bundle is decrypted with
the recipient's own key and searched in every encoding for the text it must not carry, as
tests/sync/test_redaction.py does. The rule under test: a note's text is sealed by the
class it is written under, and travels by the strictest of that class and the note's class
now, so nobody declassifies text by editing the note. A partner (ngo, defence) receives a
projection (sync.projection): it holds no privileged or protected note at all, and an open
note whose text was written under another class without that text.
"""

from __future__ import annotations

import pytest

from storage import cases, queries
from storage.records import Note, NoteId
from storage.workspace import Draft
from sync import peers
from sync.cards import parse_card
from tests.sync.conftest import Network
from tests.sync.test_redaction import database_text, leaks, open_bundle, revealed_fields

SECRET = "Strategy: the Xylocarp theory of command responsibility, Tamberlyn brigade"
SECRET_WORDS = [SECRET, "Xylocarp", "Tamberlyn"]
REDRAFT = "Second draft: Quillwort applies to the Fenmarch battalion as well"
REDRAFT_WORDS = [REDRAFT, "Quillwort", "Fenmarch"]
PROTECTED_TEXT = "Relocated through the Brennsholm corridor by the Ostrel pharmacist"
PROTECTED_WORDS = [PROTECTED_TEXT, "Brennsholm", "Ostrel"]
OPEN_TEXT = "Ask the liaison for the Marrowlight drone footage"
LATER_OPEN = "Footage received; the Marrowlight copy is verified"


def as_defence(network: Network) -> None:
    """Kabora gives the documentation project's installation the defence role instead."""
    card = parse_card(peers.card_bytes(network.ws["ngo"]))
    peers.add_peer(network.ws["kabora"], card, "defence")
    assert network.peer("kabora", "ngo").role == "defence"


def deliver(network: Network, peer: str, forbidden: list[str]) -> None:
    """Export Kabora's news for `peer`, check no forbidden value is in any byte of it,
    import it there, and acknowledge (so the next bundle carries only news)."""
    result = network.export("kabora", peer)
    bundle = open_bundle(result, network.ws[peer])
    assert leaks(bundle.everything, forbidden) == [], peer
    report = network.receive(peer, result.head)[0]
    assert report.status == "imported", report.message
    assert report.quarantined == 0 and report.parked == 0
    assert leaks(database_text(network.ws[peer]), forbidden) == [], peer
    network.send(peer, "kabora")


def held(network: Network, peer: str, note_id: NoteId) -> tuple[str, str]:
    note = queries.get(network.ws[peer].conn, Note, note_id)
    return note.text, note.klass


def holds_note(network: Network, peer: str, note_id: NoteId) -> bool:
    """True when `peer` holds any record of the note (withdrawn or not)."""
    row = network.ws[peer].conn.execute("SELECT 1 FROM notes WHERE id = ?", (note_id,))
    return row.fetchone() is not None


def test_editing_an_open_notes_text_reaches_an_office_peer(network: Network) -> None:
    kabora = network.ws["kabora"]
    case_id = cases.add_case(kabora, "Shelling of the Oru market")
    note_id = cases.add_note(kabora, case_id, OPEN_TEXT)
    network.share("kabora", case_id, "dressa")
    deliver(network, "dressa", [])
    assert held(network, "dressa", note_id) == (OPEN_TEXT, "open")

    cases.update_record(kabora, Note, note_id, text=LATER_OPEN)
    result = network.export("kabora", "dressa")
    assert result.changesets == 1
    assert LATER_OPEN.encode() in open_bundle(result, network.ws["dressa"]).payload
    assert network.receive("dressa", result.head)[0].status == "imported"
    assert held(network, "dressa", note_id) == (LATER_OPEN, "open")


@pytest.mark.parametrize("peer", ["dressa", "liaison", "ngo", "defence"])
def test_editing_a_privileged_notes_text_reaches_no_peer(network: Network, peer: str) -> None:
    """Not another office, not the liaison, not a partner: work product never leaves. A
    partner does not even learn that the note exists."""
    partner = peer in ("ngo", "defence")
    if peer == "defence":
        as_defence(network)
        peer = "ngo"
    kabora = network.ws["kabora"]
    case_id = cases.add_case(kabora, "Case with work product")
    note_id = cases.add_note(kabora, case_id, SECRET, klass="privileged")
    network.share("kabora", case_id, peer)
    deliver(network, peer, SECRET_WORDS)

    cases.update_record(kabora, Note, note_id, text=REDRAFT)
    result = network.export("kabora", peer)
    bundle = open_bundle(result, network.ws[peer])
    # The edit itself travels to full-trust peers, its text does not; a partner gets nothing.
    assert result.changesets == (0 if partner else 1)
    assert leaks(bundle.everything, [*SECRET_WORDS, *REDRAFT_WORDS]) == []
    assert not partner or leaks(bundle.everything, [note_id]) == []
    assert revealed_fields(bundle) == set()
    assert network.receive(peer, result.head)[0].status == "imported"
    if partner:
        assert not holds_note(network, peer, note_id)
    else:
        assert held(network, peer, note_id) == ("", "privileged")
    assert leaks(database_text(network.ws[peer]), [*SECRET_WORDS, *REDRAFT_WORDS]) == []
    assert queries.get(kabora.conn, Note, note_id).text == REDRAFT


@pytest.mark.parametrize("partner", ["ngo", "defence"])
def test_a_privileged_note_changed_to_open_does_not_release_its_earlier_text(
    network: Network, partner: str
) -> None:
    """The partner, already holding the case, learns only that the note is now open; its
    text stays withheld until text is written as open. A peer the case is shared with only
    after the change (the liaison) gets no earlier text either."""
    if partner == "defence":
        as_defence(network)
    kabora = network.ws["kabora"]
    case_id = cases.add_case(kabora, "Case with work product")
    note_id = cases.add_note(kabora, case_id, SECRET, klass="privileged")
    cases.update_record(kabora, Note, note_id, text=REDRAFT)
    network.share("kabora", case_id, "ngo")
    deliver(network, "ngo", [*SECRET_WORDS, *REDRAFT_WORDS])

    cases.update_record(kabora, Note, note_id, klass="open")
    assert queries.get(kabora.conn, Note, note_id).text == REDRAFT  # still here
    deliver(network, "ngo", [*SECRET_WORDS, *REDRAFT_WORDS])
    assert held(network, "ngo", note_id) == ("", "open")

    network.share("kabora", case_id, "liaison", "dressa")
    for fresh in ("liaison", "dressa"):
        deliver(network, fresh, [*SECRET_WORDS, *REDRAFT_WORDS])
        assert held(network, fresh, note_id) == ("", "open")

    # Text written after the change is open and does travel.
    cases.update_record(kabora, Note, note_id, text=LATER_OPEN)
    deliver(network, "ngo", [*SECRET_WORDS, *REDRAFT_WORDS])
    assert held(network, "ngo", note_id) == (LATER_OPEN, "open")


def test_an_open_note_raised_to_privileged_stops_its_later_text_leaving(
    network: Network,
) -> None:
    """What was written while open is in the signed history and is not recalled; what is
    written after the raise reaches no peer, even one shared with only afterwards."""
    kabora = network.ws["kabora"]
    case_id = cases.add_case(kabora, "Case")
    note_id = cases.add_note(kabora, case_id, OPEN_TEXT)
    network.share("kabora", case_id, "ngo")
    deliver(network, "ngo", [])
    assert held(network, "ngo", note_id) == (OPEN_TEXT, "open")

    cases.update_record(kabora, Note, note_id, klass="privileged")
    cases.update_record(kabora, Note, note_id, text=SECRET)
    deliver(network, "ngo", SECRET_WORDS)
    # The partner's copy is withdrawn: it keeps the open text it was given, nothing later.
    assert held(network, "ngo", note_id) == (OPEN_TEXT, "open")
    assert queries.get(network.ws["ngo"].conn, Note, note_id).withdrawn == 1

    # Raised and rewritten in one edit: sealed by the new class.
    cases.update_record(kabora, Note, note_id, text=REDRAFT, klass="privileged")
    network.share("kabora", case_id, "dressa", "liaison")
    for peer in ("ngo", "dressa", "liaison"):
        deliver(network, peer, [*SECRET_WORDS, *REDRAFT_WORDS])
        expected = (OPEN_TEXT, "open") if peer == "ngo" else ("", "privileged")
        assert held(network, peer, note_id) == expected


def test_a_protected_note_changed_to_open_keeps_its_earlier_text_from_partners(
    network: Network,
) -> None:
    """Text written while protected still goes to offices and the liaison, never to a
    partner, whatever the note's class becomes."""
    kabora = network.ws["kabora"]
    case_id = cases.add_case(kabora, "Case")
    note_id = cases.add_note(kabora, case_id, PROTECTED_TEXT, klass="protected")
    cases.update_record(kabora, Note, note_id, klass="open")
    network.share("kabora", case_id, "ngo", "liaison")
    deliver(network, "ngo", PROTECTED_WORDS)
    assert held(network, "ngo", note_id) == ("", "open")
    result = network.export("kabora", "liaison")
    assert PROTECTED_TEXT.encode() in open_bundle(result, network.ws["liaison"]).payload
    assert network.receive("liaison", result.head)[0].status == "imported"
    assert held(network, "liaison", note_id) == (PROTECTED_TEXT, "open")


@pytest.mark.parametrize("order", ["text first", "class first"])
def test_text_sealed_as_privileged_stays_when_one_changeset_also_lowers_the_class(
    network: Network, order: str
) -> None:
    """The class kept beside a sealed value is the note's class after its whole changeset;
    a changeset that writes privileged text and lowers the class in two ops must still
    keep that text at this office (a leak to offices and the liaison before the fix in
    sync.redaction)."""
    kabora = network.ws["kabora"]
    case_id = cases.add_case(kabora, "Case")
    note_id = cases.add_note(kabora, case_id, SECRET, klass="privileged")
    drafts = [
        Draft("note", note_id, "update", {"text": REDRAFT}),
        Draft("note", note_id, "update", {"class": "open"}),
    ]
    kabora.commit(case_id, drafts if order == "text first" else drafts[::-1])
    for peer in ("dressa", "liaison", "ngo"):
        network.share("kabora", case_id, peer)
        deliver(network, peer, [*SECRET_WORDS, *REDRAFT_WORDS])
        assert held(network, peer, note_id) == ("", "open")
