"""`sync usb`: one stick passed around three installations until nothing new remains."""

from __future__ import annotations

from storage import cases
from storage.digest import state_digest
from sync.bundle_format import BUNDLE_FOLDER
from sync.usb import sync_usb
from tests.sync.conftest import Network


def test_a_stick_passed_around_brings_everyone_to_the_same_state(network: Network) -> None:
    kabora, dressa, liaison = (network.ws[n] for n in ("kabora", "dressa", "liaison"))
    case_id = cases.add_case(kabora, "Case", "start")
    network.share("kabora", case_id, "dressa", "liaison")
    stick = network.new_stick()
    rounds = 0
    for rounds in range(1, 8):
        if rounds < 3:
            cases.add_note(kabora, case_id, f"kabora note {rounds}")
        if rounds == 2:
            cases.update_case(dressa, case_id, title="Dressa's title")
            cases.update_case(liaison, case_id, title="Liaison's title")
        written = 0
        for ws in (kabora, dressa, liaison):
            written += len(sync_usb(ws, stick).exported)
        if written == 0 and rounds > 3:
            break
    assert rounds < 7, "the stick kept carrying bundles after everything had arrived"
    digests = {state_digest(ws.conn) for ws in (kabora, dressa, liaison)}
    assert len(digests) == 1
    assert list((stick / BUNDLE_FOLDER).iterdir()) == []


def test_sync_usb_leaves_bundles_for_others_on_the_stick(network: Network) -> None:
    case_id = cases.add_case(network.ws["kabora"], "Case")
    network.share("kabora", case_id, "liaison")
    stick = network.new_stick()
    sync_usb(network.ws["kabora"], stick)
    outcome = sync_usb(network.ws["dressa"], stick)
    assert [r.status for r in outcome.imported] == ["not for us"]
    assert outcome.exported == []
    assert len(list((stick / BUNDLE_FOLDER).iterdir())) == 2  # the head and one part
