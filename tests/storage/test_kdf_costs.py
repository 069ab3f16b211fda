"""Issue 13: Argon2id costs chosen for a seized laptop, raised on unlock and on passwd,
and a floor below which a slot is refused (storage.kdf_policy).

The policies here use small costs so each derivation takes milliseconds: what is tested is
which costs get written and refused, not how long they take (bench/kdf.py measures that).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from storage import audit, kdf_policy, keyfile, users
from storage.errors import WorkspaceFileError, WrongPassphrase
from storage.kdf_policy import KdfPolicy, WeakKeySlot
from storage.keyfile import FAST_INSECURE_KDF, STANDARD_KDF, KdfParams
from storage.workspace import Workspace, create_workspace, open_workspace

PASSPHRASE = "correct horse battery staple"
BASHIR = "a long passphrase of Bashir's own"
DATA = Path(__file__).resolve().parents[1] / "data"

OLD = KdfParams(memory_kib=256, iterations=1, lanes=2)  # what the workspace was made with
NEW = KdfParams(memory_kib=1024, iterations=2, lanes=1)  # this test's standard
HIGH = KdfParams(memory_kib=2048, iterations=2, lanes=1)  # above the standard already
FLOOR = KdfParams(memory_kib=128, iterations=1, lanes=1)  # FAST_INSECURE_KDF is below it
POLICY = KdfPolicy(standard=NEW, floor=FLOOR)


def _make(root: Path, kdf: KdfParams = OLD) -> None:
    """A workspace whose slots (Amina's, a supervisor, and Bashir's) have costs `kdf`."""
    with create_workspace(root, "Kabora field office", PASSPHRASE, user="Amina", kdf=kdf) as ws:
        users.add_user(ws, "Bashir", users.INVESTIGATOR, BASHIR)


def _slot(root: Path, name: str) -> keyfile.UserSlot:
    sealed = keyfile.read(root / "workspace.key")
    found = sealed.user_slot(keyfile.user_tag(sealed.workspace_id, name))
    assert found is not None
    return found


def _entries(ws: Workspace, action: str) -> list[audit.AuditEntry]:
    found = [entry for entry in audit.entries(ws.conn) if entry.action == action]
    return sorted(found, key=lambda entry: entry.seq)


def _detail(entry: audit.AuditEntry) -> dict[str, str]:
    detail: dict[str, str] = json.loads(entry.detail)
    return detail


def _files(root: Path) -> dict[str, bytes]:
    """Every file of the workspace folder, by name: "nothing changed" means all equal."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_the_standard_costs_are_for_a_seized_laptop() -> None:
    assert STANDARD_KDF.memory_kib >= 256 * 1024
    assert not kdf_policy.below_floor(STANDARD_KDF, kdf_policy.STANDARD_POLICY)
    assert kdf_policy.below_floor(FAST_INSECURE_KDF, kdf_policy.STANDARD_POLICY)
    # What every Valise wrote before issue 13 still opens (and is then raised).
    before = KdfParams(memory_kib=65536, iterations=3, lanes=4)
    assert not kdf_policy.below_floor(before, kdf_policy.STANDARD_POLICY)
    assert kdf_policy.raised(before, STANDARD_KDF) == STANDARD_KDF


def test_the_test_profile_keeps_the_suite_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """tests/conftest.py sets the profile: its workspaces are neither raised nor refused."""
    assert kdf_policy.current_policy() == kdf_policy.TEST_POLICY
    monkeypatch.delenv(kdf_policy.PROFILE_ENV)
    assert kdf_policy.current_policy() == kdf_policy.STANDARD_POLICY


def test_the_suite_s_fast_workspaces_are_not_raised(workspace_dir: Path) -> None:
    before = (workspace_dir / "workspace.key").read_bytes()
    with open_workspace(workspace_dir, PASSPHRASE) as ws:
        assert ws.key_costs == FAST_INSECURE_KDF
        assert not _entries(ws, "passphrase costs raised")
    assert (workspace_dir / "workspace.key").read_bytes() == before


def test_raised_never_lowers_a_cost() -> None:
    assert kdf_policy.raised(OLD, NEW) == NEW
    assert kdf_policy.raised(HIGH, NEW) == HIGH
    assert kdf_policy.raised(NEW, NEW) == NEW
    # Fewer passes than the standard but as much memory: the standard, not more passes.
    assert kdf_policy.raised(KdfParams(1024, 1, 4), KdfParams(1024, 2, 1)) == KdfParams(1024, 2, 1)
    # More memory than the standard but less work: that memory, with passes enough.
    assert kdf_policy.raised(KdfParams(2048, 1, 4), KdfParams(1024, 4, 1)) == KdfParams(2048, 2, 1)
    # Less memory and more passes: the standard (memory is what costs an attacker most).
    assert kdf_policy.raised(KdfParams(512, 8, 1), KdfParams(1024, 2, 1)) == KdfParams(1024, 2, 1)


