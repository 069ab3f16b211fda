"""`valise evidence release|releases|unrelease` and `valise person consent`, as a person runs
them: the happy path, and garbage (unknown items and peers, bad audiences, missing
decisions), each ending in a sentence and an unchanged workspace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storage import queries
from storage.records import Evidence
from storage.workspace import open_workspace
from tests.conftest import PASSPHRASE
from tests.desktop.clitools import assert_ok, assert_refused, fingerprint, valise
from tests.sync.test_releases import add_peer_of_role, add_witness_statement


@pytest.fixture
def witness_statement(workspace_dir: Path, tmp_path: Path) -> tuple[str, str]:
    """(person id, evidence id): protected witness W-0500 and her linked statement."""
    with open_workspace(workspace_dir, PASSPHRASE) as ws:
        _case_id, person_id, evidence_id = add_witness_statement(ws, tmp_path)
    return person_id, evidence_id


def test_release_needs_consent_then_is_listed_and_withdrawn(
    cli_env: dict[str, str], witness_statement: tuple[str, str]
) -> None:
    person_id, evidence_id = witness_statement
    assert_refused(
        valise(cli_env, "evidence", "release", evidence_id, "--to", "ngo"),
        1,
        "W-0500 has not consented to be identified to partners; ask the protection officer",
    )
    assert_ok(
        valise(
            cli_env,
            "person",
            "consent",
            person_id,
            "--audience",
            "partners",
            "--given",
            "--on",
            "2027-03-20",
            "--by",
            "N. Tesh",
        )
    )
    shown = assert_ok(valise(cli_env, "person", "consent", person_id))
    assert "partners     given" in shown and "prosecution  unknown (nothing recorded)" in shown

    released = valise(cli_env, "evidence", "release", evidence_id, "--to", "ngo")
    release_id = assert_ok(released)
    assert "released to every NGO peer, without its original file name" in released.stderr

    listed = json.loads(assert_ok(valise(cli_env, "evidence", "releases", evidence_id, "--json")))
    assert [(r["id"], r["grantee"], r["withdrawn"]) for r in listed] == [
        (release_id, "every NGO peer", 0)
    ]
    withdrawn = valise(cli_env, "evidence", "unrelease", evidence_id, "--to", "ngo")
    assert_ok(withdrawn)
    assert "What they already received stays with them" in withdrawn.stderr
    custody = assert_ok(valise(cli_env, "custody", "list", evidence_id))
    assert "released" in custody and "release withdrawn" in custody


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (("evidence", "release", "no-such-item", "--to", "ngo"), 1, "No evidence item"),
        (("evidence", "release", "{ev}", "--to", "0123456789abcdef"), 1, "No peer with id"),
        (("evidence", "release", "{ev}", "--to", "ngo;drop table"), 1, "is not a peer id"),
        (("evidence", "release", "{ev}", "--to", "office"), 1, "nothing to release to it"),
        (("evidence", "release", "{ev}"), 2, "--to"),
        (("evidence", "releases", "\udcff\udcfe"), 1, "No evidence item"),
        (("evidence", "unrelease", "{ev}", "--to", "defence"), 1, "is not released to"),
        (("person", "consent", "{person}", "--audience", "friends", "--given"), 2, "friends"),
        (("person", "consent", "{person}", "--audience", "partners"), 2, "--given"),
        (("person", "consent", "{person}", "--refused"), 2, "--audience"),
        (
            ("person", "consent", "{person}", "--given", "--refused", "--audience", "public"),
            2,
            "not allowed with",
        ),
        (
            ("person", "consent", "{person}", "--audience", "public", "--given", "--on", "soon"),
            1,
            "not a date",
        ),
        (
            ("person", "consent", "no-such-person", "--audience", "public", "--given"),
            1,
            "No person",
        ),
    ],
)
def test_garbage_to_release_and_consent_commands_changes_nothing(
    cli_env: dict[str, str],
    workspace_dir: Path,
    witness_statement: tuple[str, str],
    args: tuple[str, ...],
    code: int,
    needle: str,
) -> None:
    person_id, evidence_id = witness_statement
    before = fingerprint(workspace_dir)
    filled = [a.format(ev=evidence_id, person=person_id) for a in args]
    assert_refused(valise(cli_env, *filled), code, needle)
    assert fingerprint(workspace_dir) == before


def test_case_share_says_what_an_ngo_will_and_will_not_receive(
    cli_env: dict[str, str], workspace_dir: Path, witness_statement: tuple[str, str]
) -> None:
    _person_id, evidence_id = witness_statement
    with open_workspace(workspace_dir, PASSPHRASE) as ws:
        ngo = add_peer_of_role(ws, "Varosa Documentation Project", "ngo")
        case_id = queries.get(ws.conn, Evidence, evidence_id).case_id
    shared = valise(cli_env, "case", "share", case_id, ngo.peer_id)
    assert_ok(shared)
    assert "It will receive: The case's open records, persons by pseudonym" in shared.stderr
    assert "It will not receive: Unreleased evidence" in shared.stderr
    assert "legal elements and links, privileged notes" in shared.stderr
