"""The audit view lists the chain newest first, filters it, and verifies it on the worker."""

from __future__ import annotations

import pytest

from storage import audit
from storage.cases import add_case
from storage.workspace import Workspace
from ui.audit_view import AuditView
from ui.main_window import MainWindow
from ui.models.audit_model import PAGE_SIZE, AuditModel
from ui.prompts import ScriptedPrompts
from ui.tasks import TaskRunner


@pytest.fixture
def view(qtbot, ws: Workspace, runner: TaskRunner) -> AuditView:
    for n in range(3):
        add_case(ws, f"Case {n}")
    widget = AuditView(ws, runner, ScriptedPrompts())
    qtbot.addWidget(widget)
    return widget


def test_entries_are_newest_first_and_filtered_by_kind(view: AuditView, ws: Workspace) -> None:
    newest = audit.entries(ws.conn, 1)[0]
    assert view.model.index(0, AuditModel.SEQ).data() == str(newest.seq)
    kinds = [view.action_box.itemText(i) for i in range(view.action_box.count())]
    assert kinds[0] == "All entries" and set(kinds[1:]) == set(audit.actions(ws.conn))
    kind = kinds[1]
    view.action_box.setCurrentIndex(1)
    shown = {view.model.index(r, AuditModel.ACTION).data() for r in range(view.model.rowCount())}
    assert shown == {kind}


def test_a_long_chain_is_read_a_page_at_a_time(qtmodeltester, ws: Workspace) -> None:
    with ws.transaction():
        for n in range(PAGE_SIZE + 50):
            audit.append(ws.conn, "tester", "viewed", f"record {n}")
    model = AuditModel(ws.conn)
    assert model.rowCount() == PAGE_SIZE and model.canFetchMore()
    model.fetchMore()
    assert model.rowCount() > PAGE_SIZE
    seqs = [int(model.index(r, AuditModel.SEQ).data()) for r in range(model.rowCount())]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == len(seqs)
    qtmodeltester.check(model)


def test_verify_says_the_chain_holds_then_names_a_broken_entry(
    qtbot, view: AuditView, ws: Workspace
) -> None:
    with qtbot.waitSignals([view.busy, view.busy], timeout=10_000):
        view.verify_button.click()
    assert view.result_label.text().startswith("The chain holds")
    ws.conn.execute("DROP TRIGGER audit_no_update")  # someone with the key, tampering
    ws.conn.execute("UPDATE audit SET detail = 'rewritten' WHERE seq = 2")
    with qtbot.waitSignals([view.busy, view.busy], timeout=10_000):
        view.verify_button.click()
    assert "broken at entry 2" in view.result_label.text()


def test_verify_says_plainly_that_a_chain_without_its_anchor_is_unanchored(
    qtbot, view: AuditView, ws: Workspace
) -> None:
    ws.paths.anchor.unlink()  # as after a database put back without its anchor
    with qtbot.waitSignals([view.busy, view.busy], timeout=10_000):
        view.verify_button.click()
    text = view.result_label.text()
    assert text.startswith("The audit chain is unanchored")
    assert "cut from its end" in text and "valise audit anchor" in text


def test_the_window_opens_the_audit_log_from_the_tools_menu(
    qtbot, ws: Workspace, runner: TaskRunner
) -> None:
    window = MainWindow(ws, prompts=ScriptedPrompts(), runner=runner)
    qtbot.addWidget(window)
    window.show()
    window.audit_action.trigger()
    view = window.findChild(AuditView)
    assert view is not None
    with qtbot.waitSignal(view.busy, timeout=10_000) as started:
        view.verify_button.click()
    assert started.args == [True]
    assert not window.table.isEnabled()  # the worker owns the connection meanwhile
    qtbot.waitUntil(lambda: window.table.isEnabled(), timeout=10_000)
