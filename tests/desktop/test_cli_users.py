"""Named users from the command line (issue 13): each person unlocks with a passphrase of
their own, a supervisor adds and removes people, and every refusal is a sentence, an audit
entry and an unchanged workspace."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from storage import audit, keyfile
from storage.workspace import open_workspace
from tests.desktop.clitools import (
    assert_contents_unchanged,
    assert_ok,
    assert_refused,
    contents,
    valise,
)

AMINA = "Amina's long passphrase for the office"
BASHIR = "Bashir's own passphrase, also long"
CHIDI = "Chidi protects the witnesses here"


def env_as(root: Path, user: str | None, passphrase: str, new: str | None = None) -> dict:
    """The environment of someone running `valise` against `root` as `user`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VALISE_")}
    env |= {"VALISE_KDF_PROFILE": "fast-insecure-test", "VALISE_WORKSPACE": str(root)}
    env["VALISE_PASSPHRASE"] = passphrase
    if user is not None:
        env["VALISE_USER"] = user
    if new is not None:
        env["VALISE_NEW_PASSPHRASE"] = new
    return env


@pytest.fixture(scope="module")
def office_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An office with a supervisor (Amina), an investigator (Bashir) and a protection
    officer (Chidi), made once through the command line."""
    root = tmp_path_factory.mktemp("office") / "ws"
    amina = env_as(root, None, AMINA)
    assert_ok(valise(amina, "init", "--office", "Kabora field office", "--user", "Amina"))
    amina["VALISE_USER"] = "Amina"
    for name, role, secret in (
        ("Bashir", "investigator", BASHIR),
        ("Chidi", "protection-officer", CHIDI),
    ):
        added = valise(
            {**amina, "VALISE_NEW_PASSPHRASE": secret}, "user", "add", name, "--role", role
        )
        assert_ok(added)
        assert name in added.stderr
    return root


@pytest.fixture
def office(office_template: Path, tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(office_template, root)
    return root


def test_each_user_unlocks_with_their_own_passphrase_and_is_named_in_the_audit(office: Path):
    listed = json.loads(
        assert_ok(valise(env_as(office, "bashir", BASHIR), "user", "list", "--json"))
    )
    assert [(u["name"], u["role"], u["you"]) for u in listed] == [
        ("Amina", "supervisor", False),
        ("Bashir", "investigator", True),
        ("Chidi", "protection-officer", False),
    ]
    assert_ok(valise(env_as(office, "Chidi", CHIDI), "case", "add", "--title", "Market fire"))
    with open_workspace(office, CHIDI, user="Chidi") as ws:
        [entry] = [e for e in audit.entries(ws.conn) if e.action == "edit"]
        assert entry.actor == "Chidi"
    text = (office / "workspace.key").read_text()
    for name in ("Amina", "Bashir", "Chidi"):
        assert name not in text  # the key file does not list the office's staff


def test_several_users_and_no_name_is_refused_with_a_sentence(office: Path):
    before = contents(office, AMINA, "Amina")
    refused = valise(env_as(office, None, AMINA), "case", "list")
    assert_refused(refused, 1, "several users", "VALISE_USER")
    assert_contents_unchanged(before, contents(office, AMINA, "Amina"))


def test_a_user_with_another_users_passphrase_gets_in_as_nobody(office: Path):
    """Bashir types his own passphrase under Amina's name: refused, and counted."""
    refused = valise(env_as(office, "Amina", BASHIR), "case", "list")
    assert_refused(refused, 1, "wrong user name or passphrase")
    refused = valise(env_as(office, "Mallory", BASHIR), "case", "list")
    assert_refused(refused, 1, "wrong user name or passphrase")


def test_an_investigator_cannot_add_a_user(office: Path):
    before = contents(office, AMINA, "Amina")
    env = env_as(office, "Bashir", BASHIR, new="Mallory's fresh passphrase here")
    refused = valise(env, "user", "add", "Mallory", "--role", "supervisor")
    assert_refused(refused, 1, "Bashir is an investigator", "only a supervisor may add the user")
    after = contents(office, AMINA, "Amina")
    assert after.audit_actions[-1] == "refused"
    assert {k: v for k, v in after.tables.items() if k != "meta"} == {
        k: v for k, v in before.tables.items() if k != "meta"
    }
    assert len(keyfile.read(office / "workspace.key").user_slots) == 3


def test_an_investigator_cannot_set_another_users_passphrase(office: Path):
    env = env_as(office, "Bashir", BASHIR, new="Bashir now knows Amina's way in")
    assert_refused(valise(env, "user", "passwd", "Amina"), 1, "only a supervisor may set")
    open_workspace(office, AMINA, user="Amina").close()  # Amina's passphrase still works


def test_a_user_changes_their_own_passphrase_and_the_old_one_stops_working(office: Path):
    new = "Bashir's second passphrase, long"
    assert_ok(valise(env_as(office, "Bashir", BASHIR, new=new), "passwd"))
    assert_refused(valise(env_as(office, "Bashir", BASHIR), "case", "list"), 1, "wrong user")
    assert_ok(valise(env_as(office, "Bashir", new), "case", "list"))
    assert_ok(valise(env_as(office, "Amina", AMINA), "case", "list"))  # others unchanged


