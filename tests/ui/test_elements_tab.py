"""The Elements tab: the legal elements matrix, its gaps, and linking evidence from the GUI.

Data is recorded with the storage functions (a Varosa case, two elements of one charge, two
evidence items); the tab is a real widget driven through its buttons and ScriptedPrompts,
and the element form is played by `fill_element` (the form itself is tested in
test_incident_element_forms.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from storage import cases, changesets, queries
from storage.evidence import add_evidence
from storage.records import CaseId, Element, ElementId, EvidenceId, Link
from storage.workspace import Workspace
from ui.case_tabs.elements import ElementsTab
from ui.dialogs.element_form import ElementDraft, ElementForm
from ui.models.elements_matrix_model import (
    GAP_CELL_COLOURS,
    NONE,
    SUPPORT_COLOURS,
    WEAK,
    ElementIdRole,
    ElementsMatrixModel,
    EvidenceIdRole,
    GapRole,
    LinkIdRole,
    SupportRole,
)
from ui.prompts import Asked, ScriptedPrompts
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


def last_change(ws: Workspace) -> list[tuple[str, str, str, list[str]]]:
    """The ops of the newest signed changeset: kind, entity, id and the fields named."""
    row = ws.conn.execute("SELECT body FROM changesets ORDER BY hlc DESC LIMIT 1").fetchone()
    ops = changesets.decode(bytes(row[0])).ops
    return [(op.kind, op.entity, op.entity_id, sorted(op.fields)) for op in ops]


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


def test_the_empty_cells_of_a_gap_row_are_tinted_for_its_own_kind_of_gap(
    qtbot: QtBot, ws: Workspace, tmp_path: Path, runner: TaskRunner
) -> None:
    """A weak-only row's empty cells used to carry the "no evidence" tint."""
    data = make_matrix(ws, tmp_path)
    cases.add_link(ws, data.statement, data.civilians, strength="weak", status="disputed")
    tab = make_tab(qtbot, ws, data.case_id, ScriptedPrompts(), runner)
    weak_empty = tab.model.index(*cell(tab.model, data.civilians, data.photo))
    assert weak_empty.data() == ""
    weak_tint = weak_empty.data(Qt.ItemDataRole.BackgroundRole)
    assert weak_tint == GAP_CELL_COLOURS[WEAK] != GAP_CELL_COLOURS[NONE]
    cases.add_element(ws, data.case_id, CHARGE, "A third element with no evidence")
    tab.refresh()
    bare = next(r for r in range(tab.model.rowCount()) if tab.model.support(r) == NONE)
    none_tint = tab.model.index(bare, 0).data(Qt.ItemDataRole.BackgroundRole)
    assert none_tint == GAP_CELL_COLOURS[NONE]


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


@dataclass(frozen=True)
class TypedElement:
    """What a test types into the element form (fields left None are not touched)."""

    charge: str | None = None
    element: str | None = None
    article: str | None = None
    mode: str | None = None


ElementAsk = Callable[[QWidget, ElementDraft | None, Mapping[str, str]], dict[str, str] | None]
Seen = list[tuple[ElementDraft | None, dict[str, str]]]


def fill_element(qtbot: QtBot, typed: TypedElement | None, seen: Seen | None = None) -> ElementAsk:
    """Plays a person at the real ElementForm: chooses or types a charge, types the rest,
    presses Enter in the charge field (or Escape for None). `seen` collects what the form
    was opened with: the element's values (None when adding) and the charges offered."""

    def ask(
        parent: QWidget, original: ElementDraft | None, charges: Mapping[str, str]
    ) -> dict[str, str] | None:
        if seen is not None:
            seen.append((original, dict(charges)))
        form = ElementForm(parent, original, charges)
        qtbot.addWidget(form)
        form.show()
        line = form.charge_combo.lineEdit()
        assert line is not None
        if typed is None:
            qtbot.keyClick(line, Qt.Key.Key_Escape)
            return None
        if typed.charge is not None:
            if typed.charge in charges:
                form.set_charge(typed.charge)  # chosen from the list
            else:
                line.clear()
                qtbot.keyClicks(line, typed.charge)
        for edit, text in ((form.article_edit, typed.article), (form.mode_edit, typed.mode)):
            if text is not None:
                edit.clear()
                qtbot.keyClicks(edit, text)
        if typed.element is not None:
            form.element_edit.clear()
            qtbot.keyClicks(form.element_edit, typed.element)
        assert form.ok_button.isEnabled(), form.problems()
        qtbot.keyClick(line, Qt.Key.Key_Return)
        assert form.result() == QDialog.DialogCode.Accepted
        return form.changes()

    return ask


