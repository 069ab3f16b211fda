"""`sync usb`: one stick passed around three installations until nothing new remains."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from storage import cases, queries
from storage.blobs import Cancelled
from storage.digest import state_digest
from sync import usb
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


def test_a_cancelled_sync_keeps_what_was_done_and_drops_the_step_under_way(
    network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancelled once the import is done: the import stays, and the bundle being written
    for a peer is dropped whole."""
    case_id = cases.add_case(network.ws["kabora"], "Case to carry")
    network.share("kabora", case_id, "liaison")
    stick = network.new_stick()
    network.export("kabora", "liaison", stick=stick)
    cancel = threading.Event()
    real_export = usb.export_bundle

    def cancelled_while_exporting(*args: Any, **kwargs: Any) -> Any:
        cancel.set()  # the person presses Cancel as the first bundle starts
        return real_export(*args, **kwargs)

    monkeypatch.setattr(usb, "export_bundle", cancelled_while_exporting)
    before = set((stick / BUNDLE_FOLDER).iterdir())
    with pytest.raises(Cancelled):
        sync_usb(network.ws["liaison"], stick, None, cancel)
    liaison = network.ws["liaison"].conn
    assert [c.id for c in queries.list_cases(liaison)] == [case_id]  # the import stayed
    assert set((stick / BUNDLE_FOLDER).iterdir()) <= before  # nothing half-written


def test_a_sync_cancelled_before_it_starts_changes_nothing(network: Network) -> None:
    case_id = cases.add_case(network.ws["kabora"], "Case to carry")
    network.share("kabora", case_id, "liaison")
    stick = network.new_stick()
    network.export("kabora", "liaison", stick=stick)
    before = state_digest(network.ws["liaison"].conn)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        sync_usb(network.ws["liaison"], stick, None, cancel)
    assert state_digest(network.ws["liaison"].conn) == before
