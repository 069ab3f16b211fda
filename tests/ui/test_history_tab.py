"""A case's history tab lists its signed changes newest first, with their signatures."""

from __future__ import annotations

from storage.cases import add_case, add_note, update_case
from storage.records import CaseId
from storage.workspace import Workspace
from ui.case_tabs.history import HistoryTab
from ui.models.history_model import PAGE_SIZE, HistoryModel, SignatureOkRole
from ui.prompts import ScriptedPrompts
from ui.tasks import TaskRunner


def test_changes_are_listed_newest_first_with_verified_signatures(
    qtbot, ws: Workspace, runner: TaskRunner
) -> None:
    case_id = add_case(ws, "Burning of Dalo village")
    update_case(ws, case_id, title="Burning of Dalo and Kitrel")
    tab = HistoryTab(ws, CaseId(case_id), prompts=ScriptedPrompts(), runner=runner)
    qtbot.addWidget(tab)
    model = tab.model
    assert model.rowCount() == 2
    assert "update case" in model.index(0, HistoryModel.WHAT).data()
    assert "(title)" in model.index(0, HistoryModel.WHAT).data()
    assert model.index(1, HistoryModel.WHAT).data().startswith("create case")
    assert all(model.index(r, 0).data(SignatureOkRole) for r in range(2))
    assert model.index(0, HistoryModel.SIGNATURE).data() == "verified"
    # The signer as this office knows its key: the name, then whose key and its digits.
    assert model.index(0, HistoryModel.OFFICE).data().startswith(f"{ws.office_name} (this office, ")
    add_note(ws, case_id, "A new note")
    tab.refresh()
    assert model.rowCount() == 3


def test_a_long_history_is_read_a_page_at_a_time(qtmodeltester, ws: Workspace) -> None:
    case_id = add_case(ws, "Case with a long history")
    with ws.transaction():
        for n in range(PAGE_SIZE + 10):
            add_note(ws, case_id, f"note {n}")
    model = HistoryModel(ws.conn, case_id)
    assert model.rowCount() == PAGE_SIZE and model.canFetchMore()
    model.fetchMore()
    assert model.rowCount() == PAGE_SIZE + 11
    qtmodeltester.check(model)


def test_a_changed_byte_shows_as_a_signature_that_does_not_verify(
    ws: Workspace,
) -> None:
    case_id = add_case(ws, "Case")
    cs_id, body = ws.conn.execute(
        "SELECT id, body FROM changesets WHERE case_id = ?", (case_id,)
    ).fetchone()
    altered = bytes(body).replace(b'"Case"', b'"Cane"')  # someone with the key, tampering
    ws.conn.execute("UPDATE changesets SET body = ? WHERE id = ?", (altered, cs_id))
    model = HistoryModel(ws.conn, case_id)
    assert model.index(0, HistoryModel.SIGNATURE).data() == "DOES NOT VERIFY"
