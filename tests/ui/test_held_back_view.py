"""The Held back view: changes an import refused, from whom, what they tried and why.

Kabora (a compromised copy of Valise) sends the liaison three changes, one per case, each
writing a protected witness's legal name in clear; the liaison holds all three back."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDockWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from storage import cases, queries
from storage.changesets import Op
from storage.records import Case
from storage.workspace import Workspace, new_id
from tests.sync import conftest as sync_fixtures
from tests.sync.conftest import Network
from tests.sync.test_held_back import _forge
from ui import held_back_view
from ui.held_back_view import ADVICE, NOTHING_HELD, HeldBackView
from ui.main_window import MainWindow
from ui.models import held_back_model
from ui.models.case_table import CaseIdRole
from ui.models.held_back_model import HeldBackModel
from ui.prompts import ScriptedPrompts
from ui.tasks import TaskRunner

installation_templates = sync_fixtures.installation_templates
network = sync_fixtures.network


def _three_held_back(network: Network) -> list[str]:
    """Three Kabora cases at the liaison, and a change to each held back there."""
    kabora = network.ws["kabora"]
    case_ids = [cases.add_case(kabora, f"Case {n} of Kabora") for n in range(3)]
    for case_id in case_ids:
        network.share("kabora", case_id, "liaison")
    assert network.send("kabora", "liaison").status == "imported"
    for case_id in case_ids:
        person = {"case_id": case_id, "role": "witness", "legal_name": "Amal Haddad"}
        _forge(kabora, case_id, [Op("person", new_id(), "create", person, {})])
    assert network.send("kabora", "liaison").quarantined == 3
    return case_ids


def _view(qtbot: QtBot, ws: Workspace) -> HeldBackView:
    view = HeldBackView(ws)
    qtbot.addWidget(view)
    return view


def _column(view: HeldBackView, column: int) -> list[str]:
    return [view.model.index(row, column).data() for row in range(view.model.rowCount())]


def test_each_held_back_change_says_from_whom_what_and_why(
    qtbot: QtBot, network: Network, monkeypatch: object
) -> None:
    case_ids = _three_held_back(network)
    liaison = network.ws["liaison"]
    monkeypatch.setattr(held_back_model, "PAGE_SIZE", 2)  # type: ignore[attr-defined]
    view = _view(qtbot, liaison)
    # Read as it scrolls: one page first, the rest when the view asks for more.
    assert view.model.rowCount() == 2 and view.model.canFetchMore()
    assert view.model.total == 3
    assert view.summary_label.text() == f"3 changes are held back. {ADVICE}"
    ModelTester(None).check(view.model)  # type: ignore[no-untyped-call]
    while view.model.canFetchMore():
        view.model.fetchMore()
    assert view.model.rowCount() == 3
    digits = " ".join(network.peer("liaison", "kabora").fingerprint.split()[:2])
    assert _column(view, HeldBackModel.FROM) == [f"Kabora field office (office, {digits}…)"] * 3
    assert _column(view, HeldBackModel.WHAT) == ["add a person"] * 3
    assert all(
        "protected person field “legal name” in clear instead of sealed" in why
        for why in _column(view, HeldBackModel.WHY)
    )
    references = {queries.get(liaison.conn, Case, c).reference for c in case_ids}
    assert {text.split()[0] for text in _column(view, HeldBackModel.CASE)} == references
    tip = view.model.index(0, HeldBackModel.FROM).data(Qt.ItemDataRole.ToolTipRole)
    assert network.peer("liaison", "kabora").fingerprint in tip
    assert "Amal" not in " ".join(
        str(view.model.index(r, c).data(Qt.ItemDataRole.ToolTipRole))
        for r in range(3)
        for c in range(5)
    )


def test_enter_on_a_held_back_row_opens_its_case(qtbot: QtBot, network: Network) -> None:
    case_ids = _three_held_back(network)
    view = _view(qtbot, network.ws["liaison"])
    view.show()
    view.table.setFocus()
    view.table.setCurrentIndex(view.model.index(1, 0))
    with qtbot.waitSignal(view.caseChosen) as chosen:
        qtbot.keyClick(view.table, Qt.Key.Key_Return)
    assert chosen.args == [view.model.index(1, 0).data(CaseIdRole)]
    assert chosen.args[0] in case_ids


def test_nothing_held_back_says_so(qtbot: QtBot, ws: Workspace) -> None:
    view = _view(qtbot, ws)
    assert view.model.rowCount() == 0 and not view.model.canFetchMore()
    assert view.summary_label.text() == NOTHING_HELD == held_back_view.NOTHING_HELD


def test_sync_held_back_has_its_shortcut_and_opens_the_view_docked(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    window = MainWindow(ws, prompts=ScriptedPrompts(), runner=runner)
    qtbot.addWidget(window)
    window.show()
    assert window.held_back_action.shortcut() == QKeySequence("Ctrl+Shift+H")
    sync_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Sync")
    assert window.held_back_action in sync_menu.actions()
    qtbot.keyClick(
        window,
        Qt.Key.Key_H,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    window.held_back_action.trigger()  # a second time replaces, does not stack
    docks = [d for d in window.findChildren(QDockWidget) if d.windowTitle() == "Held back"]
    qtbot.waitUntil(lambda: sum(shiboken6.isValid(d) and d.isVisible() for d in docks) == 1)
    assert isinstance(window._docks["held_back"].widget(), HeldBackView)


def test_the_chosen_change_is_told_whole_under_the_list(qtbot: QtBot, network: Network) -> None:
    """Found by the end-to-end walk (tests/e2e/test_held_back_walk.py): docked beside the
    cases, the list showed who and what, and the reason was off to the right."""
    _three_held_back(network)
    view = _view(qtbot, network.ws["liaison"])
    view.show()
    assert view.detail_label.isHidden()  # nothing chosen yet
    view.table.setCurrentIndex(view.model.index(1, HeldBackModel.FROM))
    held = view.model.held(1)
    assert held is not None
    text = view.detail_label.text()
    assert text.startswith(held.reason.strip())
    assert f"It tried to {held.what}. Case: {held.case}." in text
    assert text.endswith(" UTC.")
    assert view.detail_label.isVisible()
    view.refresh()  # a reread keeps the chosen change told
    assert view.detail_label.text() == text
