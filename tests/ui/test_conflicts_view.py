"""The conflict queue view: real conflicts between two workspaces, settled from the GUI.

Kabora and Dressa (from the sync tests' `Network`) edit the same case field while apart and
exchange bundles, so the conflict shown is one the merge really produced.
"""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from storage import audit, cases, queries
from storage.cases import REVEAL_ACTION
from storage.records import Case, Person
from storage.workspace import Workspace
from sync import conflicts
from tests.desktop.test_cli_conflicts_protected import NAMES, PSEUDONYM, name_conflict
from tests.sync import conftest as sync_fixtures
from tests.sync.conftest import Network
from ui.conflicts_view import VALUE_LINES, ConflictsView
from ui.models.conflict_model import (
    WITHHELD_TEXT,
    ConflictIdRole,
    ConflictModel,
    IsWithdrawalRole,
)
from ui.prompts import ScriptedPrompts

# The sync tests' fixtures: real installations that are each other's peers.
installation_templates = sync_fixtures.installation_templates
network = sync_fixtures.network

TITLES = {"kabora": "Shelling of the Oru market, 12 March", "dressa": "Oru market <b>shelling</b>"}


def shared_case(net: Network) -> str:
    """A case Kabora opened and both offices hold and send to each other."""
    case_id = cases.add_case(net.ws["kabora"], "Shelling of the Oru market")
    net.share("kabora", case_id, "dressa")
    assert net.send("kabora", "dressa").status == "imported"
    net.share("dressa", case_id, "kabora")
    return case_id


def title_conflict(net: Network) -> str:
    """Both offices retitle the case while apart; Kabora then receives Dressa's edit."""
    case_id = shared_case(net)
    cases.update_case(net.ws["kabora"], case_id, title=TITLES["kabora"])
    cases.update_case(net.ws["dressa"], case_id, title=TITLES["dressa"])
    report = net.send("dressa", "kabora")
    assert report.status == "imported" and report.conflicts == 1, report.message
    return case_id


def title_of(ws: Workspace, case_id: str) -> str:
    return queries.get(ws.conn, Case, case_id).title


def make_view(qtbot: QtBot, ws: Workspace, prompts: ScriptedPrompts) -> ConflictsView:
    view = ConflictsView(ws, prompts=prompts)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    return view


@pytest.mark.qt_log_level_fail("WARNING")  # Qt's own tester reports through warnings
@pytest.mark.parametrize("force_py", [False, True], ids=["qt-tester", "py-tester"])
def test_model_passes_qtmodeltester(
    qtmodeltester: ModelTester, network: Network, force_py: bool
) -> None:
    kabora = network.ws["kabora"]
    empty = ConflictModel(kabora)
    qtmodeltester.check(empty, force_py=force_py)
    title_conflict(network)
    model = ConflictModel(kabora)
    qtmodeltester.check(model, force_py=force_py)
    assert model.rowCount() == 1
    model.refresh()
    assert b"conflictId" in [name.data() for name in model.roleNames().values()]


def test_a_real_conflict_shows_both_values_with_authors_and_times(
    qtbot: QtBot, network: Network
) -> None:
    case_id = title_conflict(network)
    kabora = network.ws["kabora"]
    [conflict] = conflicts.list_conflicts(kabora)
    view = make_view(qtbot, kabora, ScriptedPrompts())

    model = view.model
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers[:3] == ["Record", "Field", "Shown value"]
    row = [model.index(0, c).data() for c in range(model.columnCount())]
    reference = queries.get(kabora.conn, Case, case_id).reference
    assert row[ConflictModel.RECORD] == f"Case {reference}"
    assert row[ConflictModel.FIELD] == "Title"
    assert {row[ConflictModel.SHOWN], row[ConflictModel.OTHER]} == set(TITLES.values())
    assert {row[ConflictModel.SHOWN_BY], row[ConflictModel.OTHER_BY]} == {
        "Supervisor (Kabora field office)",  # each office's first user, and the office
        "Supervisor (Dressa field office)",
    }
    assert row[ConflictModel.SHOWN_AT].endswith(" UTC") and row[ConflictModel.OTHER_AT][4] == "-"
    assert model.index(0, 0).data(ConflictIdRole) == conflict.id
    assert model.index(0, 0).data(IsWithdrawalRole) is False

    # The selected conflict's values side by side, read-only, as typed (never as HTML).
    assert view.selected_conflict() == conflict
    assert view.shown_side.value_edit.toPlainText() == conflict.shown_value
    assert view.other_side.value_edit.toPlainText() == conflict.other_value
    assert view.shown_side.value_edit.isReadOnly() and view.other_side.value_edit.isReadOnly()
    assert conflict.shown_by in view.shown_side.author_label.text()
    assert conflict.other_by in view.other_side.author_label.text()
    assert view.shown_side.author_label.textFormat() == Qt.TextFormat.PlainText
    assert title_of(kabora, case_id) == conflict.shown_value
    assert view.count_label.text() == "1 open conflict."


