"""The state of a peer decides what is sent and read: probation and revocation.

A peer whose fingerprint nobody compared is on probation: its bundles are kept unread with
a sentence saying how to verify it, and nothing is written for it. A revoked key receives
nothing, whatever else holds. Real workspaces (the sync tests' installations) and real
bundles throughout; the probation tests build their own unverified pair, since the
`network` fixture verifies every peer as the offices would.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import audit, cases, queries
from storage.digest import state_digest
from storage.errors import InvalidInput, StorageError
from storage.records import Case
from storage.workspace import Workspace, open_workspace
from sync import peer_state, peers, trust
from sync.bundle_format import BUNDLE_FOLDER
from sync.cards import parse_card
from sync.errors import SyncError
from sync.export import export_bundle, export_bundles
from sync.importer import import_paths
from sync.parked import BUNDLE, list_waiting
from sync.parked_bundles import parked_bundle_heads
from sync.usb import sync_usb
from tests.conftest import PASSPHRASE
from tests.sync.conftest import INSTALLATIONS, Network
from ui.sync_center import peer_choices

WITNESS = "Zuleyka Quennell-Marsh"


@pytest.fixture
def pair(installation_templates: dict[str, Path], tmp_path: Path) -> Iterator[Network]:
    """Kabora and Dressa, each with the other's card. Kabora compared Dressa's fingerprint;
    Dressa never compared Kabora's: Kabora is on probation at Dressa."""
    net = Network(tmp_path)
    for name in ("kabora", "dressa"):
        shutil.copytree(installation_templates[name], tmp_path / name)
        net.ws[name] = open_workspace(tmp_path / name, PASSPHRASE)
    kabora, dressa = net.ws["kabora"], net.ws["dressa"]
    to_dressa = peers.add_peer(kabora, parse_card(peers.card_bytes(dressa)), "office")
    peers.verify_peer(kabora, to_dressa, dressa.fingerprint)
    peers.add_peer(dressa, parse_card(peers.card_bytes(kabora)), INSTALLATIONS["kabora"][1])
    yield net
    for ws in net.ws.values():
        ws.close()


def _bundle_files(stick: Path) -> list[Path]:
    folder = stick / BUNDLE_FOLDER
    return sorted(folder.iterdir()) if folder.exists() else []


def _audit_actions(ws: Workspace) -> list[str]:
    """Every audit entry's action, oldest first."""
    return [str(row[0]) for row in ws.conn.execute("SELECT action FROM audit ORDER BY seq")]


def _refused_export(ws: Workspace, peer: peers.Peer, stick: Path) -> str:
    """The sentence `bundle export` refuses with for `peer`; nothing may reach the stick."""
    with pytest.raises(SyncError) as refused:
        export_bundle(ws, [peer], stick)
    message = str(refused.value)
    assert message.startswith(f"Nothing is written for {peer.office_name} ({peer.role}, ")
    assert message.endswith("No bundle was written.")
    assert _bundle_files(stick) == []
    return message


def _case_for_dressa(pair: Network) -> tuple[str, Path]:
    """A case at Kabora shared with Dressa, and the bundle that carries it."""
    case_id = cases.add_case(pair.ws["kabora"], "Shelling of the Oru market")
    pair.share("kabora", case_id, "dressa")
    return case_id, pair.export("kabora", "dressa").head


def test_unverified_peer_bundle_is_parked_with_a_sentence(pair: Network) -> None:
    dressa = pair.ws["dressa"]
    kabora = pair.peer("dressa", "kabora")
    case_id, head = _case_for_dressa(pair)
    before = state_digest(dressa.conn)

    [report] = pair.receive("dressa", head)

    assert (report.status, report.reason) == ("parked", peer_state.UNVERIFIED)
    message = report.message
    assert "Kabora field office (office, " in message
    assert kabora.fingerprint.split()[0] in message
    assert "fingerprint was never compared" in message
    assert "by phone or on paper" in message
    assert f"`valise peer verify {kabora.peer_id} --fingerprint DIGITS`" in message
    assert "will be read once the sender is verified" in message
    assert state_digest(dressa.conn) == before  # nothing of it applied
    assert len(parked_bundle_heads(dressa)) == 1
    [waiting] = [w for w in list_waiting(dressa) if w.kind == BUNDLE]
    assert waiting.sender == "Kabora field office"
    assert f"valise peer verify {kabora.peer_id} --fingerprint DIGITS" in waiting.waits_for

    # Read again from the stick: still kept, still unread, said the same way.
    [again] = pair.receive("dressa", head)
    assert again.status == "parked" and "was never compared" in again.message
    assert state_digest(dressa.conn) == before
    assert dressa.conn.execute("SELECT 1 FROM cases WHERE id = ?", (case_id,)).fetchone() is None
    assert len(parked_bundle_heads(dressa)) == 1


