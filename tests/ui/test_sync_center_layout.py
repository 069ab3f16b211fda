"""The sync centre's sentences read as sentences beside the case list, at the window's
default size and on a 1024×700 screen (they used to wrap into a column a few words
wide), and Import is offered only while a listed bundle would bring something in."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from storage import cases
from storage.workspace import Workspace
from tests.sync import conftest as sync_fixtures
from tests.sync.conftest import Network
from ui.main_window import MainWindow
from ui.prompts import ScriptedPrompts
from ui.sync_center import LABEL_MIN_CHARS, TYPICAL_PEER, SyncCenter
from ui.tasks import TaskRunner

installation_templates = sync_fixtures.installation_templates
network = sync_fixtures.network

IMPORT_SENTENCE = (
    "Imported 1 of 1 bundle. 5 changesets in 2 cases, 0 evidence files, 0 new conflicts."
)
WAIT_MS = 60_000


def _lines(label: QLabel) -> int:
    return round(label.heightForWidth(label.width()) / label.fontMetrics().lineSpacing())


@pytest.mark.parametrize("size", [(1000, 640), (1024, 700)], ids=["default", "1024x700"])
def test_the_centres_sentences_read_as_sentences_beside_the_case_list(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner, size: tuple[int, int]
) -> None:
    window = MainWindow(ws, prompts=ScriptedPrompts(), runner=runner)
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    window.show_sync_center()
    center = window.findChild(SyncCenter)
    assert center is not None
    qtbot.waitUntil(lambda: not center.is_busy, timeout=WAIT_MS)
    assert window.width() <= size[0]  # the docked centre does not push the window wider
    center.listing_label.setText(IMPORT_SENTENCE)
    qtbot.waitUntil(lambda: _lines(center.listing_label) <= 2)
    average = center.fontMetrics().averageCharWidth()
    for label in (center.listing_label, center.progress_label):
        assert label.wordWrap()
        assert label.minimumWidth() >= LABEL_MIN_CHARS * average
    peers = center.peer_list.viewport().width()
    assert peers >= center.fontMetrics().horizontalAdvance(TYPICAL_PEER)


def test_import_is_not_offered_again_once_the_bundles_are_imported(
    network: Network, qtbot: QtBot, runner: TaskRunner
) -> None:
    case_id = cases.add_case(network.ws["kabora"], "Shelling of the Varosa market")
    network.share("kabora", case_id, "liaison")
    result = network.export("kabora", "liaison")
    stick: Path = result.head.parent.parent
    choose: Callable[..., Path] = lambda *_: stick  # noqa: E731
    center = SyncCenter(network.ws["liaison"], runner, ScriptedPrompts(), choose=choose)
    qtbot.addWidget(center)
    center.show()
    qtbot.waitUntil(lambda: not center.is_busy, timeout=WAIT_MS)
    qtbot.mouseClick(center.choose_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not center.is_busy and center.model.rowCount() == 1, timeout=WAIT_MS)
    assert center.import_button.isEnabled()
    with qtbot.waitSignal(center.imported, timeout=WAIT_MS):
        qtbot.mouseClick(center.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not center.is_busy, timeout=WAIT_MS)
    row = center.model.bundle(0)
    assert row is not None and row.state_text == "imported now"
    assert not center.import_button.isEnabled()
    assert "Nothing left to import" in center.import_button.toolTip()
    assert center.sync_button.isEnabled()  # writing bundles for peers is still offered
