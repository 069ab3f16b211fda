"""The Verify a peer dialog shows every digit typed: found by the end-to-end walk
(tests/e2e/test_sharing_walk.py), where the field scrolled after five groups and the person
could no longer compare the first groups with what was read to them."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from storage.keyfile import FAST_INSECURE_KDF
from storage.workspace import Workspace, create_workspace
from sync import peers
from sync.cards import parse_card
from tests.conftest import PASSPHRASE
from ui.peers_view import VerifyPeerDialog


def test_the_whole_fingerprint_typed_stays_in_view(
    qtbot: QtBot, ws: Workspace, tmp_path: Path
) -> None:
    other = create_workspace(
        tmp_path / "ngo", "Varosa Documentation Project", PASSPHRASE, kdf=FAST_INSECURE_KDF
    )
    peer = peers.add_peer(ws, parse_card(peers.card_bytes(other)), "ngo")
    other.close()
    dialog = VerifyPeerDialog(peer, ws.fingerprint)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    edit = dialog.digits_edit
    qtbot.keyClicks(edit, peer.fingerprint)

    assert edit.text() == peer.fingerprint
    assert edit.cursorPosition() == len(peer.fingerprint)
    # The first digit is still at the field's left edge: nothing scrolled out of view.
    left = edit.contentsRect().left() + edit.textMargins().left() + 4
    assert edit.cursorPositionAt(QPoint(left, edit.height() // 2)) == 0
    assert edit.cursorRect().right() <= edit.contentsRect().right()
    # And the dialog still fits a small laptop screen (1024 pixels wide).
    assert dialog.width() <= 1024


def test_the_reason_for_wrong_digits_takes_room_of_its_own(
    qtbot: QtBot, ws: Workspace, tmp_path: Path
) -> None:
    """Found by the end-to-end walk: the two lines saying the digits do not match were
    taken from the fingerprint above them, shown cut in half."""
    other = create_workspace(
        tmp_path / "ngo", "Varosa Documentation Project", PASSPHRASE, kdf=FAST_INSECURE_KDF
    )
    peer = peers.add_peer(ws, parse_card(peers.card_bytes(other)), "ngo")
    other.close()
    dialog = VerifyPeerDialog(peer, ws.fingerprint)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    QApplication.processEvents()
    label, edit = dialog.our_fingerprint_label, dialog.digits_edit
    before = (label.height(), edit.height())
    wrong = peer.fingerprint[:-1] + ("1" if peer.fingerprint[-1] != "1" else "2")

    qtbot.keyClicks(edit, wrong)
    dialog.accept()
    qtbot.waitUntil(lambda: dialog.problem_label.isVisible())
    layout = dialog.layout()
    assert layout is not None
    qtbot.waitUntil(lambda: dialog.height() >= layout.totalHeightForWidth(dialog.width()))
    QApplication.processEvents()
    # The reason has lines of its own; none were taken from the fingerprint or the field.
    assert label.height() >= before[0] and edit.height() >= before[1]
    reason = dialog.problem_label
    assert reason.height() >= reason.heightForWidth(reason.width())