def test_a_verified_peer_s_kept_bundles_are_read_at_the_next_sync(pair: Network) -> None:
    dressa = pair.ws["dressa"]
    case_id, head = _case_for_dressa(pair)
    pair.receive("dressa", head)
    shutil.rmtree(head.parent.parent)  # the courier leaves with the stick

    peers.verify_peer(dressa, pair.peer("dressa", "kabora"), pair.ws["kabora"].fingerprint)
    outcome = sync_usb(dressa, pair.new_stick())  # an empty stick: only the kept bundle

    assert [r.status for r in outcome.imported] == ["imported"]
    assert queries.get(dressa.conn, Case, case_id).title == "Shelling of the Oru market"
    assert parked_bundle_heads(dressa) == []
    assert [w for w in list_waiting(dressa) if w.kind == BUNDLE] == []


def test_nothing_is_exported_to_an_unverified_peer(pair: Network) -> None:
    dressa = pair.ws["dressa"]
    kabora = pair.peer("dressa", "kabora")
    case_id = cases.add_case(dressa, "Looting at Ostra")
    pair.share("dressa", case_id, "kabora")
    before = (state_digest(dressa.conn), _audit_actions(dressa))
    stick = pair.new_stick()

    message = _refused_export(dressa, kabora, stick)
    assert "its fingerprint was never compared" in message
    assert f"`valise peer verify {kabora.peer_id} --fingerprint DIGITS`" in message
    with pytest.raises(SyncError, match="was never compared"):
        export_bundles(dressa, [kabora], stick)
    assert _bundle_files(stick) == []

    outcome = sync_usb(dressa, stick)
    assert outcome.exported == [] and _bundle_files(stick) == []
    [skipped] = [step for step in outcome.steps if step.action == "skip"]
    assert skipped.ok and "was never compared" in skipped.text
    assert "1 peer skipped" in outcome.headline()
    [choice] = peer_choices(dressa)  # what the sync centre lists
    assert not choice.news and "was never compared" in choice.refusal
    assert (state_digest(dressa.conn), _audit_actions(dressa)) == before


def test_peer_verify_without_digits_is_refused(pair: Network) -> None:
    dressa = pair.ws["dressa"]
    kabora = pair.peer("dressa", "kabora")
    before = (state_digest(dressa.conn), _audit_actions(dressa))
    for nothing in ("", "   ", " - . "):
        with pytest.raises(InvalidInput, match="No fingerprint was given"):
            peers.verify_peer(dressa, kabora, nothing)
    assert not pair.peer("dressa", "kabora").verified
    assert (state_digest(dressa.conn), _audit_actions(dressa)) == before


@pytest.mark.parametrize(
    "wrong",
    [
        pytest.param("liaison", id="another-office-s-digits"),
        pytest.param("one-off", id="one-digit-changed"),
        pytest.param("short", id="a-group-left-out"),
        pytest.param("long", id="a-digit-too-many"),
        pytest.param("12345 abcde", id="letters"),
        pytest.param("\u0661\u0662\u0663\u0664\u0665", id="arabic-indic-digits"),
        pytest.param("\uff11\uff12\uff13", id="fullwidth-digits"),
        pytest.param("12345\x0067890", id="nul"),
    ],
)
def test_peer_verify_with_wrong_digits_is_refused(
    pair: Network, installation_templates: dict[str, Path], wrong: str
) -> None:
    dressa = pair.ws["dressa"]
    kabora = pair.peer("dressa", "kabora")
    real = kabora.fingerprint
    typed = {
        "liaison": lambda: _fingerprint_of(installation_templates["liaison"]),
        "one-off": lambda: real[:-1] + ("0" if real[-1] != "0" else "1"),
        "short": lambda: real[:-6],
        "long": lambda: real + "7",
    }.get(wrong, lambda: wrong)()
    before = (state_digest(dressa.conn), _audit_actions(dressa))

    with pytest.raises(InvalidInput) as refused:
        peers.verify_peer(dressa, kabora, typed)

    message = str(refused.value)
    assert message.endswith("Nothing was changed.")
    assert "does not match the card of Kabora field office" in message or (
        "only the digits 0 to 9" in message
    )
    assert not pair.peer("dressa", "kabora").verified
    assert (state_digest(dressa.conn), _audit_actions(dressa)) == before
    _, head = _case_for_dressa(pair)
    assert pair.receive("dressa", head)[0].status == "parked"  # still on probation


def _fingerprint_of(root: Path) -> str:
    with open_workspace(root, PASSPHRASE) as ws:
        return ws.fingerprint


def test_digits_typed_with_spaces_or_dashes_verify(pair: Network) -> None:
    dressa = pair.ws["dressa"]
    digits = pair.ws["kabora"].fingerprint
    peer = peers.verify_peer(dressa, pair.peer("dressa", "kabora"), digits.replace(" ", "-"))
    assert peer.verified
    assert _audit_actions(dressa)[-1] == "peer verified"