def test_a_value_box_is_as_tall_as_its_value_not_a_large_empty_box(
    qtbot: QtBot, network: Network
) -> None:
    title_conflict(network)
    view = make_view(qtbot, network.ws["kabora"], ScriptedPrompts())
    view.resize(600, 700)
    edit = view.shown_side.value_edit
    line = edit.fontMetrics().lineSpacing()
    qtbot.waitUntil(lambda: edit.viewport().height() < 4 * line)  # a title: one or two lines
    assert edit.viewport().height() >= VALUE_LINES[0] * line  # never a sliver
    long_value = " ".join(["witness statement"] * 200)
    view.other_side.show_side("Dressa field office", "2027-03-16T10:00:00Z", long_value)
    other = view.other_side.value_edit
    assert other.viewport().height() <= VALUE_LINES[1] * line + 2 * 8  # the rest scrolls
    assert other.verticalScrollBar().maximum() > 0


def test_keep_this_one_on_the_waiting_side_settles_the_conflict(
    qtbot: QtBot, network: Network
) -> None:
    case_id = title_conflict(network)
    kabora = network.ws["kabora"]
    [conflict] = conflicts.list_conflicts(kabora)
    prompts = ScriptedPrompts()
    view = make_view(qtbot, kabora, prompts)

    with qtbot.waitSignal(view.resolved, timeout=2000) as resolved:
        qtbot.mouseClick(view.other_side.keep_button, Qt.MouseButton.LeftButton)

    assert resolved.args == [conflict.id]
    assert conflicts.list_conflicts(kabora) == []
    assert title_of(kabora, case_id) == conflict.other_value
    assert view.model.rowCount() == 0
    assert view.count_label.text() == "No open conflicts."
    assert not view.detail.isEnabled()
    assert prompts.asked == []


def test_keep_this_one_on_the_shown_side_keeps_the_shown_value(
    qtbot: QtBot, network: Network
) -> None:
    case_id = title_conflict(network)
    kabora = network.ws["kabora"]
    [conflict] = conflicts.list_conflicts(kabora)
    view = make_view(qtbot, kabora, ScriptedPrompts())

    qtbot.mouseClick(view.shown_side.keep_button, Qt.MouseButton.LeftButton)

    assert conflicts.list_conflicts(kabora) == []
    assert title_of(kabora, case_id) == conflict.shown_value


def test_write_another_value_settles_with_the_typed_text(qtbot: QtBot, network: Network) -> None:
    case_id = title_conflict(network)
    kabora = network.ws["kabora"]
    prompts = ScriptedPrompts(["  Agreed: the Oru market shelling  "])
    view = make_view(qtbot, kabora, prompts)

    qtbot.mouseClick(view.write_button, Qt.MouseButton.LeftButton)

    assert [a.kind for a in prompts.asked] == ["text"]
    assert "title" in prompts.asked[0].text
    assert conflicts.list_conflicts(kabora) == []
    assert title_of(kabora, case_id) == "Agreed: the Oru market shelling"


