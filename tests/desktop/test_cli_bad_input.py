"""Every command that takes outside input, fed wrong input: each ends with a clear message and
an unchanged workspace.

Wrong, empty and non-UTF-8 passphrases; folders that are not workspaces; truncated, foreign
and garbage key and database files; evidence paths that are missing, folders, empty,
unreadable or oddly named; unknown and ambiguous ids; malformed dates and times; search text
that looks like FTS5 syntax; garbage backups. Each test asserts the exit code (1 for a
failure, 2 for a usage error), a `valise: ...` message naming the problem (and the file,
where a file is bad), no traceback, and that the workspace is unchanged: byte for byte right
after the failure, and record for record once unlocked again.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from storage import cases, evidence, keyfile, queries
from storage.errors import EvidenceFileError
from storage.keyfile import FAST_INSECURE_KDF
from storage.records import Case, Evidence
from storage.workspace import create_workspace, open_workspace
from tests.conftest import PASSPHRASE
from tests.desktop.clitools import (
    assert_contents_unchanged,
    assert_ok,
    assert_refused,
    contents,
    fingerprint,
    temp_leftovers,
    valise,
)

EVIDENCE_BYTES = b"Statement of W-0042, page 1.\n" * 1000
UNKNOWN = "0123456789abcdef0123"  # a well-formed id that matches nothing
NON_UTF8 = "\udcff\udcfe"  # the bytes FF FE, as Python decodes them from argv and environ


@dataclass(frozen=True)
class Populated:
    """A workspace with a case, a person, an incident, a note and one evidence item."""

    root: Path
    case_id: str
    case_reference: str
    evidence_id: str
    evidence_ern: str
    person_id: str
    incident_id: str


@pytest.fixture(scope="session")
def populated_template(
    template_workspace: Path, tmp_path_factory: pytest.TempPathFactory
) -> Populated:
    root = tmp_path_factory.mktemp("populated") / "ws"
    shutil.copytree(template_workspace, root)
    source = root.parent / "statement W-0042.txt"
    source.write_bytes(EVIDENCE_BYTES)
    with open_workspace(root, PASSPHRASE) as ws:
        case_id = cases.add_case(ws, "Shelling of Oru market", "Market hit at noon")
        person_id = cases.add_person(ws, case_id, "witness", name="Lea Morrow")
        incident_id = cases.add_incident(ws, case_id, "Second strike", date_from="2027-03")
        cases.add_note(ws, case_id, "Ask the liaison for the drone footage")
        evidence_id = evidence.add_evidence(ws, case_id, source, title="Statement")
        reference = queries.get(ws.conn, Case, case_id).reference
        ern = queries.get(ws.conn, Evidence, evidence_id).ern
    return Populated(root, case_id, reference, evidence_id, ern, person_id, incident_id)


@pytest.fixture
def pop(populated_template: Populated, tmp_path: Path) -> Populated:
    """A fresh copy of the populated workspace (locked)."""
    root = tmp_path / "ws"
    shutil.copytree(populated_template.root, root)
    return Populated(**{**populated_template.__dict__, "root": root})


@pytest.fixture
def env(pop: Populated) -> dict[str, str]:
    return {**os.environ, "VALISE_WORKSPACE": str(pop.root), "VALISE_PASSPHRASE": PASSPHRASE}


@pytest.fixture(scope="session")
def other_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another office's workspace, with the same passphrase (the confusing case)."""
    root = tmp_path_factory.mktemp("other") / "ws"
    create_workspace(root, "Mirani field office", PASSPHRASE, kdf=FAST_INSECURE_KDF).close()
    return root


