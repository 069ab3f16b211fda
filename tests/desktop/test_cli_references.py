"""Case references from the command line when two cases share one (an office restored from
a backup gave a number the lost laptop had given, or two offices typed the same), and
`case add --reference` / `case update --reference` with a reference already in use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storage import entities
from storage.workspace import Draft, open_workspace
from tests.conftest import PASSPHRASE
from tests.desktop.clitools import assert_ok, assert_refused, contents, valise


def _duplicate_as_if_received(root: Path, reference: str, title: str) -> str:
    """A case with `reference` written through the write path as a peer's changeset lands
    (nothing checks references there: both offices' cases must be kept). The check of
    entered text is switched off: an older Valise recorded titles without it."""
    with open_workspace(root, PASSPHRASE) as ws, pytest.MonkeyPatch.context() as older:
        older.setattr(entities, "text_problem", lambda *args, **kwargs: "")
        case_id = "ab" * 10
        values = {"reference": reference, "title": title, "lead_office": "Kabora field office"}
        ws.commit(case_id, [Draft("case", case_id, "create", values)])
    return case_id


def test_case_show_of_a_reference_two_cases_share_lists_both_and_asks_for_the_id(
    cli_env: dict[str, str], workspace_dir: Path
) -> None:
    mine = assert_ok(valise(cli_env, "case", "add", "--title", "Opened after the restore"))
    reference = json.loads(assert_ok(valise(cli_env, "case", "show", mine, "--json")))["reference"]
    theirs = _duplicate_as_if_received(workspace_dir, reference, "Opened on the lost laptop")
    listed = sorted([(mine, "Opened after the restore"), (theirs, "Opened on the lost laptop")])
    expected = ", ".join(f"{ident} {title}" for ident, title in listed)
    message = assert_refused(valise(cli_env, "case", "show", reference), 1)
    assert message == f"valise: {reference} names 2 cases: {expected}; give the id."
    assert theirs in assert_ok(valise(cli_env, "case", "show", theirs))


def test_case_add_with_a_reference_in_use_is_refused_and_adds_nothing(
    cli_env: dict[str, str], workspace_dir: Path
) -> None:
    first = assert_ok(valise(cli_env, "case", "add", "--title", "First", "--reference", "R-1"))
    before = contents(workspace_dir)
    result = valise(cli_env, "case", "add", "--title", "Second", "--reference", "R-1")
    assert_refused(result, 1, f"R-1 is already the reference of case {first} (First)")
    assert contents(workspace_dir) == before


def test_case_update_gives_a_case_a_free_reference_and_refuses_a_taken_one(
    cli_env: dict[str, str],
) -> None:
    first = assert_ok(valise(cli_env, "case", "add", "--title", "First", "--reference", "R-1"))
    second = assert_ok(valise(cli_env, "case", "add", "--title", "Second"))
    assert_refused(valise(cli_env, "case", "update", second, "--reference", "R-1"), 1, first)
    assert_ok(valise(cli_env, "case", "update", second, "--reference", "R-2"))
    assert second in assert_ok(valise(cli_env, "case", "show", "R-2"))


def test_after_a_restore_a_new_number_warns_until_peers_send_the_work_back(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    assert_ok(valise(cli_env, "case", "add", "--title", "Before the backup"))
    saved = tmp_path / "office.valise-backup"
    assert_ok(valise(cli_env, "backup", saved))
    restored = {**cli_env, "VALISE_WORKSPACE": str(tmp_path / "restored")}
    assert_ok(valise(restored, "restore", saved))
    result = valise(restored, "case", "add", "--title", "After the restore")
    case_id = assert_ok(result)
    reference = json.loads(assert_ok(valise(restored, "case", "show", case_id, "--json")))
    assert result.stderr.startswith(
        f"valise: warning: the reference {reference['reference']} was given before any peer"
        " sent back the work this office did after its backup"
    )
    result = valise(restored, "person", "add", case_id, "--role", "witness", "--protected")
    assert_ok(result)
    assert "valise: warning: the pseudonym W-0001 was given before" in result.stderr
    plain = valise(cli_env, "case", "add", "--title", "On the original")
    assert_ok(plain)
    assert "warning" not in plain.stderr


def test_garbage_references_are_refused_with_a_sentence_and_change_nothing(
    cli_env: dict[str, str], workspace_dir: Path
) -> None:
    case_id = assert_ok(valise(cli_env, "case", "add", "--title", "First"))
    before = contents(workspace_dir)
    for garbage in ("", "   ", "R" * 65, "R-1\udcff"):
        assert_refused(valise(cli_env, "case", "update", case_id, "--reference", garbage), 1)
        assert_refused(valise(cli_env, "case", "add", "--title", "T", "--reference", garbage), 1)
    assert contents(workspace_dir) == before


def test_titles_from_peers_cannot_draw_lines_in_the_ambiguous_reference_message(
    cli_env: dict[str, str], workspace_dir: Path
) -> None:
    mine = assert_ok(valise(cli_env, "case", "add", "--title", "Mine", "--reference", "R-9"))
    _duplicate_as_if_received(workspace_dir, "R-9", "Theirs\nvalise: all is well\x1b[2K")
    message = assert_refused(valise(cli_env, "case", "show", "R-9"), 1)
    assert message.count("\n") == 0
    assert f"{mine} Mine" in message and "Theirs valise: all is well [2K" in message