def test_adding_an_element_puts_it_under_its_charge_and_selects_it(
    qtbot: QtBot, ws: Workspace, tmp_path: Path, runner: TaskRunner
) -> None:
    data = make_matrix(ws, tmp_path)
    cases.add_element(ws, data.case_id, "Pillage", "The perpetrator appropriated property")
    tab = make_tab(qtbot, ws, data.case_id, ScriptedPrompts(), runner)
    seen: Seen = []
    tab.ask_element = fill_element(
        qtbot, TypedElement(CHARGE, "The perpetrator was aware of the armed conflict"), seen
    )
    states: list[bool] = []
    tab.busy.connect(states.append)
    with qtbot.waitSignal(tab.changed, timeout=10_000):
        qtbot.mouseClick(tab.add_element_button, Qt.MouseButton.LeftButton)
    assert seen == [(None, {CHARGE: "8(2)(c)(i)", "Pillage": ""})]
    assert states == [True, False]
    charges = [tab.model.element(r).charge for r in range(tab.model.rowCount())]  # type: ignore[union-attr]
    assert charges == [CHARGE, CHARGE, CHARGE, "Pillage"]
    current = tab.model.element(tab.table.currentIndex().row())
    assert current is not None and current.element.startswith("The perpetrator was aware")
    assert current.article == "8(2)(c)(i)"  # brought by the chosen charge
    assert tab.summary() == "4 elements, 3 without evidence."


def test_an_element_of_a_new_charge_starts_its_group(
    qtbot: QtBot, ws: Workspace, tmp_path: Path, runner: TaskRunner
) -> None:
    data = make_matrix(ws, tmp_path)
    tab = make_tab(qtbot, ws, data.case_id, ScriptedPrompts(), runner)
    tab.ask_element = fill_element(
        qtbot,
        TypedElement("Murder", "The perpetrator killed", article="7(1)(a)", mode="ordering"),
    )
    with qtbot.waitSignal(tab.changed, timeout=10_000):
        tab.add_element()
    current = tab.selected_element()
    assert current is not None
    assert (current.charge, current.article, current.mode_of_liability) == (
        "Murder",
        "7(1)(a)",
        "ordering",
    )
    assert tab.model.row_of(current.id) == 2


def test_a_cancelled_form_records_nothing(
    qtbot: QtBot, ws: Workspace, tmp_path: Path, runner: TaskRunner
) -> None:
    data = make_matrix(ws, tmp_path)
    tab = make_tab(qtbot, ws, data.case_id, ScriptedPrompts(), runner)
    tab.ask_element = fill_element(qtbot, None)
    tab.select_cell(0, 0)
    with qtbot.assertNotEmitted(tab.changed), qtbot.assertNotEmitted(tab.busy):
        tab.add_element()
        tab.edit_selected_element()
    assert tab.model.rowCount() == 2