class Unchanged:
    """Captures a workspace; `check()` asserts bytes and records are as they were."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.records = contents(root)
        self.files = fingerprint(root)

    def check(self, failed_unlocks: int = 0) -> None:
        assert fingerprint(self.root) == self.files, "workspace files changed"
        assert temp_leftovers(self.root) == []
        assert_contents_unchanged(self.records, contents(self.root), failed_unlocks)


@pytest.fixture
def unchanged(pop: Populated) -> Unchanged:
    return Unchanged(pop.root)


# -- passphrases ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "wrong",
    [
        pytest.param("correct horse battery stapl", id="wrong"),
        pytest.param("", id="empty"),
        pytest.param("\udcff\udcfe\udcfd correct horse", id="non-utf8"),
        pytest.param(PASSPHRASE + "\n", id="trailing-newline"),
    ],
)
def test_a_wrong_passphrase_is_refused_and_changes_nothing(
    env: dict[str, str], pop: Populated, unchanged: Unchanged, wrong: str
) -> None:
    result = valise({**env, "VALISE_PASSPHRASE": wrong}, "case", "list")
    assert_refused(result, 1, "wrong passphrase")
    assert (pop.root / "unlock-attempts.json").exists()  # counted, to slow down guessing
    # The failed unlock joins the audit chain at the next successful unlock, by design.
    unchanged.check(failed_unlocks=1)


def test_no_passphrase_and_no_terminal_is_a_usage_error(
    env: dict[str, str], unchanged: Unchanged
) -> None:
    del env["VALISE_PASSPHRASE"]
    assert_refused(valise(env, "case", "list"), 2, "VALISE_PASSPHRASE")
    unchanged.check()


def test_a_non_utf8_passphrase_round_trips_through_init_and_passwd(tmp_path: Path) -> None:
    first = "gr\udcfcn \udce9t\udce9 caf\udce9 horse"  # Latin-1 bytes, not UTF-8
    second = "\udcff\udcfe sealed \udcc0 envelope 42"
    env = {**os.environ, "VALISE_WORKSPACE": str(tmp_path / "ws"), "VALISE_PASSPHRASE": first}
    assert_ok(valise(env, "init", "--office", "Mirani field office"))
    assert assert_ok(valise(env, "audit", "verify")).startswith("ok ")
    # The same letters typed in UTF-8 are other bytes, hence another passphrase.
    latin1_as_utf8 = first.encode("utf-8", "surrogateescape").decode("latin-1")
    assert_refused(valise({**env, "VALISE_PASSPHRASE": latin1_as_utf8}, "identity"), 1, "wrong")
    assert_ok(valise({**env, "VALISE_NEW_PASSPHRASE": second}, "passwd"))
    assert_refused(valise(env, "identity"), 1, "wrong passphrase")
    assert assert_ok(valise({**env, "VALISE_PASSPHRASE": second}, "audit", "verify")).startswith(
        "ok "
    )


@pytest.mark.parametrize(
    ("weak", "reason"),
    [
        ("short pass", "shorter than 12"),
        ("password1234", "common password"),
        ("111111111111", "run of repeated"),
        ("abcdefghijklmnop", "run of"),
        ("  padded passphrase  ", "spaces"),
        ("", "shorter than 12"),
    ],
)
def test_init_refuses_a_weak_passphrase_with_the_reason(
    tmp_path: Path, weak: str, reason: str
) -> None:
    root = tmp_path / "ws"
    env = {**os.environ, "VALISE_WORKSPACE": str(root), "VALISE_PASSPHRASE": weak}
    assert_refused(valise(env, "init", "--office", "Kabora field office"), 1, "stronger", reason)
    assert not root.exists()


def test_passwd_refuses_a_weak_or_missing_new_passphrase(
    env: dict[str, str], pop: Populated, unchanged: Unchanged
) -> None:
    assert_refused(valise(env, "passwd"), 2, "VALISE_NEW_PASSPHRASE")
    weak = valise({**env, "VALISE_NEW_PASSPHRASE": "password1234"}, "passwd")
    assert_refused(weak, 1, "stronger passphrase", "common password")
    unchanged.check()


def test_passwd_with_the_wrong_current_passphrase_changes_nothing(
    env: dict[str, str], unchanged: Unchanged
) -> None:
    result = valise(
        {**env, "VALISE_PASSPHRASE": "not the passphrase", "VALISE_NEW_PASSPHRASE": "a new one"},
        "passwd",
    )
    assert_refused(result, 1, "wrong passphrase")
    unchanged.check(failed_unlocks=1)


# -- init ------------------------------------------------------------------------------------


def test_init_twice_is_refused(env: dict[str, str], pop: Populated, unchanged: Unchanged) -> None:
    result = valise(env, "init", "--office", "Kabora field office")
    assert_refused(result, 1, "already exists", str(pop.root))
    unchanged.check()


def test_init_over_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "a file"
    target.write_bytes(b"not a folder")
    env = {**os.environ, "VALISE_WORKSPACE": str(target), "VALISE_PASSPHRASE": PASSPHRASE}
    assert_refused(valise(env, "init", "--office", "Kabora"), 1, "not a folder", str(target))
    assert target.read_bytes() == b"not a folder"


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--office", "   "], id="blank-office"),
        pytest.param(["--office", "Kabora", "--code", "K"], id="short-code"),
        pytest.param(["--office", "Kabora", "--code", "KA-B"], id="symbol-code"),
        pytest.param(["--office", "Kabora", "--situation", "VAR 2"], id="bad-situation"),
        pytest.param(["--office", "Kabora " + NON_UTF8], id="non-utf8-office"),
        pytest.param(["--office", "Kabora", "--author", "Ms " + NON_UTF8], id="non-utf8-author"),
    ],
)
def test_init_with_bad_details_refuses_and_leaves_no_half_made_workspace(
    tmp_path: Path, args: list[str]
) -> None:
    root = tmp_path / "ws"
    env = {**os.environ, "VALISE_WORKSPACE": str(root), "VALISE_PASSPHRASE": PASSPHRASE}
    assert_refused(valise(env, "init", *args), 1)
    # Nothing that would block a corrected retry or pretend to be a workspace.
    assert not (root / "workspace.db").exists() and not (root / "workspace.key").exists()
    assert_ok(valise(env, "init", "--office", "Kabora field office"))
    assert assert_ok(valise(env, "audit", "verify")) == "ok 1"


# -- folders that are not workspaces ---------------------------------------------------------

READ_COMMANDS = [
    ["case", "list"],
    ["identity"],
    ["audit", "verify"],
    ["evidence", "verify"],
    ["search", "market"],
    ["log"],
    ["passwd"],
]


@pytest.mark.parametrize("command", READ_COMMANDS, ids=lambda c: "-".join(c))
@pytest.mark.parametrize("kind", ["missing", "empty", "other-files", "a-file"])
def test_a_folder_that_is_not_a_workspace_is_named(
    tmp_path: Path, command: list[str], kind: str
) -> None:
    folder = tmp_path / "not a workspace"
    if kind == "empty":
        folder.mkdir()
    elif kind == "other-files":
        folder.mkdir()
        (folder / "notes.txt").write_text("shopping list")
    elif kind == "a-file":
        folder.write_text("shopping list")
    before = fingerprint(folder) if folder.is_dir() else None
    env = {
        **os.environ,
        "VALISE_PASSPHRASE": PASSPHRASE,
        "VALISE_NEW_PASSPHRASE": "another fine passphrase",
    }
    result = valise(env, *command, "--workspace", folder)
    assert_refused(result, 1, "not a Valise workspace", str(folder))
    if before is not None:
        assert fingerprint(folder) == before
        assert not (folder / "workspace.db").exists() and not (folder / "workspace.key").exists()
    else:
        assert not folder.exists() or folder.read_text() == "shopping list"


# -- damaged, foreign and missing files -----------------------------------------------------


def _damage_key(root: Path, how: str, other: Path) -> None:
    key = root / "workspace.key"
    good = key.read_bytes()
    if how == "random":
        key.write_bytes(os.urandom(len(good)))
    elif how == "empty":
        key.write_bytes(b"")
    elif how == "truncated-json":
        key.write_bytes(good[: len(good) // 2])
    elif how == "other-json":
        key.write_bytes(b'{"format": "something-else", "version": 1}\n')
    elif how == "oversized":
        key.write_bytes(good + b" " * keyfile.MAX_KEYFILE_BYTES)
    elif how in ("flipped-ciphertext", "flipped-private"):
        doc = json.loads(good)
        slot = doc["slots"][0]  # the user's slot (key file version 2)
        field = "sealed_key" if how == "flipped-ciphertext" else "sealed_private"
        sealed = bytearray(base64.b64decode(slot[field]))
        sealed[0] ^= 1
        slot[field] = base64.b64encode(bytes(sealed)).decode()
        key.write_text(json.dumps(doc))
    elif how == "missing":
        key.unlink()
    elif how == "a-folder":
        key.unlink()
        key.mkdir()
    elif how == "other-workspace":
        shutil.copyfile(other / "workspace.key", key)
    else:  # pragma: no cover
        raise AssertionError(how)


@pytest.mark.parametrize(
    ("how", "needle"),
    [
        ("random", "key file is damaged"),
        ("empty", "key file is damaged"),
        ("truncated-json", "key file is damaged"),
        ("other-json", "not a Valise key file"),
        ("oversized", "key file is damaged"),
        ("missing", "key file is missing"),
        ("a-folder", "key file is a folder"),
    ],
)
def test_a_garbage_key_file_is_named(
    env: dict[str, str], pop: Populated, other_workspace: Path, how: str, needle: str
) -> None:
    records = contents(pop.root)
    key = pop.root / "workspace.key"
    good = key.read_bytes()
    _damage_key(pop.root, how, other_workspace)
    files = fingerprint(pop.root)
    result = valise(env, "case", "list")
    assert_refused(result, 1, needle, str(key))
    assert fingerprint(pop.root) == files
    assert not (pop.root / "unlock-attempts.json").exists()  # damage is not a failed guess
    # Put the good key file back: everything is still there.
    if key.is_dir():
        key.rmdir()
    key.write_bytes(good)
    assert_contents_unchanged(records, contents(pop.root))


@pytest.mark.parametrize("how", ["random", "missing"])
def test_a_garbage_key_file_fails_every_command_the_same_way(
    env: dict[str, str], pop: Populated, other_workspace: Path, how: str
) -> None:
    _damage_key(pop.root, how, other_workspace)
    files = fingerprint(pop.root)
    key = str(pop.root / "workspace.key")
    for command in READ_COMMANDS:
        result = valise({**env, "VALISE_NEW_PASSPHRASE": "another fine passphrase"}, *command)
        assert_refused(result, 1, "key file", key)
    assert fingerprint(pop.root) == files


def test_a_tampered_key_file_reads_as_a_wrong_passphrase(
    env: dict[str, str], pop: Populated, other_workspace: Path
) -> None:
    """A flipped bit in the user's sealed private key fails the AEAD tag exactly as a wrong
    passphrase does (the two cannot be told apart); the message must not claim success."""
    _damage_key(pop.root, "flipped-private", other_workspace)
    files = fingerprint(pop.root)
    assert_refused(valise(env, "identity"), 1, "wrong passphrase")
    assert fingerprint(pop.root) == files


def test_a_tampered_key_for_a_user_is_told_apart_from_a_wrong_passphrase(
    env: dict[str, str], pop: Populated, other_workspace: Path
) -> None:
    """Issue 13: once the passphrase opened the user's private key, a flipped bit in the
    database key sealed to them is damage, not a typing error: the sentence says so."""
    _damage_key(pop.root, "flipped-ciphertext", other_workspace)
    files = fingerprint(pop.root)
    assert_refused(valise(env, "identity"), 1, "passphrase is right", "damaged or was tampered")
    assert fingerprint(pop.root) == files


def test_a_key_file_from_another_workspace_is_named(
    env: dict[str, str], pop: Populated, other_workspace: Path
) -> None:
    """The other workspace's key file opens with the same passphrase, so the problem shows
    only as a database that does not open with that key. The key file is the file that is
    wrong here: the message must name it, not send the person to restore a healthy
    database from a backup."""
    records = contents(pop.root)
    good = (pop.root / "workspace.key").read_bytes()
    _damage_key(pop.root, "other-workspace", other_workspace)
    files = fingerprint(pop.root)
    message = assert_refused(valise(env, "case", "list"), 1, "another workspace")
    assert fingerprint(pop.root) == files
    assert "workspace.key" in message, message
    (pop.root / "workspace.key").write_bytes(good)
    assert_contents_unchanged(records, contents(pop.root))


@pytest.mark.parametrize(
    "how",
    [
        "other-workspace",
        "truncated-header",
        "truncated-half",
        "random",
        "empty",
        "missing",
        "a-folder",
    ],
)
def test_a_bad_database_file_is_named(
    env: dict[str, str], pop: Populated, other_workspace: Path, how: str
) -> None:
    db = pop.root / "workspace.db"
    good = db.read_bytes()
    assert not (pop.root / "workspace.db-wal").exists()
    if how == "other-workspace":
        shutil.copyfile(other_workspace / "workspace.db", db)
    elif how == "truncated-header":
        db.write_bytes(good[:8192])
    elif how == "truncated-half":
        db.write_bytes(good[: len(good) // 2])
    elif how == "random":
        db.write_bytes(os.urandom(len(good)))
    elif how == "empty":
        db.write_bytes(b"")
    elif how == "missing":
        db.unlink()
    elif how == "a-folder":
        db.unlink()
        db.mkdir()
    files = fingerprint(pop.root)
    key = (pop.root / "workspace.key").read_bytes()
    for command in (["case", "list"], ["audit", "verify"], ["evidence", "verify"]):
        result = valise(env, *command)
        message = assert_refused(result, 1, str(db))
        assert "database" in message.lower()
    assert fingerprint(pop.root) == files
    assert (pop.root / "workspace.key").read_bytes() == key
    assert not (pop.root / "unlock-attempts.json").exists()  # the passphrase was right
    if db.is_dir():
        db.rmdir()
    db.write_bytes(good)
    assert contents(pop.root).audit_ok


# -- evidence paths -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["missing", "folder", "empty", "device", "fifo", "dangling-link"])
def test_a_bad_evidence_path_is_named_and_nothing_is_stored(
    env: dict[str, str], pop: Populated, unchanged: Unchanged, tmp_path: Path, kind: str
) -> None:
    path = tmp_path / f"exhibit {kind}"
    needle = {
        "missing": "No such file",
        "folder": "folder, not a file",
        "empty": "empty",
        "device": "not a regular file",
        "fifo": "not a regular file",
        "dangling-link": "No such file",
    }[kind]
    if kind == "folder":
        path.mkdir()
        (path / "inside.jpg").write_bytes(b"jpeg")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "device":
        path = Path("/dev/null")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "dangling-link":
        path.symlink_to(tmp_path / "gone")
    result = valise(env, "evidence", "add", pop.case_id, path)
    assert_refused(result, 1, needle, str(path))
    unchanged.check()


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="root reads chmod-000 files; covered in-process by the two tests below",
)
def test_an_unreadable_evidence_file_is_named(
    env: dict[str, str], pop: Populated, unchanged: Unchanged, tmp_path: Path
) -> None:
    path = tmp_path / "locked.pdf"
    path.write_bytes(b"%PDF-1.7 secret")
    path.chmod(0)
    try:
        result = valise(env, "evidence", "add", pop.case_id, path)
    finally:
        path.chmod(0o600)
    assert_refused(result, 1, "permission denied", str(path))
    unchanged.check()


def test_an_unreadable_evidence_file_is_refused_before_reading(
    pop: Populated, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Storage level (tests run as root, who can read chmod-000 files): access is denied."""
    path = tmp_path / "locked.pdf"
    path.write_bytes(b"%PDF-1.7 secret")
    path.chmod(0)
    real_access = os.access
    monkeypatch.setattr(
        "storage.blobs.os.access",
        lambda p, mode, **kw: False if Path(p) == path else real_access(p, mode, **kw),
    )
    check = Unchanged(pop.root)
    with open_workspace(pop.root, PASSPHRASE) as ws, pytest.raises(EvidenceFileError) as caught:
        evidence.add_evidence(ws, pop.case_id, path)
    assert "permission denied" in str(caught.value) and str(path) in str(caught.value)
    check.check()


