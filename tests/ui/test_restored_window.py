"""The window of a workspace restored from a backup: a new case's reference may be one the
lost laptop gave, until a peer sends back the work done after the backup; it says so."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from storage import backup, queries
from storage.workspace import Workspace, open_workspace
from tests.conftest import PASSPHRASE
from ui.main_window import MainWindow
from ui.prompts import ScriptedPrompts
from ui.tasks import TaskRunner


def _new_case(qtbot: QtBot, ws: Workspace, runner: TaskRunner, title: str) -> ScriptedPrompts:
    prompts = ScriptedPrompts([title])
    window = MainWindow(ws, prompts=prompts, runner=runner)
    qtbot.addWidget(window)
    window.new_case_action.trigger()
    return prompts


def test_a_new_case_in_a_restored_workspace_warns_its_reference_may_be_taken(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner, tmp_path: Path
) -> None:
    saved = tmp_path / "office.valise-backup"
    backup.write_backup(ws, saved)
    backup.restore_backup(saved, tmp_path / "restored", PASSPHRASE)
    restored = open_workspace(tmp_path / "restored", PASSPHRASE)  # the window closes it
    prompts = _new_case(qtbot, restored, runner, "After the restore")
    [case] = queries.list_cases(restored.conn, limit=5)
    kinds = [(asked.kind, asked.title) for asked in prompts.asked]
    assert kinds == [("text", "New case"), ("inform", "New case")]
    said = prompts.asked[1].text
    assert said.startswith(f"The case was given the reference {case.reference}.")
    assert "the lost laptop may have given" in said


def test_a_new_case_in_a_workspace_never_restored_says_nothing_more(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner
) -> None:
    prompts = _new_case(qtbot, ws, runner, "An ordinary case")
    assert [asked.kind for asked in prompts.asked] == ["text"]
    assert queries.count_cases(ws.conn) == 1