def test_an_element_storage_refuses_is_said_plainly_and_nothing_is_recorded(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    """The form refuses an over-long article before OK; should one reach storage anyway,
    its sentence is shown as a warning and nothing is recorded."""
    case_id = cases.add_case(ws, "An empty case")
    prompts = ScriptedPrompts()
    tab = make_tab(qtbot, ws, case_id, prompts, runner)
    assert tab.summary().startswith("No legal elements yet")
    assert not tab.link_button.isEnabled() and not tab.edit_element_button.isEnabled()
    tab.ask_element = lambda _parent, _original, _charges: {
        "charge": CHARGE,
        "element": KILLED,
        "article": "8" * 129,
    }
    with qtbot.waitSignal(tab.busy, timeout=10_000, check_params_cb=lambda busy: not busy):
        tab.add_element()
    assert prompts.asked == [
        Asked(
            "warn",
            "Add element",
            "Article is longer than 128 characters. Nothing was recorded.",
        )
    ]
    assert tab.model.rowCount() == 0
    assert tab.add_element_button.isEnabled()


def test_editing_an_element_records_only_the_changed_fields_and_keeps_the_cell(
    qtbot: QtBot, ws: Workspace, tmp_path: Path, runner: TaskRunner
) -> None:
    data = make_matrix(ws, tmp_path)
    tab = make_tab(qtbot, ws, data.case_id, ScriptedPrompts(), runner)
    row, column = cell(tab.model, data.killed, data.photo)
    tab.select_cell(row, column)
    assert tab.edit_element_button.isEnabled()
    seen: Seen = []
    tab.ask_element = fill_element(qtbot, TypedElement(mode="direct perpetration"), seen)
    with qtbot.waitSignal(tab.changed, timeout=10_000):
        qtbot.mouseClick(tab.edit_element_button, Qt.MouseButton.LeftButton)
    killed = queries.get(ws.conn, Element, data.killed)
    assert seen == [(ElementDraft(CHARGE, "8(2)(c)(i)", KILLED, ""), {CHARGE: "8(2)(c)(i)"})]
    assert (killed.charge, killed.element, killed.mode_of_liability) == (
        CHARGE,
        KILLED,
        "direct perpetration",
    )
    assert last_change(ws) == [("update", "element", data.killed, ["mode_of_liability"])]
    assert tab.table.currentIndex() == tab.model.index(*cell(tab.model, data.killed, data.photo))
    assert tab.model.index(row, column).data() == "strong · undisputed"  # the link stays


def test_editing_the_charge_moves_the_element_to_that_charges_group(
    qtbot: QtBot, ws: Workspace, tmp_path: Path, runner: TaskRunner
) -> None:
    data = make_matrix(ws, tmp_path)
    pillage = cases.add_element(ws, data.case_id, "Pillage", "The perpetrator appropriated")
    tab = make_tab(qtbot, ws, data.case_id, ScriptedPrompts(), runner)
    tab.select_cell(*cell(tab.model, data.killed, data.photo))
    tab.ask_element = fill_element(qtbot, TypedElement(charge="Pillage"))
    with qtbot.waitSignal(tab.changed, timeout=10_000):
        tab.edit_selected_element()
    killed = queries.get(ws.conn, Element, data.killed)
    assert (killed.charge, killed.article) == ("Pillage", "8(2)(c)(i)")  # article as it was
    rows = [tab.model.element(r) for r in range(tab.model.rowCount())]
    assert [(e.id, e.charge) for e in rows if e] == [
        (data.killed, "Pillage"),
        (pillage, "Pillage"),
        (data.civilians, CHARGE),
    ]
    assert tab.selected_element() == killed
    assert tab.table.currentIndex() == tab.model.index(*cell(tab.model, data.killed, data.photo))


def test_activating_a_support_cell_or_a_row_header_edits_the_element(
    qtbot: QtBot, ws: Workspace, tmp_path: Path, runner: TaskRunner
) -> None:
    data = make_matrix(ws, tmp_path)
    prompts = ScriptedPrompts()
    tab = make_tab(qtbot, ws, data.case_id, prompts, runner)
    seen: Seen = []
    tab.ask_element = fill_element(qtbot, None, seen)
    civilians_row = tab.model.row_of(data.civilians)
    tab.table.activated.emit(tab.model.index(civilians_row, tab.model.support_column))
    header = tab.table.verticalHeader()
    killed_row = tab.model.row_of(data.killed)
    header.sectionDoubleClicked.emit(killed_row)
    assert [draft.element if draft else None for draft, _charges in seen] == [CIVILIANS, KILLED]
    assert tab.table.currentIndex().row() == killed_row
    assert prompts.asked == []  # no link prompt


def test_activating_a_link_cell_still_edits_the_link(
    qtbot: QtBot, ws: Workspace, tmp_path: Path, runner: TaskRunner
) -> None:
    data = make_matrix(ws, tmp_path)
    prompts = ScriptedPrompts([None])  # the strength question, cancelled
    tab = make_tab(qtbot, ws, data.case_id, prompts, runner)
    seen: Seen = []
    tab.ask_element = fill_element(qtbot, None, seen)
    index = tab.model.index(*cell(tab.model, data.killed, data.photo))
    tab.select_cell(index.row(), index.column())
    tab.table.activated.emit(index)
    assert prompts.asked[0].title == "Edit link" and seen == []
