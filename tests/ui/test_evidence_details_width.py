"""Showing an evidence item never makes the window wider than it was.

Found by the end-to-end walk (tests/e2e/test_sharing_walk.py): the item's SHA-256 (64
characters with no space to wrap at) and a long file name held the register as wide as
their text, so opening an item pushed the main window past the right edge of a
1280-pixel screen, its close button out of reach."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from storage import cases, evidence
from storage.workspace import Workspace
from ui.case_tabs.evidence import EvidenceTab, grouped_digest
from ui.case_view import CaseView
from ui.main_window import MainWindow
from ui.prompts import ScriptedPrompts
from ui.tasks import TaskRunner

LONG_NAME = "IMG_20270315_104512_north_wall_of_the_market_after_the_second_strike.jpg"


def test_opening_an_item_with_a_long_name_keeps_the_window_on_the_screen(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner, tmp_path: Path
) -> None:
    case_id = cases.add_case(ws, "Shelling of the Kabora market")
    photo = tmp_path / LONG_NAME
    photo.write_bytes(b"jpeg bytes" * 40)
    evidence.add_evidence(ws, case_id, photo)
    window = MainWindow(ws, prompts=ScriptedPrompts(), runner=runner)
    qtbot.addWidget(window)
    window.resize(1000, 640)
    window.show()
    qtbot.waitExposed(window)
    before = window.width()

    window.open_case(case_id)
    view = window._docks["case"].widget()
    assert isinstance(view, CaseView)
    tab = view.findChild(EvidenceTab)
    assert tab is not None
    view.tabs.setCurrentWidget(tab)
    empty = tab.details_tabs.minimumSizeHint().width()  # before the item is read
    qtbot.waitUntil(lambda: tab.details is not None, timeout=60_000)
    qtbot.waitUntil(lambda: tab.is_idle, timeout=60_000)
    QApplication.processEvents()

    assert tab.details_tabs.minimumSizeHint().width() == empty  # the item added no width
    assert window.width() == before
    details = tab.details
    assert details is not None
    assert tab.hash_label.text() == grouped_digest(details.item.sha256)
    assert tab.hash_label.text().replace(" ", "") == details.item.sha256
    assert tab.hash_label.toolTip() == details.item.sha256


def test_a_digest_is_shown_in_groups_of_eight() -> None:
    digest = "f520d4b1a32ce080e21efba13d03cf81cdcddd988734dae7cefb15832cd3980a"
    assert grouped_digest(digest) == (
        "f520d4b1 a32ce080 e21efba1 3d03cf81 cdcddd98 8734dae7 cefb1583 2cd3980a"
    )
    assert grouped_digest("") == ""