def test_a_read_error_midway_is_named_and_leaves_no_partial_file(
    pop: Populated, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Storage level: the open itself is denied in the reader (a race with chmod, or a
    file system that refuses root)."""
    path = tmp_path / "locked.pdf"
    path.write_bytes(b"%PDF-1.7 secret" * 100_000)
    real_open = Path.open

    def deny(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", deny)
    check = Unchanged(pop.root)
    with open_workspace(pop.root, PASSPHRASE) as ws, pytest.raises(EvidenceFileError) as caught:
        evidence.add_evidence(ws, pop.case_id, path)
    assert "Permission denied" in str(caught.value) and str(path) in str(caught.value)
    check.check()


@pytest.mark.parametrize(
    "name",
    [
        "scène de crime — photo 3.jpg",
        "証言 第二版.pdf",
        "شهادة الشاهد.txt",
        "  leading and trailing  .txt",
        "quote ' and \" and $HOME.txt",
    ],
)
def test_an_evidence_file_with_spaces_and_non_latin_characters_round_trips(
    env: dict[str, str], pop: Populated, tmp_path: Path, name: str
) -> None:
    source = tmp_path / "in" / name
    source.parent.mkdir()
    data = os.urandom(3 << 20) + name.encode()
    source.write_bytes(data)
    evidence_id = assert_ok(valise(env, "evidence", "add", pop.case_id, source))
    assert len(evidence_id) == 20 and "\n" not in evidence_id
    out = tmp_path / "out"
    out.mkdir()
    assert_ok(valise(env, "evidence", "get", evidence_id, "--out", out))
    assert (out / name).read_bytes() == data  # into a folder: the original name
    named = out / f"copy of {name}"
    assert_ok(valise(env, "evidence", "get", evidence_id[:8], "--out", named))
    assert named.read_bytes() == data
    with open_workspace(pop.root, PASSPHRASE) as ws:
        item = queries.get(ws.conn, Evidence, evidence_id)
        assert item.original_name == name
        assert item.sha256 == hashlib.sha256(data).hexdigest()
        events = [e.event for e in queries.custody_of(ws.conn, evidence_id)]
    assert events == ["collected", "exported", "exported"]
    assert assert_ok(valise(env, "evidence", "verify")).endswith("2 of 2 evidence items verified.")


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        (b"t\xe9moin.txt", "t\\xe9moin.txt"),  # an old camera's Latin-1
        (b"caf\xe9_\xff\xfe.txt", "caf\\xe9_\\xff\\xfe.txt"),
        (b"scan\x1b[2J\n2.pdf", "scan\\u001b[2J\\u000a2.pdf"),  # an ESC and a newline
        (b"back\\slash \xe2\x80\xae.txt", "back\\\\slash \\u202e.txt"),
        ("Zeugenaussage über.txt".encode(), "Zeugenaussage über.txt"),
    ],
)
def test_an_evidence_file_name_keeps_its_bytes_and_is_shown_readably(
    env: dict[str, str], pop: Populated, tmp_path: Path, raw: bytes, stored: str
) -> None:
    """File names on Linux are bytes. One that is not UTF-8, or holds control characters,
    is stored in a readable escaped form that keeps every byte (not as U+FFFD), shown so,
    and a copy saved into a folder takes the original bytes back."""
    folder = tmp_path / "in"
    folder.mkdir()
    source = Path(os.fsdecode(os.fsencode(folder) + b"/" + raw))
    source.write_bytes(b"witness account")
    evidence_id = assert_ok(valise(env, "evidence", "add", pop.case_id, source))
    with open_workspace(pop.root, PASSPHRASE) as ws:
        item = queries.get(ws.conn, Evidence, evidence_id)
    assert item.original_name == stored and item.title == stored
    shown = assert_ok(valise(env, "evidence", "show", evidence_id))
    assert stored in shown and "\x1b" not in shown and "\u202e" not in shown
    out = tmp_path / "out"
    out.mkdir()
    assert_ok(valise(env, "evidence", "get", evidence_id, "--out", out))
    assert os.listdir(os.fsencode(out)) == [raw]
    assert (out / os.fsdecode(raw)).read_bytes() == b"witness account"


def test_evidence_add_with_a_bad_field_stores_nothing(
    env: dict[str, str], pop: Populated, unchanged: Unchanged, tmp_path: Path
) -> None:
    source = tmp_path / "photo.jpg"
    source.write_bytes(os.urandom(2 << 20))
    for args, needle in (
        (["--created-at", "2027-13-45"], "2027-13-45"),
        (["--collected-at", "last tuesday"], "last tuesday"),
        (["--title", "x" * 1001], "longer than"),
        (["--sensitivity", "graphic,spicy"], "spicy"),
    ):
        result = valise(env, "evidence", "add", pop.case_id, source, *args)
        assert_refused(result, 1, needle)
    assert_refused(valise(env, "evidence", "add", pop.case_id, source, "--type", "gif"), 2, "gif")
    assert_refused(valise(env, "evidence", "add", UNKNOWN, source), 1, "No case", UNKNOWN)
    unchanged.check()


# -- evidence get --------------------------------------------------------------------------


def test_evidence_get_refuses_an_existing_file_and_a_missing_folder(
    env: dict[str, str], pop: Populated, unchanged: Unchanged, tmp_path: Path
) -> None:
    existing = tmp_path / "already here.txt"
    existing.write_bytes(b"keep me")
    result = valise(env, "evidence", "get", pop.evidence_id, "--out", existing)
    assert_refused(result, 1, "already exists", str(existing))
    assert existing.read_bytes() == b"keep me"

    missing = tmp_path / "no such folder" / "copy.txt"
    result = valise(env, "evidence", "get", pop.evidence_id, "--out", missing)
    assert_refused(result, 1, "does not exist", str(missing.parent))
    assert not missing.parent.exists()

    # Into a folder that already holds a file of the original name.
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "statement W-0042.txt").write_bytes(b"older copy")
    result = valise(env, "evidence", "get", pop.evidence_id, "--out", folder)
    assert_refused(result, 1, "already exists")
    assert (folder / "statement W-0042.txt").read_bytes() == b"older copy"

    assert_refused(
        valise(env, "evidence", "get", UNKNOWN, "--out", tmp_path / "x"), 1, "No evidence"
    )
    assert_refused(valise(env, "evidence", "get", pop.evidence_id), 2, "--out")
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []
    unchanged.check()


def test_evidence_get_to_a_non_utf8_name_is_exported_and_audited(
    env: dict[str, str], pop: Populated, tmp_path: Path
) -> None:
    """A plain copy written to disk is always in the custody chain and the audit: the export
    must not end in an internal error after the copy exists."""
    out = tmp_path / "copie \udce9t\udce9.txt"
    result = valise(env, "evidence", "get", pop.evidence_id, "--out", out)
    assert_ok(result)
    assert out.read_bytes() == EVIDENCE_BYTES
    with open_workspace(pop.root, PASSPHRASE) as ws:
        chain = queries.custody_of(ws.conn, pop.evidence_id)
        exported = [e for e in chain if e.event == "exported"]
        assert (
            len(exported) == 1
            and exported[0].hash_seen == hashlib.sha256(EVIDENCE_BYTES).hexdigest()
        )
        assert ws.verify_audit().ok


# -- custody -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "at",
    [
        "2027-13-45T99:99Z",
        "2027-02-30T10:00Z",
        "2027-03-15T24:30Z",
        "2027-03-15T14:30+25:00",
        "2027-03-15T14:30",  # no zone: ambiguous
        "yesterday",
        "15/03/2027",
        "2027-3-15",
    ],
)
def test_custody_add_refuses_a_malformed_time(
    env: dict[str, str], pop: Populated, unchanged: Unchanged, at: str
) -> None:
    result = valise(env, "custody", "add", pop.evidence_id, "--event", "sealed", "--at", at)
    assert_refused(result, 1, at)
    unchanged.check()


def test_custody_add_refuses_a_bad_event_medium_hash_or_item(
    env: dict[str, str], pop: Populated, unchanged: Unchanged
) -> None:
    base = ["custody", "add", pop.evidence_id]
    assert_refused(valise(env, *base, "--event", "lost"), 2, "invalid choice", "lost")
    assert_refused(valise(env, *base), 2, "--event")
    assert_refused(
        valise(env, *base, "--event", "copied", "--medium", "carrier pigeon"), 2, "--medium"
    )
    assert_refused(valise(env, *base, "--event", "copied", "--hash", "abc"), 1, "SHA-256")
    assert_refused(
        valise(env, "custody", "add", UNKNOWN, "--event", "sealed"), 1, "No evidence", UNKNOWN
    )
    unchanged.check()


# -- unknown and ambiguous ids ---------------------------------------------------------------


def _unknown_id_commands(pop: Populated) -> list[tuple[list[str], str]]:
    return [
        (["case", "show", UNKNOWN], "No case"),
        (["case", "update", UNKNOWN, "--title", "x"], "No case"),
        (["case", "withdraw", UNKNOWN], "No case"),
        (["person", "add", UNKNOWN, "--role", "witness"], "No case"),
        (["person", "list", UNKNOWN], "No case"),
        (["incident", "add", UNKNOWN, "--title", "x"], "No case"),
        (["incident", "list", UNKNOWN], "No case"),
        (["element", "add", UNKNOWN, "--charge", "c", "--element", "e"], "No case"),
        (["note", "add", UNKNOWN, "--text", "x"], "No case"),
        (["note", "list", UNKNOWN], "No case"),
        (["evidence", "list", UNKNOWN], "No case"),
        (["evidence", "show", UNKNOWN], "No evidence"),
        (["evidence", "update", UNKNOWN, "--title", "x"], "No evidence"),
        (["custody", "list", UNKNOWN], "No evidence"),
        (["link", UNKNOWN, pop.incident_id], "No evidence"),
        (["link", pop.evidence_id, UNKNOWN], "No incident, person or element"),
        (["link", pop.evidence_id, pop.case_id], "No incident, person or element"),
        (["log", "--case", UNKNOWN], "No case"),
        (["case", "show", "zz"], "No case"),
        (["case", "show", " "], "No case"),
        (["case", "show", "x" * 200], "No case"),
        (["case", "show", pop.case_id[:3]], "No case"),  # too short to be a prefix
    ]


def test_unknown_ids_are_named(env: dict[str, str], pop: Populated, unchanged: Unchanged) -> None:
    for command, needle in _unknown_id_commands(pop):
        result = valise(env, *command)
        result.args = command  # named in a failure
        assert_refused(result, 1, needle)
    unchanged.check()


def test_an_ambiguous_short_id_asks_for_more(
    pop: Populated, monkeypatch: pytest.MonkeyPatch
) -> None:
    import storage.grants

    ids = iter(["abcd1" + "0" * 27, "abcd2" + "0" * 27])
    with open_workspace(pop.root, PASSPHRASE) as ws:
        monkeypatch.setattr(storage.grants, "new_case_id", lambda _origin: next(ids))
        cases.add_case(ws, "First twin")
        cases.add_case(ws, "Second twin")
    monkeypatch.undo()
    env = {**os.environ, "VALISE_WORKSPACE": str(pop.root), "VALISE_PASSPHRASE": PASSPHRASE}
    check = Unchanged(pop.root)
    assert_refused(valise(env, "case", "show", "abcd"), 1, "'abcd' matches 2 case", "type more")
    assert_refused(valise(env, "note", "add", "ABCD", "--text", "x"), 1, "matches 2")
    assert_ok(valise(env, "case", "show", "abcd1"))
    check.check()


# -- record fields: choices and dates --------------------------------------------------------


def test_person_add_refuses_a_bad_role_or_protection(
    env: dict[str, str], pop: Populated, unchanged: Unchanged
) -> None:
    base = ["person", "add", pop.case_id]
    assert_refused(valise(env, *base, "--role", "bystander"), 2, "--role", "bystander")
    assert_refused(valise(env, *base), 2, "--role")
    assert_refused(
        valise(env, *base, "--role", "witness", "--protection", "some"), 2, "--protection"
    )
    unchanged.check()


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--from", "2027-13-45"),
        ("--from", "2027-02-30"),
        ("--from", "2027-3-5"),
        ("--from", "15.03.2027"),
        ("--from", "before"),
        ("--from", "around 2027"),
        ("--from", "1700"),
        ("--to", "2027-00"),
        ("--to", "2027-03-15T14:30Z"),
    ],
)
def test_incident_add_refuses_a_malformed_date(
    env: dict[str, str], pop: Populated, unchanged: Unchanged, flag: str, value: str
) -> None:
    result = valise(env, "incident", "add", pop.case_id, "--title", "Night raid", flag, value)
    assert_refused(result, 1, repr(value))
    unchanged.check()


def test_other_malformed_dates_and_choices_are_refused(
    env: dict[str, str], pop: Populated, unchanged: Unchanged
) -> None:
    checks = [
        (["case", "add", "--title", "t", "--opened-on", "2027-02-29"], 1, "2027-02-29"),
        (["case", "add", "--title", "t", "--opened-on", "soon"], 1, "soon"),
        (["case", "update", pop.case_id, "--opened-on", "2027-13"], 1, "2027-13"),
        (["case", "add", "--title", "   "], 1, "title"),
        (["case", "add", "--title", "t", "--status", "cold"], 2, "--status"),
        (["case", "add", "--title", "t", "--categories", "jaywalking"], 1, "jaywalking"),
        (["incident", "add", pop.case_id, "--title", "t", "--acts", "killing,gossip"], 1, "gossip"),
        (["evidence", "update", pop.evidence_id, "--created-at", "2027-13-45"], 1, "2027-13-45"),
        (["note", "add", pop.case_id, "--text", "t", "--class", "secret"], 2, "--class"),
        (["case", "list", "--limit", "many"], 2, "--limit"),
        (["case", "list", "--sort", "colour"], 2, "--sort"),
        (["case", "frobnicate"], 2, "frobnicate"),
        (["frobnicate"], 2, "frobnicate"),
    ]
    for command, code, needle in checks:
        assert_refused(valise(env, *command), code, needle)
    unchanged.check()


# -- text that is not UTF-8 ------------------------------------------------------------------


def test_arguments_that_are_not_utf8_get_a_clear_answer(
    env: dict[str, str], pop: Populated, unchanged: Unchanged
) -> None:
    """Arguments arrive as bytes; invalid UTF-8 must end in a message, never an internal
    error, and store nothing."""
    bad = "Oru " + NON_UTF8
    for command in (
        ["case", "add", "--title", bad],
        ["case", "update", pop.case_id, "--summary", bad],
        ["case", "show", bad],
        ["note", "add", pop.case_id, "--text", bad],
        ["person", "add", pop.case_id, "--role", "witness", "--name", bad],
        ["incident", "add", pop.case_id, "--title", bad],
        ["evidence", "update", pop.evidence_id, "--description", bad],
        ["custody", "add", pop.evidence_id, "--event", "sealed", "--note", bad],
        ["log", "--case", bad],
        ["evidence", "show", bad],
    ):
        result = valise(env, *command)
        assert_refused(result, 1)
    for command in (["search", bad], ["audit", "list", "--action", bad]):
        result = valise(env, *command)
        if result.returncode:
            assert_refused(result, 1)
        else:
            assert "Traceback" not in result.stderr
    unchanged.check()


def test_a_workspace_folder_whose_name_is_not_utf8_works(tmp_path: Path) -> None:
    root = tmp_path / "dossier \udce9t\udce9"
    env = {**os.environ, "VALISE_WORKSPACE": str(root), "VALISE_PASSPHRASE": PASSPHRASE}
    assert_ok(valise(env, "init", "--office", "Kabora field office"))
    case_id = assert_ok(valise(env, "case", "add", "--title", "Oru"))
    assert json.loads(assert_ok(valise(env, "case", "list", "--json")))[0]["id"] == case_id
    missing = tmp_path / "autre \udce9"
    result = valise({**env, "VALISE_WORKSPACE": str(missing)}, "case", "list")
    assert_refused(result, 1, "not a Valise workspace")


# -- search ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "!!!",
        "*",
        '"',
        '"NEAR(',
        "NEAR(a b)",
        "a OR",
        "OR",
        "a AND NOT",
        "(",
        "title:market",
        "^market",
        'market" OR "x',
        "market*",
        "-market",
        "x" * 501,
        "market " * 100,
    ],
)
def test_search_never_crashes_on_odd_text(
    env: dict[str, str], pop: Populated, unchanged: Unchanged, text: str
) -> None:
    result = valise(env, "search", "--json", "--", text)
    if result.returncode == 0:
        hits = json.loads(result.stdout)
        assert isinstance(hits, list)
        words = set(re.findall(r"\w+", text.lower()))
        if words == {"market"}:
            assert [h["entity_id"] for h in hits] == [pop.case_id]
    else:
        assert_refused(result, 1, "search")
    unchanged.check()


def test_search_text_that_looks_like_an_option_is_a_usage_error(
    env: dict[str, str], pop: Populated
) -> None:
    assert_refused(valise(env, "search", "-market"), 2, "TEXT")


# -- backup and restore ------------------------------------------------------------------------


def test_backup_refuses_an_existing_file_and_a_missing_folder(
    env: dict[str, str], pop: Populated, unchanged: Unchanged, tmp_path: Path
) -> None:
    existing = tmp_path / "backup.valise"
    existing.write_bytes(b"last week's backup")
    assert_refused(valise(env, "backup", existing), 1, "already exists", str(existing))
    assert existing.read_bytes() == b"last week's backup"
    missing = tmp_path / "gone" / "b.valise"
    assert_refused(valise(env, "backup", missing), 1, "does not exist", str(missing.parent))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup.valise", "ws"]
    unchanged.check()


def test_a_backup_to_a_non_utf8_name_is_written_and_audited(
    env: dict[str, str], pop: Populated, tmp_path: Path
) -> None:
    out = tmp_path / "sauvegarde \udce9t\udce9.valise"
    assert_ok(valise(env, "backup", out))
    assert out.is_file()
    with open_workspace(pop.root, PASSPHRASE) as ws:
        assert ws.verify_audit().ok
        from storage import audit

        assert [e.action for e in audit.entries(ws.conn, limit=1)] == ["backup written"]


@pytest.fixture(scope="session")
def good_backup(populated_template: Populated, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("backup")
    copy = folder / "ws"
    shutil.copytree(populated_template.root, copy)
    out = folder / "good.valise"
    from storage import backup

    with open_workspace(copy, PASSPHRASE) as ws:
        backup.write_backup(ws, out)
    return out


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, **extra: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    for key, value in extra.items():
        setattr(info, key, value)
    return info


def _make_bad_backup(kind: str, good: Path, folder: Path) -> Path:
    path = folder / f"{kind}.valise"
    data = good.read_bytes()
    if kind == "random":
        path.write_bytes(os.urandom(200_000))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif kind == "cut-in-the-manifest":  # the last member, written last
        with tarfile.open(good) as tar:
            last = tar.getmembers()[-1]
        path.write_bytes(data[: last.offset_data + last.size // 2])
    elif kind == "cut-in-the-database":
        with tarfile.open(good) as tar:
            db = tar.getmember("workspace.db")
        path.write_bytes(data[: db.offset_data + db.size - 100])
    elif kind == "dot-dot":
        _tar(path, [(_member("../escaped.txt"), b"owned")])
    elif kind == "dot-dot-inside":
        _tar(path, [(_member("blobs/../../escaped.txt"), b"owned")])
    elif kind == "absolute":
        _tar(path, [(_member(str(folder / "escaped.txt")), b"owned")])
    elif kind == "symlink":
        _tar(path, [(_member("workspace.key", tarfile.SYMTYPE, linkname="/etc/passwd"), b"")])
    elif kind == "no-manifest":
        with tarfile.open(good) as src, tarfile.open(path, "w") as dst:
            for m in src.getmembers():
                if m.name != "VALISE-BACKUP.json":
                    dst.addfile(m, src.extractfile(m))
    elif kind == "altered-member":
        with tarfile.open(good) as src, tarfile.open(path, "w") as dst:
            for m in src.getmembers():
                content = src.extractfile(m).read()  # type: ignore[union-attr]
                if m.name == "workspace.db":
                    content = content[:-1] + bytes([content[-1] ^ 1])
                dst.addfile(m, io.BytesIO(content))
    elif kind == "a-folder":
        path.mkdir()
    elif kind == "missing":
        pass
    else:  # pragma: no cover
        raise AssertionError(kind)
    return path


@pytest.mark.parametrize(
    "kind",
    [
        "random",
        "empty",
        "truncated",
        "cut-in-the-manifest",
        "cut-in-the-database",
        "dot-dot",
        "dot-dot-inside",
        "absolute",
        "symlink",
        "no-manifest",
        "altered-member",
        "a-folder",
        "missing",
    ],
)
def test_restore_refuses_a_garbage_backup_and_names_it(
    good_backup: Path, tmp_path: Path, kind: str
) -> None:
    source = _make_bad_backup(kind, good_backup, tmp_path)
    target = tmp_path / "restored"
    env = {**os.environ, "VALISE_WORKSPACE": str(target), "VALISE_PASSPHRASE": PASSPHRASE}
    before = sorted(p.name for p in tmp_path.iterdir())
    needle = "does not exist" if kind in ("missing", "a-folder") else "not a Valise backup"
    assert_refused(valise(env, "restore", source), 1, needle, str(source))
    assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no staging left behind
    assert not (tmp_path.parent / "escaped.txt").exists()
    assert not (tmp_path / "escaped.txt").exists()


def test_restore_with_the_wrong_passphrase_restores_nothing(
    good_backup: Path, tmp_path: Path
) -> None:
    target = tmp_path / "restored"
    env = {**os.environ, "VALISE_WORKSPACE": str(target), "VALISE_PASSPHRASE": "not the one at all"}
    assert_refused(valise(env, "restore", good_backup), 1, "wrong passphrase")
    assert list(tmp_path.iterdir()) == []
    assert_ok(valise({**env, "VALISE_PASSPHRASE": PASSPHRASE}, "restore", good_backup))
    assert_ok(valise({**env, "VALISE_PASSPHRASE": PASSPHRASE}, "audit", "verify"))


def test_restore_refuses_a_workspace_or_a_busy_folder(
    env: dict[str, str], pop: Populated, unchanged: Unchanged, good_backup: Path, tmp_path: Path
) -> None:
    assert_refused(valise(env, "restore", good_backup), 1, "already exists", str(pop.root))
    unchanged.check()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "holiday.jpg").write_bytes(b"jpeg")
    result = valise({**env, "VALISE_WORKSPACE": str(busy)}, "restore", good_backup)
    assert_refused(result, 1, "empty or new folder", str(busy))
    assert [p.name for p in busy.iterdir()] == ["holiday.jpg"]


# -- incident dates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end"),
    [("2027-04", "2027-03"), ("after 2027-03", "2027-03-15"), ("2027-03-15", "before 2027-03")],
)
def test_an_incident_that_ends_before_it_starts_is_refused(
    env: dict[str, str], pop: Populated, unchanged: Unchanged, start: str, end: str
) -> None:
    result = valise(
        env, "incident", "add", pop.case_id, "--title", "Raid", "--from", start, "--to", end
    )
    assert_refused(result, 1, f"would end ({end}) before it starts ({start})", "check the dates")
    unchanged.check()