def test_cancelling_write_another_value_changes_nothing(qtbot: QtBot, network: Network) -> None:
    case_id = title_conflict(network)
    kabora = network.ws["kabora"]
    before = title_of(kabora, case_id)
    prompts = ScriptedPrompts([None])
    view = make_view(qtbot, kabora, prompts)

    with qtbot.assertNotEmitted(view.resolved):
        qtbot.mouseClick(view.write_button, Qt.MouseButton.LeftButton)

    assert len(conflicts.list_conflicts(kabora)) == 1
    assert title_of(kabora, case_id) == before
    assert [a.kind for a in prompts.asked] == ["text"]  # a cancel says nothing more


def test_a_conflict_settled_meanwhile_gives_a_sentence_and_the_queue_is_reread(
    qtbot: QtBot, network: Network
) -> None:
    title_conflict(network)
    kabora = network.ws["kabora"]
    [conflict] = conflicts.list_conflicts(kabora)
    prompts = ScriptedPrompts()
    view = make_view(qtbot, kabora, prompts)
    conflicts.resolve(kabora, conflict.id, keep="shown")  # e.g. from the command line

    qtbot.mouseClick(view.other_side.keep_button, Qt.MouseButton.LeftButton)

    [asked] = prompts.asked
    assert asked.kind == "warn"
    assert asked.text == f"Conflict {conflict.id} is already settled."
    assert view.model.rowCount() == 0


def test_an_unexpected_error_is_reported_as_a_bug(
    qtbot: QtBot, network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    title_conflict(network)
    kabora = network.ws["kabora"]
    prompts = ScriptedPrompts()
    view = make_view(qtbot, kabora, prompts)

    def broken(*_args: object, **_kwargs: object) -> str:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("ui.conflicts_view.resolve", broken)
    qtbot.mouseClick(view.shown_side.keep_button, Qt.MouseButton.LeftButton)

    assert [(a.kind, a.text) for a in prompts.asked] == [("bug", "RuntimeError: disk on fire")]
    assert view.model.rowCount() == 1


def test_an_edit_against_a_withdrawal_reads_as_withdraw_or_restore(
    qtbot: QtBot, network: Network
) -> None:
    case_id = shared_case(network)
    kabora, dressa = network.ws["kabora"], network.ws["dressa"]
    cases.update_case(kabora, case_id, title="Edited while apart")
    cases.withdraw(dressa, Case, case_id)
    report = network.send("dressa", "kabora")
    assert report.conflicts == 1, report.message
    view = make_view(qtbot, kabora, ScriptedPrompts())

    row = [view.model.index(0, c).data() for c in range(view.model.columnCount())]
    assert row[ConflictModel.FIELD] == "Withdrawal"
    assert row[ConflictModel.SHOWN] == "Withdrawn"
    assert row[ConflictModel.OTHER] == "Edited meanwhile: Title: Edited while apart"
    assert view.model.index(0, 0).data(IsWithdrawalRole) is True
    assert "was withdrawn by Supervisor (Dressa field office)" in view.explanation_label.text()
    assert view.shown_side.author_label.text().startswith(
        "Withdrawn by Supervisor (Dressa field office)"
    )
    assert view.other_side.value_edit.toPlainText() == "Title: Edited while apart"
    assert view.shown_side.keep_button.text() == "Keep it withdrawn"
    assert view.other_side.keep_button.text() == "Restore the record"
    assert not view.write_button.isEnabled()

    qtbot.mouseClick(view.other_side.keep_button, Qt.MouseButton.LeftButton)

    assert conflicts.list_conflicts(kabora) == []
    record = queries.get(kabora.conn, Case, case_id)
    assert (record.withdrawn, record.title) == (0, "Edited while apart")


def test_refresh_shows_conflicts_that_arrive_later(qtbot: QtBot, network: Network) -> None:
    kabora = network.ws["kabora"]
    view = make_view(qtbot, kabora, ScriptedPrompts())
    assert view.model.rowCount() == 0
    assert view.count_label.text() == "No open conflicts."
    title_conflict(network)

    with qtbot.waitSignal(view.countChanged, timeout=2000) as counted:
        view.refresh()

    assert counted.args == [1]
    assert view.selected_conflict() is not None
    assert view.detail.isEnabled()


def test_controls_have_accessible_names_and_take_keyboard_focus(
    qtbot: QtBot, network: Network
) -> None:
    title_conflict(network)
    view = make_view(qtbot, network.ws["kabora"], ScriptedPrompts())
    controls = [
        view.table,
        view.shown_side.value_edit,
        view.shown_side.keep_button,
        view.other_side.value_edit,
        view.other_side.keep_button,
        view.write_button,
    ]
    for control in controls:
        assert control.accessibleName(), control
        assert control.focusPolicy() & Qt.FocusPolicy.TabFocus, control.accessibleName()
    assert view.write_button.text() == "&Write another value…"


# -- a protected identity in conflict ------------------------------------------------------


def _reveal_entries(ws: Workspace) -> list[str]:
    return [e.detail for e in audit.entries(ws.conn, limit=1000) if e.action == REVEAL_ACTION]


def _all_text(view: ConflictsView) -> str:
    model = view.model
    cells = [
        str(model.index(0, column).data(role))
        for column in range(model.columnCount())
        for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole)
    ]
    sides = [view.shown_side.value_edit.toPlainText(), view.other_side.value_edit.toPlainText()]
    return "\n".join([*cells, *sides, view.explanation_label.text()])