def test_revoked_thief_gets_no_bundle(network: Network) -> None:
    """Kabora's laptop is stolen. The liaison revokes Kabora's key, then records a
    protected witness in a case it shares with Kabora: the thief's stick gets nothing."""
    liaison = network.ws["liaison"]
    case_id = cases.add_case(liaison, "Shelling of the Oru market")
    network.share("liaison", case_id, "kabora", "dressa")
    network.send("liaison", "kabora")
    _, last_good = trust.last_seq_of(liaison, network.ws["kabora"].origin)
    trust.revoke_peer(liaison, network.peer("liaison", "kabora"), last_good, "laptop stolen")
    cases.add_person(liaison, case_id, "witness", name=WITNESS, protected=True)
    thief = network.peer("liaison", "kabora")
    before = (state_digest(liaison.conn), _audit_actions(liaison))
    stick = network.new_stick()

    message = _refused_export(liaison, thief, stick)
    assert f"its key was revoked after its change {last_good} (laptop stolen)" in message
    with pytest.raises(SyncError, match="revoked"):  # named beside a peer in good standing
        export_bundles(liaison, [network.peer("liaison", "dressa"), thief], stick)
    assert _bundle_files(stick) == []
    assert (state_digest(liaison.conn), _audit_actions(liaison)) == before

    outcome = sync_usb(liaison, stick)
    [skipped] = [s for s in outcome.steps if s.action == "skip"]
    assert "Kabora field office" in skipped.text and "laptop stolen" in skipped.text
    recipients = {p.origin for result in outcome.exported for p in result.recipients}
    assert network.ws["dressa"].origin in recipients  # Dressa still gets its bundle
    assert thief.origin not in recipients
    choices = {c.peer.origin: c for c in peer_choices(liaison)}
    assert "revoked" in choices[thief.origin].refusal and not choices[thief.origin].news

    # Whatever is on the stick, nothing of it opens with the stolen keys.
    kabora = network.ws["kabora"]
    stolen_before = state_digest(kabora.conn)
    reports = import_paths(kabora, [stick])
    assert {r.status for r in reports} <= {"not for us"}, [r.message for r in reports]
    assert state_digest(kabora.conn) == stolen_before
    for path in _bundle_files(stick):
        assert WITNESS.encode() not in path.read_bytes()


def test_accepting_unverified_peers_is_audited(pair: Network) -> None:
    dressa = pair.ws["dressa"]
    kabora = pair.peer("dressa", "kabora")
    assert not peer_state.accepts_unverified_peers(dressa)  # off by default

    assert peer_state.set_accept_unverified_peers(dressa, True)
    [entry] = audit.entries(dressa.conn, limit=1)
    assert (entry.action, entry.subject) == ("policy changed", "accept-unverified-peers")
    assert json.loads(entry.detail) == {"from": "no", "to": "yes"}
    assert not peer_state.set_accept_unverified_peers(dressa, True)  # no change, no entry
    assert audit.entries(dressa.conn, limit=1)[0].seq == entry.seq

    # Accepted: the unverified peer's bundle is read, and one is written for it.
    case_id, head = _case_for_dressa(pair)
    [report] = pair.receive("dressa", head)
    assert report.status == "imported", report.message
    assert queries.get(dressa.conn, Case, case_id).title == "Shelling of the Oru market"
    assert export_bundle(dressa, [kabora], pair.new_stick()).head.exists()

    # Off again: probation is back, and the change is recorded too.
    assert peer_state.set_accept_unverified_peers(dressa, False)
    last = audit.entries(dressa.conn, limit=1)[0]
    assert (last.action, json.loads(last.detail)) == ("policy changed", {"from": "yes", "to": "no"})
    with pytest.raises(SyncError, match="was never compared"):
        export_bundle(dressa, [kabora], pair.new_stick())
    assert audit.verify(dressa.conn).count == len(_audit_actions(dressa))


def test_a_setting_garbled_in_the_database_reads_as_off(pair: Network) -> None:
    dressa = pair.ws["dressa"]
    for garbled in ("YES", "1", "true", "yes ", ""):
        with dressa.transaction():
            dressa.set_meta(peer_state.ACCEPT_UNVERIFIED_META, garbled)
        assert not peer_state.accepts_unverified_peers(dressa)
        assert peer_state.on_probation(dressa, pair.peer("dressa", "kabora"))


def test_a_peer_verified_before_its_key_was_revoked_still_gets_nothing(network: Network) -> None:
    """Verification never outweighs a revocation."""
    liaison = network.ws["liaison"]
    thief = network.peer("liaison", "kabora")
    assert thief.verified
    trust.revoke_peer(liaison, thief, 0, "laptop stolen")
    refusal = peer_state.export_refusal(liaison, network.peer("liaison", "kabora"))
    assert refusal is not None and "revoked" in refusal
    peer_state.set_accept_unverified_peers(liaison, True)
    assert peer_state.export_refusal(liaison, network.peer("liaison", "kabora")) == refusal
    with pytest.raises(StorageError, match="revoked"):
        export_bundle(liaison, [network.peer("liaison", "kabora")], network.new_stick())
