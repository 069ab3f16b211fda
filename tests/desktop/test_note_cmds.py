"""`valise note update` and `note withdraw`, run as a user would, with garbage too."""

from __future__ import annotations

from pathlib import Path

from storage import cases, queries
from storage.records import Note
from storage.workspace import open_workspace
from tests.conftest import PASSPHRASE
from tests.desktop.clitools import assert_ok, assert_refused, valise


def _notes(workspace_dir: Path) -> tuple[str, str, str]:
    with open_workspace(workspace_dir, PASSPHRASE) as ws:
        case_id = cases.add_case(ws, "Shelling of the market")
        open_note = cases.add_note(ws, case_id, "Call the vendor")
        privileged = cases.add_note(ws, case_id, "Our theory of the case", klass="privileged")
    return case_id, open_note, privileged


def _note(workspace_dir: Path, note_id: str) -> Note:
    with open_workspace(workspace_dir, PASSPHRASE) as ws:
        return queries.get(ws.conn, Note, note_id)


def test_a_note_is_updated_and_withdrawn(workspace_dir: Path, cli_env: dict[str, str]) -> None:
    _case, open_note, _privileged = _notes(workspace_dir)
    printed = assert_ok(valise(cli_env, "note", "update", open_note[:8], "--text", "Call again"))
    assert printed == open_note
    assert _note(workspace_dir, open_note).text == "Call again"
    assert_ok(valise(cli_env, "note", "update", open_note, "--class", "privileged"))
    assert _note(workspace_dir, open_note).klass == "privileged"
    assert assert_ok(valise(cli_env, "note", "withdraw", open_note)) == open_note
    assert _note(workspace_dir, open_note).withdrawn == 1


def test_lowering_a_class_needs_to_be_said(workspace_dir: Path, cli_env: dict[str, str]) -> None:
    _case, _open, privileged = _notes(workspace_dir)
    assert_refused(
        valise(cli_env, "note", "update", privileged, "--class", "open"), 2, "--lower-class"
    )
    assert _note(workspace_dir, privileged).klass == "privileged"
    assert_ok(valise(cli_env, "note", "update", privileged, "--class", "open", "--lower-class"))
    assert _note(workspace_dir, privileged).klass == "open"


def test_garbage_is_refused_with_a_sentence(workspace_dir: Path, cli_env: dict[str, str]) -> None:
    _case, open_note, _privileged = _notes(workspace_dir)
    assert_refused(valise(cli_env, "note", "update", open_note), 2, "say what to change")
    assert_refused(
        valise(cli_env, "note", "update", open_note, "--text", "   "), 1, "needs some text"
    )
    assert_refused(valise(cli_env, "note", "update", "ffffffffff", "--text", "x"), 1, "no note")
    assert_refused(valise(cli_env, "note", "update", open_note, "--class", "secret"), 2, "class")
    assert_refused(valise(cli_env, "note", "update", open_note, "--text", "x" * 100_001), 1, "text")
    assert _note(workspace_dir, open_note).text == "Call the vendor"
