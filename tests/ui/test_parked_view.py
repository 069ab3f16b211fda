"""The Parked view: what imports kept aside, for what it waits and since when. Dressa was
restored from a backup older than a Kabora case, so Kabora's next note on that case waits
for it; and Dressa quarantines a Kabora change signed after Dressa revoked Kabora's key."""

from __future__ import annotations

from pathlib import Path

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDockWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from storage import cases, queries
from storage.records import Case
from storage.workspace import Workspace
from sync import trust
from tests.sync import conftest as sync_fixtures
from tests.sync.conftest import Network
from tests.sync.test_parked import dressa_restored_before_a_case_reached_it
from ui.main_window import MainWindow
from ui.models.case_table import CaseIdRole
from ui.models.parked_model import ParkedModel
from ui.parked_view import NOTHING_WAITS, ParkedView
from ui.prompts import ScriptedPrompts
from ui.tasks import TaskRunner

installation_templates = sync_fixtures.installation_templates
network = sync_fixtures.network


def _waiting_and_quarantined(network: Network, tmp_path: Path) -> tuple[Workspace, str]:
    """Dressa (restored) with a parked note and a quarantined change; the id of the case of
    the quarantined one, which is here."""
    dressa = dressa_restored_before_a_case_reached_it(network, tmp_path)
    kabora = network.ws["kabora"]
    here = cases.add_case(kabora, "Shelling of Kabora market")
    network.share("kabora", here, "dressa", "liaison")
    assert network.send("kabora", "dressa").status == "imported"
    # From the last changeset Dressa holds: a point before it would take those back too.
    _, last_good = trust.last_seq_of(dressa, kabora.origin)
    trust.revoke_peer(dressa, network.peer("dressa", "kabora"), last_good, "laptop stolen")
    cases.update_case(kabora, here, summary="Signed after the revocation")
    # Kabora's own bundle, written after the revocation point, is refused whole at Dressa;
    # the change reaches Dressa forwarded by the liaison and is quarantined there.
    assert network.send("kabora", "dressa").status == "refused"
    assert network.send("kabora", "liaison").status == "imported"
    network.share("liaison", here, "dressa")
    assert network.send("liaison", "dressa").status == "imported"
    return dressa, here


def _view(qtbot: QtBot, ws: Workspace) -> ParkedView:
    view = ParkedView(ws)
    qtbot.addWidget(view)
    return view


def _column(view: ParkedView, column: int) -> list[str]:
    model = view.model
    return [model.index(row, column).data() for row in range(model.rowCount())]


def test_each_waiting_change_says_from_whom_its_case_for_what_and_since(
    qtbot: QtBot, network: Network, tmp_path: Path
) -> None:
    dressa, here = _waiting_and_quarantined(network, tmp_path)
    view = _view(qtbot, dressa)
    ModelTester(None).check(view.model)  # type: ignore[no-untyped-call]
    assert view.model.rowCount() == 2
    assert view.summary_label.text().startswith("1 change waits; 1 change is quarantined.")
    kabora = network.peer("dressa", "kabora").fingerprint.split()[:2]
    liaison = network.peer("dressa", "liaison").fingerprint.split()[:2]
    signer = f"Kabora field office (office, {' '.join(kabora)}…)"
    assert _column(view, ParkedModel.FROM) == [
        signer,
        f"{signer}, sent by Tribunal liaison (liaison, {' '.join(liaison)}…)",
    ]
    parked_case, quarantined_case = _column(view, ParkedModel.CASE)
    assert parked_case.endswith("(not here yet)")
    reference = queries.get(dressa.conn, Case, here).reference
    assert quarantined_case == f"{reference} Shelling of Kabora market"
    waits = _column(view, ParkedModel.WAITS_FOR)
    assert waits[0].startswith("earlier changes it builds on (")
    _, last_good = trust.last_seq_of(dressa, network.ws["kabora"].origin)
    assert waits[1] == (
        f"quarantined: it tried to change case {reference} (summary); signed with a key revoked"
        f" after its changeset {last_good} (laptop stolen)"
    )
    assert all(len(t) == 19 for t in _column(view, ParkedModel.SINCE))  # 2026-12-07 05:20:11
    tip = view.model.index(0, ParkedModel.WAITS_FOR).data(Qt.ItemDataRole.ToolTipRole)
    assert "earlier changes it builds on" in tip


def test_enter_on_a_row_whose_case_is_here_opens_it(
    qtbot: QtBot, network: Network, tmp_path: Path
) -> None:
    dressa, here = _waiting_and_quarantined(network, tmp_path)
    view = _view(qtbot, dressa)
    view.show()
    chosen: list[str] = []
    view.caseChosen.connect(chosen.append)
    view.table.setFocus()
    view.table.setCurrentIndex(view.model.index(0, 0))  # its case is not here: nothing
    qtbot.keyClick(view.table, Qt.Key.Key_Return)
    view.table.setCurrentIndex(view.model.index(1, 0))
    with qtbot.waitSignal(view.caseChosen):
        qtbot.keyClick(view.table, Qt.Key.Key_Return)
    assert chosen == [here]
    assert view.model.index(1, 0).data(CaseIdRole) == here


def test_nothing_waiting_says_so(qtbot: QtBot, ws: Workspace) -> None:
    view = _view(qtbot, ws)
    assert view.model.rowCount() == 0
    assert view.summary_label.text() == NOTHING_WAITS


def test_sync_parked_has_its_shortcut_and_opens_the_view_docked(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    window = MainWindow(ws, prompts=ScriptedPrompts(), runner=runner)
    qtbot.addWidget(window)
    window.show()
    assert window.parked_action.shortcut() == QKeySequence("Ctrl+Shift+W")
    sync_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Sync")
    assert window.parked_action in sync_menu.actions()
    window.parked_action.trigger()
    window.parked_action.trigger()  # a second time replaces, does not stack
    docks = [d for d in window.findChildren(QDockWidget) if d.windowTitle() == "Parked"]
    qtbot.waitUntil(lambda: sum(shiboken6.isValid(d) and d.isVisible() for d in docks) == 1)
    assert isinstance(window._docks["parked"].widget(), ParkedView)
    assert window._docks["parked"].accessibleName() == "Parked"
