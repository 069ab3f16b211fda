"""Protected names and privileged notes given on standard input (`--name -`, `--text -`).

A value on the command line is visible to every user of the machine in `ps` and
/proc/PID/cmdline, and stays in the shell's history. Given as `-`, it is read from standard
input instead (one trailing newline removed); empty input, bytes that are not UTF-8 and
control characters are refused with a sentence, and nothing is recorded.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from storage import cases, queries
from storage.records import Note, Person
from storage.workspace import open_workspace
from tests.conftest import PASSPHRASE
from tests.desktop.clitools import (
    assert_contents_unchanged,
    assert_ok,
    assert_refused,
    contents,
    valise,
)

NAME = "Amina Khalil Haddad"
NOTE = "Our theory: the second strike was aimed at the rescuers.\n\tSee W-0042's account."


def valise_fed(env: dict[str, str], data: bytes, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `valise ARGS` with `data` on its standard input; the value is not in argv."""
    result = valise(env, *args, feed=data)
    argv = " ".join(map(str, result.args))
    assert NAME not in argv and NOTE not in argv
    return result


@pytest.fixture
def case_env(workspace_dir: Path) -> tuple[dict[str, str], str, Path]:
    with open_workspace(workspace_dir, PASSPHRASE) as ws:
        case_id = cases.add_case(ws, "Shelling of the Oru market")
    env = {**os.environ, "VALISE_WORKSPACE": str(workspace_dir), "VALISE_PASSPHRASE": PASSPHRASE}
    return env, case_id, workspace_dir


def test_a_protected_name_is_read_from_standard_input(
    case_env: tuple[dict[str, str], str, Path],
) -> None:
    env, case_id, root = case_env
    result = valise_fed(
        env,
        f"{NAME}\n".encode(),
        *("person", "add", case_id, "--role", "witness", "--protected", "--name", "-"),
    )
    person_id = assert_ok(result)
    corrected = "Amina K. Haddad"
    assert_ok(valise_fed(env, corrected.encode(), "person", "update", person_id, "--name", "-"))
    with open_workspace(root, PASSPHRASE) as ws:
        person = queries.get(ws.conn, Person, person_id)
    assert (person.legal_name, person.protection) == (corrected, "full")
    assert NAME not in result.stdout + result.stderr


def test_a_privileged_note_is_read_from_standard_input(
    case_env: tuple[dict[str, str], str, Path],
) -> None:
    env, case_id, root = case_env
    note_id = assert_ok(
        valise_fed(
            env,
            f"{NOTE}\n\n".encode(),
            "note",
            "add",
            case_id,
            "--text",
            "-",
            "--class",
            "privileged",
        )
    )
    with open_workspace(root, PASSPHRASE) as ws:
        assert queries.get(ws.conn, Note, note_id).text == NOTE + "\n"  # one newline removed
    assert_ok(
        valise_fed(env, b"Call the vendor again\r\n", "note", "update", note_id, "--text", "-")
    )
    with open_workspace(root, PASSPHRASE) as ws:
        assert queries.get(ws.conn, Note, note_id).text == "Call the vendor again"


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"", "on standard input is empty"),
        (b"\n", "on standard input is empty"),
        (b"  \t \n", "on standard input is empty"),
        (b"Amina \xff\xfe Haddad\n", "not UTF-8 text (byte 7 cannot be read)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8 text"),
        (b"Amina\x1b[2J Haddad\n", "contains a control character (U+001B)"),
        (b"Amina\x00Haddad", "contains a control character (U+0000)"),
        (b"Amina \xe2\x80\xae Haddad", "reorders the text shown around it (U+202E)"),
        (b"Amina\nHaddad\n", "contains a control character (U+000A)"),
        (b"x" * 400_003, "too long"),
    ],
)
def test_garbage_on_standard_input_is_refused_and_nothing_is_recorded(
    case_env: tuple[dict[str, str], str, Path], data: bytes, said: str
) -> None:
    env, case_id, root = case_env
    before = contents(root)
    result = valise_fed(
        env, data, "person", "add", case_id, "--role", "witness", "--protected", "--name", "-"
    )
    assert_refused(result, 1, said)
    assert "\x1b" not in result.stderr
    assert_contents_unchanged(before, contents(root))


def test_an_empty_note_on_standard_input_is_refused(
    case_env: tuple[dict[str, str], str, Path],
) -> None:
    env, case_id, root = case_env
    before = contents(root)
    assert_refused(
        valise_fed(env, b"\n", "note", "add", case_id, "--text", "-"), 1, "note on standard"
    )
    assert_contents_unchanged(before, contents(root))
