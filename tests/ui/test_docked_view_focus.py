"""A view opened from the menus takes the keys where a person expects them: in its list.

Found by the end-to-end walk (tests/e2e/test_sharing_walk.py): after Ctrl+Shift+P the
Peers view had the focus itself, a widget that takes no keys, so Down selected no peer and
Alt+V ("Mark as verified…") stayed disabled; the same held for every docked list."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QTableView
from pytestqt.qtbot import QtBot

from storage.keyfile import FAST_INSECURE_KDF
from storage.workspace import Workspace, create_workspace
from sync import peers
from sync.cards import parse_card
from tests.conftest import PASSPHRASE
from ui.main_window import MainWindow
from ui.peers_view import PeersView
from ui.prompts import ScriptedPrompts
from ui.tasks import TaskRunner

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
# The dock's name in the window, and the shortcut that opens it.
LIST_VIEWS = {
    "peers": Qt.Key.Key_P,
    "held_back": Qt.Key.Key_H,
    "parked": Qt.Key.Key_W,
    "incoming": Qt.Key.Key_I,
    "conflicts": Qt.Key.Key_K,
    "audit": Qt.Key.Key_A,
    "trust": Qt.Key.Key_T,  # focused by the window's fallback: its first list
}


def _window(qtbot: QtBot, ws: Workspace, runner: TaskRunner) -> MainWindow:
    window = MainWindow(ws, prompts=ScriptedPrompts(), runner=runner)
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    return window


@pytest.mark.parametrize("name", list(LIST_VIEWS))
def test_a_docked_list_view_opened_by_its_shortcut_has_the_focus_in_its_list(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner, name: str
) -> None:
    window = _window(qtbot, ws, runner)
    qtbot.keyClick(window, LIST_VIEWS[name], CTRL_SHIFT)
    qtbot.waitUntil(lambda: name in window._docks)
    table = window._docks[name].widget().findChild(QTableView)
    assert table is not None
    qtbot.waitUntil(lambda: QApplication.focusWidget() is table)


def test_the_peers_view_opens_with_the_first_peer_selected_so_verify_can_be_asked(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner, tmp_path: Path
) -> None:
    other = create_workspace(
        tmp_path / "ngo", "Varosa Documentation Project", PASSPHRASE, kdf=FAST_INSECURE_KDF
    )
    peers.add_peer(ws, parse_card(peers.card_bytes(other)), "ngo")
    other.close()
    window = _window(qtbot, ws, runner)
    asked: list[str] = []

    def ask_digits(_parent: object, peer: peers.Peer, _ours: str) -> None:
        asked.append(peer.office_name)

    qtbot.keyClick(window, Qt.Key.Key_P, CTRL_SHIFT)
    qtbot.waitUntil(lambda: "peers" in window._docks)
    view = window._docks["peers"].widget()
    assert isinstance(view, PeersView)
    view._ask_digits = ask_digits
    qtbot.waitUntil(lambda: QApplication.focusWidget() is view.table)
    qtbot.keyClick(view.table, Qt.Key.Key_Down)  # one peer: it stays selected
    assert view.selected_peer() is not None and view.verify_button.isEnabled()
    view.verify_button.click()  # Alt+V through a real keyboard: tests/e2e/test_sharing_walk.py
    assert asked == ["Varosa Documentation Project"]