def test_a_protected_name_in_conflict_is_withheld_until_an_audited_reveal(
    qtbot: QtBot, network: Network
) -> None:
    _, person_id = name_conflict(network)
    kabora = network.as_officer("kabora")  # only a protection officer reveals
    prompts = ScriptedPrompts([False, True])
    view = make_view(qtbot, kabora, prompts)
    assert view.model.index(0, ConflictModel.RECORD).data().startswith(f"Person {PSEUDONYM}")
    assert "Haddad" not in _all_text(view)
    assert view.shown_side.value_edit.toPlainText() == WITHHELD_TEXT
    assert view.reveal_button.isVisible() and view.reveal_button.isEnabled()

    qtbot.mouseClick(view.reveal_button, Qt.MouseButton.LeftButton)  # declined
    assert "Haddad" not in _all_text(view) and _reveal_entries(kabora) == []

    qtbot.mouseClick(view.reveal_button, Qt.MouseButton.LeftButton)  # confirmed
    assert [a.kind for a in prompts.asked] == ["confirm", "confirm"]
    assert PSEUDONYM in prompts.asked[0].text and "Haddad" not in prompts.asked[0].text
    assert {
        view.shown_side.value_edit.toPlainText(),
        view.other_side.value_edit.toPlainText(),
    } == set(NAMES)
    assert [json.loads(d) for d in _reveal_entries(kabora)] == [{"persons": 1, "person": person_id}]
    assert not view.reveal_button.isVisible()
    view.refresh()  # an import rereads the queue: what was revealed here stays shown
    assert view.other_side.value_edit.toPlainText() in NAMES
    assert len(_reveal_entries(kabora)) == 1


def test_a_supervisor_cannot_reveal_a_protected_name_in_conflict(
    qtbot: QtBot, network: Network
) -> None:
    """Only a protection officer reveals (storage.roles): the button says so, disabled."""
    name_conflict(network)
    view = make_view(qtbot, network.ws["kabora"], ScriptedPrompts())
    assert view.reveal_button.isVisible() and not view.reveal_button.isEnabled()
    assert view.reveal_button.toolTip() == "Only a protection officer may reveal identities."
    assert "Haddad" not in _all_text(view) and _reveal_entries(network.ws["kabora"]) == []


def test_a_protected_name_conflict_is_settled_without_revealing_it(
    qtbot: QtBot, network: Network
) -> None:
    _, person_id = name_conflict(network)
    kabora = network.ws["kabora"]
    shown = queries.get(kabora.conn, Person, person_id).legal_name
    prompts = ScriptedPrompts()
    view = make_view(qtbot, kabora, prompts)

    with qtbot.waitSignal(view.resolved, timeout=2000):
        qtbot.mouseClick(view.other_side.keep_button, Qt.MouseButton.LeftButton)

    assert queries.get(kabora.conn, Person, person_id).legal_name == (set(NAMES) - {shown}).pop()
    assert conflicts.list_conflicts(kabora) == [] and prompts.asked == []
    assert _reveal_entries(kabora) == []
