"""Named users in storage (issue 13): a user slot opens only for its own name and
passphrase, in its own workspace; a crash between a slot and its row never lets anyone
in; the upgrade from one passphrase to one supervisor finishes after an interruption."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from storage import audit, keyfile, users
from storage.errors import StorageError, WrongPassphrase
from storage.keyfile import FAST_INSECURE_KDF
from storage.passphrase import encode_passphrase
from storage.workspace import Workspace, create_workspace, open_workspace

DATA = Path(__file__).resolve().parents[1] / "data"
OLD_PASSPHRASE = "fixture passphrase for schema tests"
AMINA = "Amina's long passphrase for the office"
BASHIR = "Bashir's own passphrase, also long"


@pytest.fixture
def office(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    with create_workspace(root, "Kabora", AMINA, user="Amina", kdf=FAST_INSECURE_KDF) as ws:
        users.add_user(ws, "Bashir", users.INVESTIGATOR, BASHIR)
    return root


def _slots(root: Path) -> dict:
    return json.loads((root / "workspace.key").read_text())


def test_a_slot_relabelled_with_a_supervisors_tag_opens_nothing(office: Path):
    """Bashir gives his own slot Amina's tag (and drops hers) to unlock as Amina."""
    doc = _slots(office)
    amina_tag = keyfile.user_tag(doc["workspace_id"], "Amina")
    bashir = next(s for s in doc["slots"] if s["tag"] != amina_tag)
    bashir["tag"] = amina_tag
    doc["slots"] = [bashir]
    (office / "workspace.key").write_text(json.dumps(doc))
    with pytest.raises(WrongPassphrase, match="Wrong user name or passphrase"):
        open_workspace(office, BASHIR, user="Amina")


def test_a_slot_carried_into_another_workspaces_key_file_opens_nothing(
    office: Path, tmp_path: Path
):
    other = tmp_path / "other"
    create_workspace(other, "Elsewhere", AMINA, user="Amina", kdf=FAST_INSECURE_KDF).close()
    mine, theirs = _slots(office), _slots(other)
    theirs["slots"] = [
        s | {"tag": keyfile.user_tag(theirs["workspace_id"], "Bashir")}
        for s in mine["slots"]
        if s["tag"] == keyfile.user_tag(mine["workspace_id"], "Bashir")
    ]
    sealed = keyfile.parse(json.dumps(theirs).encode(), other / "workspace.key")
    with pytest.raises(WrongPassphrase):
        keyfile.unseal(sealed, encode_passphrase(BASHIR), "Bashir")


def test_a_user_add_interrupted_after_its_slot_leaves_a_slot_that_opens_nothing(office: Path):
    """The slot is written before the row: a crash between leaves a slot no user owns,
    which is refused with a sentence (and a later `user add` of that name works)."""
    with open_workspace(office, AMINA, user="Amina") as ws:
        slot = ws.seal_database_key(
            lambda key: keyfile.user_slot(
                key,
                ws.workspace_id,
                "Chidi",
                encode_passphrase("Chidi's long passphrase"),
                FAST_INSECURE_KDF,
            )
        )
        ws.write_key_file(lambda current: current.with_slot(slot))  # then the "crash"
    with pytest.raises(StorageError, match="belongs to no user"):
        open_workspace(office, "Chidi's long passphrase", user="Chidi")
    with open_workspace(office, AMINA, user="Amina") as ws:
        users.add_user(ws, "Chidi", users.PROTECTION_OFFICER, "Chidi's other long passphrase")
    with open_workspace(office, "Chidi's other long passphrase", user="chidi") as ws:
        assert ws.user is not None and ws.user.role == users.PROTECTION_OFFICER


def test_a_removal_interrupted_before_the_key_file_refuses_the_left_over_slot(office: Path):
    with open_workspace(office, AMINA, user="Amina") as ws:
        ws.write_key_file = lambda change: (_ for _ in ()).throw(OSError("power cut"))  # type: ignore[method-assign]
        with pytest.raises(OSError):
            users.remove_user(ws, "Bashir")
    with pytest.raises(users.UserRemoved, match="Bashir was removed"):
        open_workspace(office, BASHIR, user="Bashir")


def test_an_upgrade_interrupted_after_the_user_row_finishes_at_the_next_unlock(
    tmp_path: Path,
):
    root = tmp_path / "old"
    shutil.copytree(DATA / "schema-1", root)
    real_write = Workspace.write_key_file

    def power_cut(self: Workspace, change: object) -> None:
        raise OSError("power cut")

    Workspace.write_key_file = power_cut  # type: ignore[method-assign,assignment]
    try:
        with pytest.raises(OSError):
            open_workspace(root, OLD_PASSPHRASE)
    finally:
        Workspace.write_key_file = real_write  # type: ignore[method-assign]
    assert keyfile.read(root / "workspace.key").legacy
    with open_workspace(root, OLD_PASSPHRASE) as ws:
        assert [u.role for u in users.all_users(ws.conn)] == [users.SUPERVISOR]
        assert ws.user is not None and ws.user.role == users.SUPERVISOR
        introduced = [e for e in audit.entries(ws.conn) if e.action == "named users introduced"]
        assert len(introduced) == 1
    assert not keyfile.read(root / "workspace.key").legacy


def test_a_rekeyed_key_file_opens_for_every_user_and_the_old_key_is_gone(office: Path):
    from storage import rekey

    before = keyfile.read(office / "workspace.key")
    old_key = keyfile.unseal(before, encode_passphrase(AMINA), "Amina")
    with open_workspace(office, AMINA, user="Amina") as ws:
        rekey.rekey(ws, rekey.sealed_for_every_user(ws))
    after = keyfile.read(office / "workspace.key")
    for name, secret in (("Amina", AMINA), ("Bashir", BASHIR)):
        new_key = keyfile.unseal(after, encode_passphrase(secret), name)
        assert new_key != old_key
        open_workspace(office, secret, user=name).close()