def test_an_old_slot_is_raised_at_unlock_and_others_are_left_alone(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    _make(root)
    bashir_before = _slot(root, "Bashir")
    with open_workspace(root, PASSPHRASE, user="Amina", costs=POLICY) as ws:
        [raised] = _entries(ws, "passphrase costs raised")
        assert raised.actor == "Amina"
        assert _detail(raised)["from"] == "256 KiB, 1 pass, 2 lanes"
        assert _detail(raised)["to"] == "1 MiB, 2 passes, 1 lane"
        assert ws.key_costs == NEW
    assert _slot(root, "Amina").kdf == NEW
    assert _slot(root, "Bashir") == bashir_before  # his needs his passphrase
    # The passphrase still opens; the slot is not raised twice.
    with open_workspace(root, PASSPHRASE, user="Amina", costs=POLICY) as ws:
        assert len(_entries(ws, "passphrase costs raised")) == 1
        assert ws.user is not None and ws.user.name == "Amina"
    # Bashir's own unlock raises his.
    with open_workspace(root, BASHIR, user="Bashir", costs=POLICY) as ws:
        assert [e.actor for e in _entries(ws, "passphrase costs raised")] == ["Amina", "Bashir"]
    assert _slot(root, "Bashir").kdf == NEW
    with open_workspace(root, BASHIR, user="Bashir", costs=POLICY) as ws:
        assert ws.user is not None and ws.user.name == "Bashir"


def test_a_slot_from_before_named_users_becomes_a_user_slot_at_the_standard(
    tmp_path: Path,
) -> None:
    root = tmp_path / "old"
    shutil.copytree(DATA / "schema-1", root)
    assert keyfile.read(root / "workspace.key").kdf == FAST_INSECURE_KDF
    legacy = KdfPolicy(standard=NEW, floor=FAST_INSECURE_KDF)
    with open_workspace(root, "fixture passphrase for schema tests", costs=legacy) as ws:
        [raised] = _entries(ws, "passphrase costs raised")
        assert _detail(raised)["from"] == "64 KiB, 1 pass, 1 lane"
        assert _detail(raised)["to"] == "1 MiB, 2 passes, 1 lane"
    sealed = keyfile.read(root / "workspace.key")
    assert not sealed.legacy and [slot.kdf for slot in sealed.user_slots] == [NEW]
    with open_workspace(root, "fixture passphrase for schema tests", costs=legacy):
        pass


def test_passwd_writes_the_standard_costs_and_never_lowers_them(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    _make(root)
    with open_workspace(root, PASSPHRASE, user="Amina", costs=POLICY) as ws:
        users.set_passphrase(ws, "Bashir", "Bashir's new and long passphrase")
        [entry] = _entries(ws, "passphrase set")
        assert _detail(entry)["costs from"] == "256 KiB, 1 pass, 2 lanes"
        assert _detail(entry)["costs to"] == "1 MiB, 2 passes, 1 lane"
        assert _slot(root, "Bashir").kdf == NEW
        # A slot already above the standard keeps its costs through a passwd.
        amina = users.find_user(ws.conn, "Amina")
        users.rewrap_slot(ws, amina, PASSPHRASE, HIGH)
        ws.change_passphrase("Amina's new and long passphrase")
        assert _slot(root, "Amina").kdf == HIGH
    with open_workspace(root, "Bashir's new and long passphrase", user="Bashir", costs=POLICY):
        pass


def test_passwd_in_a_workspace_just_made_uses_at_least_its_costs(tmp_path: Path) -> None:
    """A new workspace's costs are the ones it was made with (the caller's choice)."""
    root = tmp_path / "ws"
    with create_workspace(root, "Kabora field office", PASSPHRASE, user="Amina", kdf=NEW) as ws:
        ws.change_passphrase("Amina's new and long passphrase")
    assert _slot(root, "Amina").kdf == NEW


def test_a_slot_below_the_floor_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    _make(root, FAST_INSECURE_KDF)
    before = _files(root)
    with pytest.raises(WeakKeySlot) as refused:
        open_workspace(root, PASSPHRASE, user="Amina", costs=POLICY)
    sentence = str(refused.value)
    assert "below the least Valise accepts" in sentence
    assert "64 KiB, 1 pass, 1 lane" in sentence and "128 KiB, 1 pass, 1 lane" in sentence
    assert "Nothing changed" in sentence
    assert _files(root) == before  # no raise, no failed attempt counted, no audit entry
    # A wrong passphrase is told as wrong: the floor says nothing to someone without it.
    with pytest.raises(WrongPassphrase):
        open_workspace(root, "not the passphrase at all", user="Amina", costs=POLICY)
    # The refusal left the workspace as it was: under a policy that allows it, it opens
    # with no trace of the refused unlock.
    with open_workspace(root, PASSPHRASE, user="Amina", costs=kdf_policy.TEST_POLICY) as ws:
        assert not _entries(ws, "passphrase costs raised")
        assert len(_entries(ws, "unlock failed")) == 1  # the wrong passphrase only


def test_lowering_a_slot_s_costs_in_the_file_does_not_open_it(tmp_path: Path) -> None:
    """The costs are bound to the slot: edited down, the slot no longer opens at all, so
    nobody without the passphrase can make a weak slot out of a strong one."""
    root = tmp_path / "ws"
    _make(root)
    path = root / "workspace.key"
    document = json.loads(path.read_text())
    for slot in document["slots"]:
        slot["kdf"]["memory_kib"] = 128
    path.write_text(json.dumps(document))
    with pytest.raises(WrongPassphrase):
        open_workspace(root, PASSPHRASE, user="Amina", costs=POLICY)


@pytest.mark.parametrize(
    ("memory_kib", "iterations", "lanes"),
    [(8 * 1024 * 1024, 3, 1), (256 * 1024, 65, 1), (256 * 1024, 3, 0), (4, 1, 1)],
)
def test_absurd_costs_in_a_key_file_are_refused_as_damage(
    tmp_path: Path, memory_kib: int, iterations: int, lanes: int
) -> None:
    """A hostile file cannot make an unlock allocate gigabytes or run for hours."""
    root = tmp_path / "ws"
    _make(root)
    path = root / "workspace.key"
    document = json.loads(path.read_text())
    document["slots"][0]["kdf"].update(memory_kib=memory_kib, iterations=iterations, lanes=lanes)
    path.write_text(json.dumps(document))
    with pytest.raises(WorkspaceFileError, match="damaged"):
        open_workspace(root, PASSPHRASE, user="Amina", costs=POLICY)


@pytest.mark.parametrize("mib", [256, 384, 512, 1024])
def test_real_costs_fit_within_the_limits(mib: int) -> None:
    for iterations in (1, 2, 3, 4):
        for lanes in (1, 2, 4):
            KdfParams(memory_kib=mib * 1024, iterations=iterations, lanes=lanes).check()


def test_the_command_line_refuses_a_weak_slot_with_the_sentence(tmp_path: Path) -> None:
    """Without the test profile (as in an office), the suite's fast workspace is below the
    floor: `valise` says so and changes nothing."""
    from tests.desktop.clitools import assert_refused, valise

    root = tmp_path / "ws"
    _make(root, FAST_INSECURE_KDF)
    before = _files(root)
    env = {k: v for k, v in os.environ.items() if not k.startswith("VALISE_")}
    env |= {"VALISE_WORKSPACE": str(root), "VALISE_PASSPHRASE": PASSPHRASE}
    env["VALISE_USER"] = "Amina"
    assert_refused(
        valise(env, "case", "list"),
        1,
        "below the least Valise accepts",
        "64 KiB, 1 pass, 1 lane",
        "Nothing changed",
    )
    assert _files(root) == before


def test_an_unlock_stands_when_the_raise_cannot_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "ws"
    _make(root)
    before = (root / "workspace.key").read_bytes()

    def disk_full(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(users, "rewrap_slot", disk_full)
    with open_workspace(root, PASSPHRASE, user="Amina", costs=POLICY) as ws:
        [entry] = _entries(ws, "passphrase costs not raised")
        assert "No space left" in _detail(entry)["why"]
        assert not _entries(ws, "passphrase costs raised")
    assert (root / "workspace.key").read_bytes() == before
    monkeypatch.undo()
    with open_workspace(root, PASSPHRASE, user="Amina", costs=POLICY):
        pass  # the next unlock tries again
    assert _slot(root, "Amina").kdf == NEW