def test_a_supervisor_sets_a_forgotten_passphrase(office: Path):
    new = "a passphrase Bashir will remember"
    said = valise(env_as(office, "Amina", AMINA, new=new), "user", "passwd", "bashir")
    assert_ok(said)
    assert "Bashir" in said.stderr
    assert_ok(valise(env_as(office, "Bashir", new), "case", "list"))
    with open_workspace(office, AMINA, user="Amina") as ws:
        entry = audit.entries(ws.conn)[0]
        assert (entry.actor, entry.action, entry.subject) == ("Amina", "passphrase set", "Bashir")


def test_a_removed_user_can_no_longer_unlock_and_history_keeps_their_name(office: Path):
    assert_ok(valise(env_as(office, "Bashir", BASHIR), "case", "add", "--title", "Bashir's"))
    said = valise(env_as(office, "Amina", AMINA), "user", "remove", "Bashir")
    assert_ok(said)
    assert "rekey" in said.stderr
    assert_refused(valise(env_as(office, "Bashir", BASHIR), "case", "list"), 1, "wrong user")
    listed = json.loads(
        assert_ok(valise(env_as(office, "Amina", AMINA), "user", "list", "--all", "--json"))
    )
    removed = next(u for u in listed if u["name"] == "Bashir")
    assert removed["removed_by"] == "Amina"
    with open_workspace(office, AMINA, user="Amina") as ws:
        assert any(e.actor == "Bashir" for e in audit.entries(ws.conn, limit=1000))


def test_a_removed_users_slot_put_back_from_an_old_key_file_is_refused(office: Path):
    """An old copy of the key file still holds Bashir's slot: the row says he was removed."""
    old_key = (office / "workspace.key").read_bytes()
    assert_ok(valise(env_as(office, "Amina", AMINA), "user", "remove", "Bashir"))
    (office / "workspace.key").write_bytes(old_key)
    refused = valise(env_as(office, "Bashir", BASHIR), "case", "list")
    assert_refused(refused, 1, "Bashir was removed from this workspace", "by Amina")


def test_the_last_supervisor_and_oneself_cannot_be_removed(office: Path):
    amina = env_as(office, "Amina", AMINA)
    assert_refused(valise(amina, "user", "remove", "Amina"), 1, "cannot remove yourself")
    assert_refused(valise(amina, "user", "remove", "Nobody"), 1, "no user called 'Nobody'")


def test_user_add_refuses_garbage_with_sentences(office: Path):
    amina = env_as(office, "Amina", AMINA, new="a perfectly long passphrase")
    before = contents(office, AMINA, "Amina")
    assert_refused(valise(amina, "user", "add", "Zed", "--role", "god"), 2, "invalid choice")
    assert_refused(valise(amina, "user", "add", "   ", "--role", "it"), 1, "give the user a name")
    assert_refused(valise(amina, "user", "add", "x" * 81, "--role", "it"), 1, "up to 80")
    assert_refused(valise(amina, "user", "add", "Ze\x1bd", "--role", "it"), 1, "user's name")
    assert_refused(valise(amina, "user", "add", "bashir", "--role", "it"), 1, "already a user")
    weak = env_as(office, "Amina", AMINA, new="short")
    assert_refused(valise(weak, "user", "add", "Zed", "--role", "it"), 1)
    after = contents(office, AMINA, "Amina")
    assert after.tables == before.tables
    assert len(keyfile.read(office / "workspace.key").user_slots) == 3


def test_rekey_keeps_every_users_passphrase(office: Path):
    before = keyfile.read(office / "workspace.key")
    assert_ok(valise(env_as(office, "Amina", AMINA), "rekey"))
    after = keyfile.read(office / "workspace.key")
    assert [s.tag for s in after.user_slots] == [s.tag for s in before.user_slots]
    assert [s.sealed_key for s in after.user_slots] != [s.sealed_key for s in before.user_slots]
    for name, secret in (("Amina", AMINA), ("Bashir", BASHIR), ("Chidi", CHIDI)):
        assert_ok(valise(env_as(office, name, secret), "case", "list"))


def test_recovery_with_several_users_sets_the_named_users_passphrase(office: Path, tmp_path: Path):
    amina = env_as(office, "Amina", AMINA)
    out = tmp_path / "shares"
    assert_ok(
        valise(amina, "recovery", "shares", "--threshold", "2", "--shares", "3", "--out", str(out))
    )
    texts = sorted(str(p) for p in out.glob("*.txt"))[:2]
    nobody = env_as(office, None, "unused", new="Amina's recovered passphrase")
    del nobody["VALISE_PASSPHRASE"]
    assert_refused(valise(nobody, "recovery", "open", *texts), 1, "say whose passphrase")
    nobody["VALISE_USER"] = "Amina"
    assert_ok(valise(nobody, "recovery", "open", *texts))
    assert_ok(valise(env_as(office, "Amina", "Amina's recovered passphrase"), "case", "list"))
    assert_ok(valise(env_as(office, "Bashir", BASHIR), "case", "list"))  # others unchanged
