"""The Elements tab: the legal elements matrix, its gaps, and linking evidence from the GUI.

Data is recorded with the storage functions (a Varosa case, two elements of one charge, two
evidence items); the tab is a real widget driven through its buttons and ScriptedPrompts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from storage import cases, queries
from storage.evidence import add_evidence
from storage.records import CaseId, ElementId, EvidenceId, Link
from storage.workspace import Workspace
from ui.case_tabs.elements import ElementsTab
from ui.models.elements_matrix_model import (
    SUPPORT_COLOURS,
    ElementIdRole,
    ElementsMatrixModel,
    EvidenceIdRole,
    GapRole,
    LinkIdRole,
    SupportRole,
)
from ui.prompts import ScriptedPrompts
from ui.tasks import TaskRunner

CHARGE = "Murder as a war crime"
KILLED = "The perpetrator killed one or more persons"
CIVILIANS = "Such person or persons were civilians taking no active part in the hostilities"


@dataclass
class Matrix:
    """A case with two elements of one charge and two evidence items, one link."""

    case_id: CaseId
    killed: ElementId
    civilians: ElementId
    photo: EvidenceId
    statement: EvidenceId


def make_matrix(ws: Workspace, tmp_path: Path) -> Matrix:
    case_id = cases.add_case(ws, "Shelling of the Oru market")
    killed = cases.add_element(ws, case_id, CHARGE, KILLED, article="8(2)(c)(i)")
    civilians = cases.add_element(ws, case_id, CHARGE, CIVILIANS, article="8(2)(c)(i)")
    items = []
    for number, name in ((117, "market.jpg"), (118, "statement.txt")):
        path = tmp_path / name
        path.write_bytes(f"fictional content of {name}".encode())
        items.append(add_evidence(ws, case_id, path, ern=f"VAR-OTP-0003-{number:04d}"))
    cases.add_link(ws, items[0], killed, strength="strong", status="undisputed")
    return Matrix(case_id, killed, civilians, items[0], items[1])


def make_tab(
    qtbot: QtBot, ws: Workspace, case_id: CaseId, prompts: ScriptedPrompts, runner: TaskRunner
) -> ElementsTab:
    tab = ElementsTab(ws, case_id, prompts=prompts, runner=runner)
    qtbot.addWidget(tab)
    tab.show()
    qtbot.waitExposed(tab)
    return tab


def cell(model: ElementsMatrixModel, element: str, evidence: str) -> tuple[int, int]:
    return model.row_of(element), model.column_of(evidence)


@pytest.mark.qt_log_level_fail("WARNING")  # Qt's own tester reports through warnings
@pytest.mark.parametrize("force_py", [False, True], ids=["qt-tester", "py-tester"])
def test_model_passes_qtmodeltester(
    qtmodeltester: ModelTester, ws: Workspace, tmp_path: Path, force_py: bool
) -> None:
    empty_case = cases.add_case(ws, "An empty case")
    qtmodeltester.check(ElementsMatrixModel(ws, empty_case), force_py=force_py)
    data = make_matrix(ws, tmp_path)
    model = ElementsMatrixModel(ws, data.case_id)
    qtmodeltester.check(model, force_py=force_py)
    assert (model.rowCount(), model.columnCount()) == (2, 3)
    model.refresh()
    names = [name.data() for name in model.roleNames().values()]
    assert {b"linkId", b"elementId", b"evidenceId", b"support", b"gap"} <= set(names)


def test_matrix_shows_elements_against_evidence_with_the_link_in_its_cell(
    qtbot: QtBot, ws: Workspace, tmp_path: Path, runner: TaskRunner
) -> None:
    data = make_matrix(ws, tmp_path)
    tab = make_tab(qtbot, ws, data.case_id, ScriptedPrompts(), runner)
    model = tab.model
    across = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(3)]
    assert across == ["VAR-OTP-0003-0117", "VAR-OTP-0003-0118", "Support"]
    down = str(model.headerData(model.row_of(data.killed), Qt.Orientation.Vertical))
    assert CHARGE in down and "8(2)(c)(i)" in down and KILLED in down

    row, column = cell(model, data.killed, data.photo)
    index = model.index(row, column)
    assert index.data() == "strong · undisputed"
    link = queries.links_of(ws.conn, data.killed)[0]
    assert index.data(LinkIdRole) == link.id
    assert index.data(ElementIdRole) == data.killed
    assert index.data(EvidenceIdRole) == data.photo
    other = model.index(row, model.column_of(data.statement))
    assert other.data() == "" and other.data(LinkIdRole) is None
    assert model.index(row, model.support_column).data() == "strong"
    assert model.index(row, model.support_column).data(EvidenceIdRole) is None


def test_an_element_without_links_is_a_gap_and_counted_in_the_summary(
    qtbot: QtBot, ws: Workspace, tmp_path: Path, runner: TaskRunner
) -> None:
    data = make_matrix(ws, tmp_path)
    tab = make_tab(qtbot, ws, data.case_id, ScriptedPrompts(), runner)
    model = tab.model
    gap_row = model.row_of(data.civilians)
    header = str(model.headerData(gap_row, Qt.Orientation.Vertical))
    assert header.startswith("No evidence")
    assert model.headerData(gap_row, Qt.Orientation.Vertical, GapRole) is True
    assert (
        model.headerData(gap_row, Qt.Orientation.Vertical, Qt.ItemDataRole.BackgroundRole)
        == SUPPORT_COLOURS["none"]
    )
    support = model.index(gap_row, model.support_column)
    assert support.data() == "none (no evidence)"
    assert support.data(SupportRole) == "none"
    full_row = model.row_of(data.killed)
    assert model.headerData(full_row, Qt.Orientation.Vertical, GapRole) is False
    assert not str(model.headerData(full_row, Qt.Orientation.Vertical)).startswith("No evidence")
    assert tab.summary() == "2 elements, 1 without evidence."


def test_only_weak_evidence_is_a_gap_too(
    qtbot: QtBot, ws: Workspace, tmp_path: Path, runner: TaskRunner
) -> None:
    data = make_matrix(ws, tmp_path)
    cases.add_link(ws, data.statement, data.civilians, strength="weak", status="disputed")
    tab = make_tab(qtbot, ws, data.case_id, ScriptedPrompts(), runner)
    row = tab.model.row_of(data.civilians)
    assert tab.model.index(row, tab.model.support_column).data() == "weak only (gap)"
    assert tab.model.headerData(row, Qt.Orientation.Vertical, GapRole) is True
    assert tab.summary() == "2 elements, 0 without evidence, 1 with only weak evidence."


def test_linking_through_the_tab_fills_the_cell_and_closes_the_gap(
    qtbot: QtBot, ws: Workspace, tmp_path: Path, runner: TaskRunner
) -> None:
    data = make_matrix(ws, tmp_path)
    prompts = ScriptedPrompts(["Moderate", "prospective"])
    tab = make_tab(qtbot, ws, data.case_id, prompts, runner)
    tab.select_cell(*cell(tab.model, data.civilians, data.statement))
    assert tab.link_button.isEnabled() and tab.link_button.text() == "&Link…"
    with qtbot.waitSignal(tab.changed, timeout=10_000):
        qtbot.mouseClick(tab.link_button, Qt.MouseButton.LeftButton)
    row, column = cell(tab.model, data.civilians, data.statement)
    assert tab.model.index(row, column).data() == "moderate · prospective"
    assert tab.model.headerData(row, Qt.Orientation.Vertical, GapRole) is False
    assert tab.summary() == "2 elements, 0 without evidence."
    assert [asked.kind for asked in prompts.asked] == ["text", "text"]
    stored = queries.links_of(ws.conn, data.civilians)
    assert [(s.strength, s.status) for s in stored] == [("moderate", "prospective")]
    assert tab.table.currentIndex() == tab.model.index(row, column)  # the cell stays current


def test_editing_a_link_changes_it_in_place(
    qtbot: QtBot, ws: Workspace, tmp_path: Path, runner: TaskRunner
) -> None:
    """The same link gets the new strength and status (an edit that syncs as one)."""
    data = make_matrix(ws, tmp_path)
    old = queries.links_of(ws.conn, data.killed)[0]
    prompts = ScriptedPrompts(["weak", "disputed"])
    tab = make_tab(qtbot, ws, data.case_id, prompts, runner)
    tab.select_cell(*cell(tab.model, data.killed, data.photo))
    assert tab.link_button.text() == "Edit &link…"
    with qtbot.waitSignal(tab.changed, timeout=10_000):
        tab.link_selected()
    assert prompts.asked[0].text.startswith("Strength of")
    row, column = cell(tab.model, data.killed, data.photo)
    assert tab.model.index(row, column).data() == "weak · disputed"
    changed = queries.get(ws.conn, Link, old.id)
    assert (changed.withdrawn, changed.strength, changed.status) == (0, "weak", "disputed")
    assert [link.id for link in queries.links_of(ws.conn, data.killed)] == [old.id]
    assert tab.summary() == "2 elements, 1 without evidence, 1 with only weak evidence."


def test_an_unknown_strength_is_refused_plainly_and_nothing_is_recorded(
    qtbot: QtBot, ws: Workspace, tmp_path: Path, runner: TaskRunner
) -> None:
    data = make_matrix(ws, tmp_path)
    prompts = ScriptedPrompts(["very strong"])
    tab = make_tab(qtbot, ws, data.case_id, prompts, runner)
    tab.select_cell(*cell(tab.model, data.civilians, data.photo))
    tab.link_selected()
    assert prompts.asked[-1].kind == "warn"
    assert "strong, moderate or weak" in prompts.asked[-1].text
    assert queries.links_of(ws.conn, data.civilians) == []


def test_removing_a_link_reopens_the_gap(
    qtbot: QtBot, ws: Workspace, tmp_path: Path, runner: TaskRunner
) -> None:
    data = make_matrix(ws, tmp_path)
    tab = make_tab(qtbot, ws, data.case_id, ScriptedPrompts([True]), runner)
    tab.select_cell(*cell(tab.model, data.killed, data.photo))
    assert tab.remove_link_button.isEnabled()
    with qtbot.waitSignal(tab.changed, timeout=10_000):
        qtbot.mouseClick(tab.remove_link_button, Qt.MouseButton.LeftButton)
    assert tab.summary() == "2 elements, 2 without evidence."


def test_adding_an_element_puts_it_under_its_charge_and_selects_it(
    qtbot: QtBot, ws: Workspace, tmp_path: Path, runner: TaskRunner
) -> None:
    data = make_matrix(ws, tmp_path)
    cases.add_element(ws, data.case_id, "Pillage", "The perpetrator appropriated property")
    prompts = ScriptedPrompts([CHARGE, "The perpetrator was aware of the armed conflict", ""])
    tab = make_tab(qtbot, ws, data.case_id, prompts, runner)
    with qtbot.waitSignal(tab.changed, timeout=10_000):
        qtbot.mouseClick(tab.add_element_button, Qt.MouseButton.LeftButton)
    charges = [tab.model.element(r).charge for r in range(tab.model.rowCount())]  # type: ignore[union-attr]
    assert charges == [CHARGE, CHARGE, CHARGE, "Pillage"]
    current = tab.model.element(tab.table.currentIndex().row())
    assert current is not None and current.element.startswith("The perpetrator was aware")
    assert tab.summary() == "4 elements, 3 without evidence."


def test_an_element_without_a_charge_is_refused_plainly(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    case_id = cases.add_case(ws, "An empty case")
    prompts = ScriptedPrompts(["  "])
    tab = make_tab(qtbot, ws, case_id, prompts, runner)
    assert tab.summary().startswith("No legal elements yet")
    assert not tab.link_button.isEnabled()
    tab.add_element()
    assert prompts.asked[-1].kind == "warn" and "needs a charge" in prompts.asked[-1].text
    assert tab.model.rowCount() == 0
