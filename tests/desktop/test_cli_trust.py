"""`init --authority`, `authority add|list` and `revocation list|confirm|dismiss|retract`
run as people run them, then fed wrong input: each wrong input ends with exit 2 (usage) or
1 (refused), a `valise: ...` sentence naming the problem, no traceback, and the workspace
as it was."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import PASSPHRASE
from tests.desktop.clitools import assert_ok, assert_refused, valise
from tests.desktop.test_cli_sync import Office, Unchanged, init_office


@dataclass(frozen=True)
class Offices:
    """A tribunal liaison and Kabora (each the other's peer), their cards and ids."""

    liaison: Path
    kabora: Path
    liaison_card: Path
    kabora_card: Path
    liaison_fingerprint: str
    liaison_id: str
    kabora_id: str


@pytest.fixture(scope="module")
def offices_template(tmp_path_factory: pytest.TempPathFactory) -> Offices:
    base = tmp_path_factory.mktemp("trust")
    liaison = init_office(base / "liaison", "Tribunal liaison", "TRB")
    kabora = init_office(base / "kabora", "Kabora field office", "KAB")
    cards = {}
    for office in (liaison, kabora):
        cards[office.root.name] = base / f"{office.root.name}.card"
        office.ok("identity", "card", "--out", cards[office.root.name])
    liaison_id = kabora.ok("peer", "add", cards["liaison"], "--role", "liaison")
    kabora_id = liaison.ok("peer", "add", cards["kabora"], "--role", "office")
    return Offices(
        liaison.root,
        kabora.root,
        cards["liaison"],
        cards["kabora"],
        liaison.json("identity")["fingerprint"],
        liaison_id,
        kabora_id,
    )


@dataclass
class Kabora:
    """A fresh copy of Kabora's workspace, and what was captured of it."""

    office: Office
    offices: Offices
    unchanged: Unchanged


@pytest.fixture
def kab(offices_template: Offices, tmp_path: Path) -> Iterator[Kabora]:
    root = tmp_path / "kabora"
    shutil.copytree(offices_template.kabora, root)
    yield Kabora(Office("Kabora field office", root), offices_template, Unchanged(root))


def _init(root: Path, *extra: str | os.PathLike[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VALISE_PASSPHRASE": PASSPHRASE}
    return valise(env, "init", "--office", "Dressa field office", "--workspace", root, *extra)


# -- naming authorities ------------------------------------------------------------------------


def test_init_names_an_authority_after_checking_its_fingerprint(
    offices_template: Offices, tmp_path: Path
) -> None:
    root = tmp_path / "dressa"
    card, digits = offices_template.liaison_card, offices_template.liaison_fingerprint
    result = _init(root, "--authority", card, "--authority-fingerprint", digits)
    assert_ok(result)
    assert f"Authority over revocation: Tribunal liaison ({digits})" in result.stderr
    dressa = Office("Dressa field office", root)
    [named] = dressa.json("authority", "list")
    assert (named["office"], named["fingerprint"]) == ("Tribunal liaison", digits)
    assert dressa.json("audit", "list", "--action", "authority named")


@pytest.mark.parametrize(
    ("extra", "code", "needle"),
    [
        (["--authority-fingerprint", "1"], 2, "one --authority-fingerprint for each"),
        (["--authority", "CARD"], 2, "one --authority-fingerprint for each"),
        (["--authority", "CARD", "--authority-fingerprint", "12345 67890"], 1, "does not match"),
        (["--authority", "CARD", "--authority-fingerprint", "not digits"], 1, "does not match"),
        (["--authority", "GARBAGE", "--authority-fingerprint", "1"], 1, "not a Valise contact"),
        (["--authority", "MISSING", "--authority-fingerprint", "1"], 1, "No such file"),
        (["--authority", "FOLDER", "--authority-fingerprint", "1"], 1, "folder"),
    ],
)
def test_init_with_a_wrong_authority_creates_no_workspace(
    offices_template: Offices, tmp_path: Path, extra: list[str], code: int, needle: str
) -> None:
    garbage = tmp_path / "garbage.card"
    garbage.write_text("Tribunal liaison, phone +999 4471 0023\n")
    (tmp_path / "folder.card").mkdir()
    where = {
        "CARD": str(offices_template.liaison_card),
        "GARBAGE": str(garbage),
        "MISSING": str(tmp_path / "missing.card"),
        "FOLDER": str(tmp_path / "folder.card"),
    }
    root = tmp_path / "dressa"
    result = _init(root, *[where.get(a, a) for a in extra])
    assert_refused(result, code, needle)
    assert not root.exists() or not any(root.iterdir())


def test_authority_add_by_peer_id_and_by_card(kab: Kabora) -> None:
    offices = kab.offices
    kab.office.ok(
        "authority", "add", offices.liaison_id, "--fingerprint", offices.liaison_fingerprint
    )
    kab.office.ok(
        "authority", "add", offices.liaison_card, "--fingerprint", offices.liaison_fingerprint
    )
    listed = kab.office.json("authority", "list")
    assert [a["id"] for a in listed] == [offices.liaison_id]


@pytest.mark.parametrize(
    ("source", "fingerprint", "code", "needle"),
    [
        ("LIAISON", "12345 67890 12345", 1, "does not match"),
        ("LIAISON", "", 1, "does not match"),
        ("LIAISON", None, 2, "--fingerprint"),
        ("ffffffffffffffff", "1", 1, "neither a card file nor a peer id"),
        ("ab", "1", 1, "No such file"),
        ("GARBAGE", "1", 1, "not a Valise contact card"),
        ("OWN", "OWN", 1, "own key"),
    ],
)
def test_authority_add_refuses_wrong_input_and_changes_nothing(
    kab: Kabora, tmp_path: Path, source: str, fingerprint: str | None, code: int, needle: str
) -> None:
    garbage = tmp_path / "garbage.card"
    garbage.write_bytes(os.urandom(500))
    own = kab.office.json("identity")["fingerprint"]
    where = {
        "LIAISON": kab.offices.liaison_id,
        "GARBAGE": str(garbage),
        "OWN": str(kab.offices.kabora_card),
    }
    args: list[str] = ["authority", "add", where.get(source, source)]
    if fingerprint is not None:
        args += ["--fingerprint", own if fingerprint == "OWN" else fingerprint]
    assert_refused(kab.office.run(*args), code, needle)
    kab.unchanged.check()


# -- revocations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    ["", "xyz", "1234", "0123456789ab", "0123456789ab:x", "g123456789ab", "'; DROP"],
)
@pytest.mark.parametrize("action", ["confirm", "dismiss", "retract"])
def test_revocation_commands_refuse_ids_that_name_nothing(
    kab: Kabora, action: str, statement: str
) -> None:
    result = kab.office.run("revocation", action, "--", statement)
    assert_refused(result, 1, "revocation list")
    kab.unchanged.check()


def test_revocation_list_says_who_said_what_and_decisions_are_checked(kab: Kabora) -> None:
    kab.office.ok("peer", "revoke", kab.offices.liaison_id, "--after", "0", "--reason", "lost")
    [entry] = kab.office.json("revocation", "list")
    assert (entry["kind"], entry["status"], entry["reason"]) == ("revoke", "effective", "lost")
    assert entry["signed_by_office"].startswith("Kabora field office (this office, ")
    assert entry["subject_office"].startswith("Tribunal liaison (liaison, ")
    # Our own revocation is no advisory: it can be neither confirmed nor dismissed.
    unchanged = Unchanged(kab.office.root)
    for action in ("confirm", "dismiss"):
        result = kab.office.run("revocation", action, entry["id"])
        assert_refused(result, 1, "is not an advisory revocation", "Nothing was changed")
    result = kab.office.run("revocation", "retract", entry["id"], "--reason", "x" * 201)
    assert_refused(result, 1, "at most 200 characters")
    unchanged.check()
    # Retracting it works once, and says so the second time.
    retraction = kab.office.ok("revocation", "retract", entry["id"], "--reason", "found")
    listed = {e["id"]: e for e in kab.office.json("revocation", "list")}
    assert listed[entry["id"]]["status"] == "retracted"
    assert listed[entry["id"]]["retracted_by"] == retraction
    assert_refused(kab.office.run("revocation", "retract", entry["id"]), 1, "already retracted")
    peers_listed = kab.office.json("peer", "list")
    assert [p["revoked_after"] for p in peers_listed] == [None]
