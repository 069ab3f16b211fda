"""`parked list`: what an import kept aside, for what it waits, and since when.

Three kinds wait: a changeset whose predecessor has not arrived (here: a note sent to an
office restored from a backup, before its peer knew the case had been lost with the
laptop), a bundle from an office whose card has not been added, and a changeset
quarantined because its key was revoked."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from storage import backup, cases, entities, workspace
from storage.keyfile import FAST_INSECURE_KDF
from storage.workspace import Workspace, create_workspace, open_workspace
from sync import peers, trust
from sync.cards import parse_card
from sync.export import export_bundle
from sync.importer import import_paths
from sync.parked import BUNDLE, CHANGESET, QUARANTINED, list_waiting
from tests.conftest import PASSPHRASE
from tests.desktop.clitools import assert_ok, valise
from tests.sync.conftest import Network, add_verified


def _send(network: Network, sender: Workspace, receiver: Workspace) -> str:
    peer = peers.peer_by_origin(sender, receiver.origin)
    assert peer is not None
    result = export_bundle(sender, [peer], network.new_stick())
    [report] = import_paths(receiver, [result.head])
    return report.status


def dressa_restored_before_a_case_reached_it(network: Network, tmp_path: Path) -> Workspace:
    """Dressa restored from a backup older than Kabora's case; Kabora, not knowing, sends
    only a new note on that case: the note waits for the case."""
    kabora, dressa = network.ws["kabora"], network.ws["dressa"]
    saved = tmp_path / "dressa.valise-backup"
    backup.write_backup(dressa, saved)
    case_id = cases.add_case(kabora, "Killings at the Dressa checkpoint")
    network.share("kabora", case_id, "dressa")
    assert _send(network, kabora, dressa) == "imported"
    assert _send(network, dressa, kabora) == "imported"  # Kabora learns Dressa holds it
    dressa.close()
    backup.restore_backup(saved, tmp_path / "dressa-restored", PASSPHRASE)
    restored = open_workspace(tmp_path / "dressa-restored", PASSPHRASE)
    network.ws["dressa"] = restored
    cases.add_note(kabora, case_id, "The checkpoint log is at Dressa")
    assert _send(network, kabora, restored) == "imported"
    return restored


def test_a_note_that_came_before_its_case_says_what_it_waits_for_then_lands(
    network: Network, tmp_path: Path
) -> None:
    restored = dressa_restored_before_a_case_reached_it(network, tmp_path)
    [waiting] = list_waiting(restored)
    assert waiting.kind == CHANGESET
    assert waiting.sender == waiting.author  # named from Kabora's card, with its digits
    assert waiting.author.startswith("Kabora field office (office, ")
    assert waiting.case == ""  # the case is not here
    assert waiting.waits_for.startswith("earlier changes it builds on (")
    assert f"of {waiting.author}, epoch 0" in waiting.waits_for
    assert waiting.needs and waiting.since

    # Dressa's next bundle tells Kabora what it holds; Kabora's answer brings the case.
    assert _send(network, restored, network.ws["kabora"]) == "imported"
    assert _send(network, network.ws["kabora"], restored) == "imported"
    assert list_waiting(restored) == []


def _bundle_from_a_stranger(
    network: Network, tmp_path: Path, office: str, expected: str = "parked"
) -> str:
    """A bundle for Dressa from an office Dressa has no card of, imported there (parked,
    or `expected`); returns its id. The stranger's own check of its name is switched off,
    as an older or a forged Valise would have none."""
    dressa = network.ws["dressa"]
    with pytest.MonkeyPatch.context() as unchecked:
        for module in (workspace, entities):
            unchecked.setattr(module, "text_problem", lambda *args, **kwargs: "")
        stranger = create_workspace(
            tmp_path / "stranger", office, PASSPHRASE, kdf=FAST_INSECURE_KDF
        )
        try:
            peer = add_verified(stranger, parse_card(peers.card_bytes(dressa)), "office")
            case_id = cases.add_case(stranger, "Looting at Ostra")
            peers.share_case(stranger, case_id, peer)
            result = export_bundle(stranger, [peer], network.new_stick())
        finally:
            stranger.close()
    [report] = import_paths(dressa, [result.head])
    assert report.status == expected, report.message
    return result.bundle_id


def test_a_bundle_from_an_unknown_office_waits_for_its_card(
    network: Network, tmp_path: Path
) -> None:
    bundle_id = _bundle_from_a_stranger(network, tmp_path, "Ostra field office")
    [waiting] = list_waiting(network.ws["dressa"])
    assert waiting.kind == BUNDLE and waiting.sender == "Ostra field office"
    assert waiting.item == bundle_id
    assert waiting.waits_for.startswith("the contact card of 'Ostra field office'")


def test_an_unknown_office_cannot_draw_its_own_lines_in_the_list(
    network: Network, tmp_path: Path
) -> None:
    """Nobody has verified the name an unknown office gives itself: control characters in
    it must not add lines to `parked list` (a forged "from Kabora" row, say). Such a
    bundle is refused outright (storage.text_rules), so it is not listed at all."""
    forged = "Ostra\nbundle 0000  claims to come from Kabora field office\x1b[2K"
    _bundle_from_a_stranger(network, tmp_path, forged, expected="refused")
    assert list_waiting(network.ws["dressa"]) == []


def test_a_change_signed_after_a_revocation_is_listed_with_its_reason(network: Network) -> None:
    kabora, dressa, liaison = network.ws["kabora"], network.ws["dressa"], network.ws["liaison"]
    case_id = cases.add_case(kabora, "Shelling of Kabora market")
    network.share("kabora", case_id, "dressa", "liaison")
    assert _send(network, kabora, dressa) == "imported"
    # From the last changeset Dressa holds: a point before it would take those back too.
    _, last_good = trust.last_seq_of(dressa, kabora.origin)
    trust.revoke_peer(dressa, network.peer("dressa", "kabora"), last_good, "laptop stolen")
    cases.add_note(kabora, case_id, "Signed after the revocation")
    # Kabora's own bundle, written after the revocation point, is refused whole at Dressa;
    # the note reaches Dressa forwarded by the liaison (for which Dressa's revocation is only
    # an advisory) and waits there, quarantined.
    assert _send(network, kabora, dressa) == "refused"
    assert _send(network, kabora, liaison) == "imported"
    network.share("liaison", case_id, "dressa")
    assert _send(network, liaison, dressa) == "imported"
    [waiting] = list_waiting(dressa)
    assert waiting.kind == QUARANTINED
    assert waiting.case.endswith("Shelling of Kabora market")
    assert waiting.waits_for.startswith(
        "quarantined: it tried to add a note; signed with a key revoked after"
    )


def test_parked_list_says_what_waits_for_what_and_since_when(
    network: Network, tmp_path: Path
) -> None:
    restored = dressa_restored_before_a_case_reached_it(network, tmp_path)
    [waiting] = list_waiting(restored)
    restored.close()
    env = {
        **os.environ,
        "VALISE_WORKSPACE": str(restored.paths.root),
        "VALISE_PASSPHRASE": PASSPHRASE,
    }
    text = assert_ok(valise(env, "parked", "list"))
    assert text.splitlines()[0] == (
        f"changeset {waiting.item[:16]}  by {waiting.author}, {waiting.position}"
    )
    assert f"  case:      {waiting.case_id} (not here yet)" in text
    assert f"  waits for: {waiting.waits_for}" in text
    assert f"  since:     {waiting.since}" in text
    assert text.splitlines()[-1].startswith("What waits is applied by itself when")
    listed = json.loads(assert_ok(valise(env, "parked", "list", "--json")))
    assert listed == [waiting.to_json()]


def test_parked_list_with_nothing_waiting_says_so(cli_env: dict[str, str]) -> None:
    assert assert_ok(valise(cli_env, "parked", "list")) == (
        "Nothing waits: every change received has been applied."
    )
    assert json.loads(assert_ok(valise(cli_env, "parked", "list", "--json"))) == []
