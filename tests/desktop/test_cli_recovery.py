"""Recovery from the command line: paper shares and escrow open a workspace whose passphrase
is lost, and the backups made since; every refusal is a sentence and changes nothing."""

from __future__ import annotations

import base64
import itertools
import os
import shutil
from pathlib import Path

import pytest
from pyrage import x25519

from storage import audit, keyfile, paper_shares
from storage.keyfile import FAST_INSECURE_KDF
from storage.passphrase import encode_passphrase
from storage.workspace import create_workspace, open_workspace
from tests.conftest import PASSPHRASE
from tests.desktop.clitools import (
    assert_contents_unchanged,
    assert_ok,
    assert_refused,
    contents,
    fingerprint,
    valise,
)


def cli(env: dict, *args: object):
    """`valise ARGS` in a process of its own; numbers and paths become text."""
    return valise(env, *[str(arg) for arg in args])


NEW = "a fresh passphrase after the loss"
LOST = "the passphrase nobody remembers"


def database_key(root: Path, passphrase: str = PASSPHRASE) -> bytes:
    sealed = keyfile.read(root / "workspace.key")
    return keyfile.unseal(sealed, encode_passphrase(passphrase))


def env_for(root: Path, passphrase: str | None = PASSPHRASE, new: str | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VALISE_")}
    env["VALISE_KDF_PROFILE"] = "fast-insecure-test"
    env["VALISE_WORKSPACE"] = str(root)
    if passphrase is not None:
        env["VALISE_PASSPHRASE"] = passphrase
    if new is not None:
        env["VALISE_NEW_PASSPHRASE"] = new
    return env


def shares_cmd(root: Path, k: int, n: int, out: Path):
    """`valise recovery shares --threshold K --shares N --out OUT` on `root`."""
    return cli(env_for(root), "recovery", "shares", "--threshold", k, "--shares", n, "--out", out)


def escrow_cmd(root: Path, recipient: str, out: Path):
    """`valise recovery escrow --recipient R --out OUT` on `root`."""
    return cli(env_for(root), "recovery", "escrow", "--recipient", recipient, "--out", out)


def make_shares(root: Path, out: Path, k: int = 3, n: int = 5) -> list[Path]:
    result = shares_cmd(root, k, n, out)
    assert_ok(result)
    return sorted(out.glob("*.txt"))


def another_workspace(tmp_path: Path) -> Path:
    """Another office's workspace (its own id and key), with the same passphrase."""
    root = tmp_path / "other"
    create_workspace(root, "Mirani field office", PASSPHRASE, kdf=FAST_INSECURE_KDF).close()
    return root


def opens_with(root: Path, passphrase: str) -> bool:
    try:
        open_workspace(root, passphrase).close()
    except Exception:
        return False
    return True


class Unchanged:
    """The workspace's files byte for byte, and its records, as they were."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files = fingerprint(root)
        self.key_bytes = (root / "workspace.key").read_bytes()

    def check(self) -> None:
        assert (self.root / "workspace.key").read_bytes() == self.key_bytes
        assert fingerprint(self.root) == self.files, "workspace files changed"


@pytest.fixture
def age_identity(tmp_path: Path) -> tuple[str, Path]:
    identity = x25519.Identity.generate()
    path = tmp_path / "tribunal-it.key"
    path.write_text(f"# created: 2026-12-07\n# public key: {identity.to_public()}\n{identity}\n")
    return str(identity.to_public()), path


# -- the two ways back, end to end ---------------------------------------------------------


def test_shares_open_a_workspace_whose_passphrase_is_lost(workspace_dir: Path, tmp_path: Path):
    before = contents(workspace_dir)
    shares = make_shares(workspace_dir, tmp_path / "shares")
    assert len(shares) == 5 and len(list((tmp_path / "shares").glob("*.svg"))) == 5
    text = shares[0].read_text()
    assert "share 1 of a set of 5" in text and "Kabora field office" in text
    chosen = [shares[4], shares[1], shares[2]]
    result = cli(env_for(workspace_dir, None, NEW), "recovery", "open", *chosen)
    assert "set the new passphrase" in result.stderr, result.stderr
    assert_ok(result)
    assert opens_with(workspace_dir, NEW)
    assert not opens_with(workspace_dir, PASSPHRASE)
    after = contents(workspace_dir, NEW)
    assert after.tables.keys() == before.tables.keys() and after.audit_ok
    assert after.audit_actions[-3:] == (
        "recovery shares made",
        "workspace recovered with paper shares",
        "unlock failed",  # the check above with the old passphrase
    )
    # The recovery slot was kept: the same shares still open it.
    assert keyfile.read(workspace_dir / "workspace.key").recovery_slots
    again = cli(env_for(workspace_dir, None, LOST + " twice"), "recovery", "open", *shares[:3])
    assert_ok(again)
    assert opens_with(workspace_dir, LOST + " twice")


def test_escrow_opens_a_workspace_whose_passphrase_is_lost(
    workspace_dir: Path, tmp_path: Path, age_identity: tuple[str, Path]
):
    recipient, identity = age_identity
    out = tmp_path / "kabora.escrow.age"
    assert_ok(escrow_cmd(workspace_dir, recipient, out))
    assert out.read_bytes().startswith(b"age-encryption.org/v1\n")
    with open_workspace(workspace_dir, PASSPHRASE) as ws:
        assert ws.meta("escrow_recipient") == recipient
    result = cli(env_for(workspace_dir, None, NEW), "recovery", "open", out, "--identity", identity)
    assert_ok(result)
    assert opens_with(workspace_dir, NEW)
    assert not opens_with(workspace_dir, PASSPHRASE)
    with open_workspace(workspace_dir, NEW) as ws:
        actions = [e.action for e in audit.entries(ws.conn, limit=10)]
    assert "workspace recovered with escrow" in actions
    assert "recovery escrow written" in actions


def test_a_backup_made_after_the_shares_restores_with_them(workspace_dir: Path, tmp_path: Path):
    shares = make_shares(workspace_dir, tmp_path / "shares", 2, 3)
    saved = tmp_path / "office.valise-backup"
    assert_ok(cli(env_for(workspace_dir), "backup", saved))
    target = tmp_path / "restored"
    result = cli(
        env_for(target, None, NEW), "recovery", "open", shares[2], shares[0], "--backup", saved
    )
    assert_ok(result)
    assert opens_with(target, NEW)
    assert not opens_with(target, PASSPHRASE)
    with open_workspace(target, NEW) as ws:
        actions = [e.action for e in audit.entries(ws.conn, limit=10)]
        assert ws.verify_audit().ok
    assert "backup restored with paper shares" in actions
    assert keyfile.read(target / "workspace.key").recovery_slots  # the shares still work


def test_a_backup_made_before_the_shares_is_refused_with_them(workspace_dir: Path, tmp_path: Path):
    saved = tmp_path / "older.valise-backup"
    assert_ok(cli(env_for(workspace_dir), "backup", saved))
    shares = make_shares(workspace_dir, tmp_path / "shares", 2, 3)
    target = tmp_path / "restored"
    result = cli(env_for(target, None, NEW), "recovery", "open", *shares[:2], "--backup", saved)
    assert_refused(result, 1, "no recovery slot")
    assert not target.exists() or not any(target.iterdir())


def test_the_escrow_opens_a_backup_of_its_workspace(
    workspace_dir: Path, tmp_path: Path, age_identity: tuple[str, Path]
):
    recipient, identity = age_identity
    saved = tmp_path / "before-the-escrow.valise-backup"
    assert_ok(cli(env_for(workspace_dir), "backup", saved))  # older than the escrow
    out = tmp_path / "escrow.age"
    assert_ok(escrow_cmd(workspace_dir, recipient, out))
    target = tmp_path / "restored"
    result = cli(
        env_for(target, None, NEW),
        "recovery",
        "open",
        out,
        "--identity",
        identity,
        "--backup",
        saved,
    )
    assert_ok(result)
    assert opens_with(target, NEW)


# -- shares: refusals -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "n", "needle"),
    [
        (1, 3, "at least 2"),
        (0, 3, "at least 2"),
        (4, 3, "cannot be more than the number of shares"),
        (3, 17, "At most 16 shares"),
    ],
)
def test_bad_threshold_or_share_count_is_refused_with_a_sentence(
    workspace_dir: Path, tmp_path: Path, k: int, n: int, needle: str
):
    unchanged = Unchanged(workspace_dir)
    result = shares_cmd(workspace_dir, k, n, tmp_path / "shares")
    assert_refused(result, 1, needle)
    assert not (tmp_path / "shares").exists()
    unchanged.check()


def test_shares_are_never_written_into_a_folder_that_holds_something(
    workspace_dir: Path, tmp_path: Path
):
    out = tmp_path / "shares"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    unchanged = Unchanged(workspace_dir)
    result = shares_cmd(workspace_dir, 2, 3, out)
    assert_refused(result, 1, "not empty")
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    unchanged.check()


def test_new_shares_make_the_old_set_useless(workspace_dir: Path, tmp_path: Path):
    old = make_shares(workspace_dir, tmp_path / "old", 2, 3)
    result = shares_cmd(workspace_dir, 2, 3, tmp_path / "new")
    assert_ok(result)
    assert "previous set of shares no longer opens" in result.stderr
    unchanged = Unchanged(workspace_dir)
    refused = cli(env_for(workspace_dir, None, NEW), "recovery", "open", *old[:2])
    new_set = keyfile.read(workspace_dir / "workspace.key").recovery_slots[0].set_id
    old_set = old[0].name.split("-")[2]
    assert_refused(
        refused, 1, "do not open this workspace's recovery slot", new_set, f"say set {old_set}"
    )
    unchanged.check()


def refused_with_nothing_changed(root: Path, files: list[Path], *needles: str) -> str:
    before = contents(root)
    unchanged = Unchanged(root)
    result = cli(env_for(root, None, NEW), "recovery", "open", *files)
    message = assert_refused(result, 1, *needles)
    unchanged.check()
    assert_contents_unchanged(before, contents(root))
    assert opens_with(root, PASSPHRASE) and not opens_with(root, NEW)
    return message


def test_fewer_shares_than_the_threshold_are_refused(workspace_dir: Path, tmp_path: Path):
    shares = make_shares(workspace_dir, tmp_path / "shares", 3, 5)
    refused_with_nothing_changed(workspace_dir, shares[:2], "3 shares are needed; 2 were given")


def test_a_damaged_share_is_named(workspace_dir: Path, tmp_path: Path):
    shares = make_shares(workspace_dir, tmp_path / "shares", 2, 3)
    words = paper_shares._words_of(shares[1].read_text())
    words[10], words[11] = words[11], words[10]  # two words swapped while typing
    typed = tmp_path / "typed-share.txt"
    typed.write_text(" ".join(words) + "\n")
    message = refused_with_nothing_changed(
        workspace_dir, [shares[0], typed], str(typed), "do not check out"
    )
    assert words[10] not in message.split() and words[11] not in message.split()


def test_a_misspelt_word_is_named_by_its_place_not_shown(workspace_dir: Path, tmp_path: Path):
    shares = make_shares(workspace_dir, tmp_path / "shares", 2, 3)
    words = paper_shares._words_of(shares[1].read_text())
    words[6] = words[6] + "x"
    typed = tmp_path / "typed.txt"
    typed.write_text("\n".join(f"{i + 1}. {w}" for i, w in enumerate(words)))
    message = refused_with_nothing_changed(workspace_dir, [shares[0], typed], "Word 7", str(typed))
    assert words[6] not in message


def test_shares_of_two_different_sets_are_named(workspace_dir: Path, tmp_path: Path):
    first = make_shares(workspace_dir, tmp_path / "first", 2, 3)
    second = make_shares(workspace_dir, tmp_path / "second", 2, 3)
    refused_with_nothing_changed(
        workspace_dir, [first[0], second[1]], "2 different sets", str(first[0]), str(second[1])
    )


def test_shares_of_another_workspace_do_not_open_this_one(workspace_dir: Path, tmp_path: Path):
    other = another_workspace(tmp_path)
    make_shares(workspace_dir, tmp_path / "ours", 2, 3)
    theirs = make_shares(other, tmp_path / "theirs", 2, 3)
    refused_with_nothing_changed(workspace_dir, theirs[:2], "another workspace")


def test_a_workspace_without_a_recovery_slot_says_so(workspace_dir: Path, tmp_path: Path):
    other = another_workspace(tmp_path)
    theirs = make_shares(other, tmp_path / "theirs", 2, 3)
    refused_with_nothing_changed(workspace_dir, theirs[:2], "no recovery slot")


def test_the_same_share_twice_is_not_two_shares(workspace_dir: Path, tmp_path: Path):
    shares = make_shares(workspace_dir, tmp_path / "shares", 2, 3)
    copy = tmp_path / "copy.txt"
    shutil.copy(shares[0], copy)
    refused_with_nothing_changed(workspace_dir, [shares[0], copy], "the same share")


@pytest.mark.parametrize("kind", ["garbage", "empty", "folder", "huge", "link", "missing", "fifo"])
def test_a_share_file_that_is_not_one_is_refused(workspace_dir: Path, tmp_path: Path, kind: str):
    shares = make_shares(workspace_dir, tmp_path / "shares", 2, 3)
    bad = tmp_path / f"bad-{kind}"
    if kind == "garbage":
        bad.write_bytes(os.urandom(300))
    elif kind == "empty":
        bad.write_bytes(b"")
    elif kind == "folder":
        bad.mkdir()
    elif kind == "huge":
        bad.write_bytes(b"academic " * 100_000)
    elif kind == "link":
        bad.symlink_to(shares[1])
    elif kind == "fifo":
        os.mkfifo(bad)
    needles = {
        "garbage": "not a text file of recovery words",
        "empty": "holds no words",
        "folder": "a folder",
        "huge": "larger than",
        "link": "symbolic link",
        "missing": "does not exist",
        "fifo": "named pipe",
    }
    refused_with_nothing_changed(workspace_dir, [shares[0], bad], str(bad), needles[kind])


def test_any_k_shares_open_and_any_fewer_do_not(workspace_dir: Path, tmp_path: Path):
    shares = make_shares(workspace_dir, tmp_path / "shares", 3, 4)
    sealed = keyfile.read(workspace_dir / "workspace.key")
    key = database_key(workspace_dir)
    for subset in itertools.combinations(shares, 3):
        assert keyfile.unseal_recovery(sealed, paper_shares.recover_secret(subset)) == key
    for subset in itertools.combinations(shares, 2):
        with pytest.raises(Exception, match="3 shares are needed; 2 were given"):
            paper_shares.recover_secret(subset)


# -- escrow: refusals -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "recipient",
    [
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHb2Jw3iN3yQ8b9u1yZsZ2a3rJ6Q5oD0t1i2f3g4h5i6",
        "age1notarealrecipient",
        "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ",
        "",
    ],
)
def test_an_escrow_recipient_that_is_not_age_x25519_is_refused(
    workspace_dir: Path, tmp_path: Path, recipient: str
):
    unchanged = Unchanged(workspace_dir)
    out = tmp_path / "escrow.age"
    result = escrow_cmd(workspace_dir, recipient, out)
    assert_refused(result, 1, "age X25519 recipient")
    assert not out.exists()
    unchanged.check()


def test_an_escrow_is_never_written_over_a_file(
    workspace_dir: Path, tmp_path: Path, age_identity: tuple[str, Path]
):
    out = tmp_path / "escrow.age"
    out.write_text("something else")
    result = escrow_cmd(workspace_dir, age_identity[0], out)
    assert_refused(result, 1, "already exists")
    assert out.read_text() == "something else"


@pytest.fixture
def escrow_file(workspace_dir: Path, tmp_path: Path, age_identity: tuple[str, Path]) -> Path:
    out = tmp_path / "escrow.age"
    assert_ok(escrow_cmd(workspace_dir, age_identity[0], out))
    return out


def escrow_refused(root: Path, escrow: Path, identity: Path, *needles: str) -> None:
    before = contents(root)
    unchanged = Unchanged(root)
    result = cli(env_for(root, None, NEW), "recovery", "open", escrow, "--identity", identity)
    assert_refused(result, 1, *needles)
    unchanged.check()
    assert_contents_unchanged(before, contents(root))
    assert not opens_with(root, NEW)


def test_a_wrong_escrow_identity_is_refused(workspace_dir: Path, tmp_path: Path, escrow_file: Path):
    stranger = tmp_path / "stranger.key"
    stranger.write_text(f"{x25519.Identity.generate()}\n")
    escrow_refused(workspace_dir, escrow_file, stranger, "not sealed to the key in")


def test_an_escrow_of_another_workspace_is_refused(
    workspace_dir: Path,
    tmp_path: Path,
    age_identity: tuple[str, Path],
):
    other = another_workspace(tmp_path)
    theirs = tmp_path / "theirs.age"
    assert_ok(escrow_cmd(other, age_identity[0], theirs))
    escrow_refused(workspace_dir, theirs, age_identity[1], "belongs to another workspace")


def test_a_damaged_escrow_is_refused(
    workspace_dir: Path, tmp_path: Path, escrow_file: Path, age_identity: tuple[str, Path]
):
    data = bytearray(escrow_file.read_bytes())
    data[-20] ^= 0x40
    damaged = tmp_path / "damaged.age"
    damaged.write_bytes(bytes(data))
    escrow_refused(workspace_dir, damaged, age_identity[1], "damaged")
    cut = tmp_path / "cut.age"
    cut.write_bytes(escrow_file.read_bytes()[:150])
    escrow_refused(workspace_dir, cut, age_identity[1], "damaged or cut short")
    garbage = tmp_path / "garbage.age"
    garbage.write_bytes(os.urandom(500))
    escrow_refused(workspace_dir, garbage, age_identity[1], "not an escrow file")


@pytest.mark.parametrize("content", [b"", b"\x00\xff garbage\n", b"AGE-SECRET-KEY-1XYZ\n"])
def test_an_identity_file_that_is_garbage_is_refused(
    workspace_dir: Path, tmp_path: Path, escrow_file: Path, content: bytes
):
    identity = tmp_path / "identity.key"
    identity.write_bytes(content)
    escrow_refused(workspace_dir, escrow_file, identity, str(identity))


# -- nothing secret anywhere ------------------------------------------------------------------


def test_no_secret_in_any_output_audit_entry_or_key_file(
    workspace_dir: Path, tmp_path: Path, age_identity: tuple[str, Path]
):
    key = database_key(workspace_dir)
    outputs: list[str] = []

    def run(env: dict, *args: object) -> None:
        result = cli(env, *args)
        outputs.append(result.stdout + result.stderr)

    out = tmp_path / "shares"
    run(env_for(workspace_dir), "recovery", "shares", "--threshold", 2, "--shares", 3, "--out", out)
    shares = sorted(out.glob("*.txt"))
    words = [paper_shares._words_of(path.read_text()) for path in shares]
    secret = paper_shares.recover_secret(shares[:2])
    run(
        env_for(workspace_dir),
        "recovery",
        "escrow",
        "--recipient",
        age_identity[0],
        "--out",
        tmp_path / "e.age",
    )
    run(env_for(workspace_dir, None, NEW), "recovery", "open", shares[0])  # too few
    run(env_for(workspace_dir, None, NEW), "recovery", "open", *shares[:2])
    run(env_for(workspace_dir, None, "short"), "recovery", "open", *shares[:2])  # weak
    run(
        env_for(workspace_dir, None, LOST),
        "recovery",
        "open",
        tmp_path / "e.age",
        "--identity",
        age_identity[1],
    )
    with open_workspace(workspace_dir, LOST) as ws:
        outputs.extend(str(e.detail) for e in audit.entries(ws.conn, limit=100))
    outputs.append((workspace_dir / "workspace.key").read_text())
    haystack = "\n".join(outputs)
    for secret_bytes in (key, secret):
        for form in (secret_bytes.hex(), base64.b64encode(secret_bytes).decode()):
            assert form not in haystack
    for share_words in words:
        for start in range(0, len(share_words) - 3):
            assert " ".join(share_words[start : start + 4]) not in haystack


# -- init --------------------------------------------------------------------------------------


def test_init_writes_the_escrow_beside_the_new_workspace(
    tmp_path: Path, age_identity: tuple[str, Path]
):
    recipient, identity = age_identity
    root = tmp_path / "new"
    out = tmp_path / "new.escrow.age"
    env = env_for(root, PASSPHRASE, None)
    env["VALISE_PASSPHRASE"] = PASSPHRASE
    created = cli(
        env,
        "init",
        "--office",
        "Dressa field office",
        "--escrow-recipient",
        recipient,
        "--escrow-out",
        out,
    )
    assert_ok(created)
    assert "Escrow for the tribunal IT written" in created.stderr
    assert_ok(cli(env_for(root, None, NEW), "recovery", "open", out, "--identity", identity))
    assert opens_with(root, NEW)


@pytest.mark.parametrize(
    "extra",
    [
        ["--escrow-recipient", "age1wrong", "--escrow-out", "x.age"],
        ["--escrow-recipient", "age1wrong"],
    ],
)
def test_init_with_a_bad_escrow_request_creates_nothing(tmp_path: Path, extra: list[str]):
    root = tmp_path / "new"
    result = cli(env_for(root), "init", "--office", "Dressa field office", *extra)
    assert result.returncode in (1, 2) and "Traceback" not in result.stderr
    assert "escrow" in result.stderr.lower()
    assert not (root / "workspace.key").exists()


def test_rekey_says_the_shares_and_the_escrow_no_longer_open_the_workspace(
    workspace_dir: Path, tmp_path: Path, age_identity: tuple[str, Path]
):
    recipient, identity = age_identity
    shares = make_shares(workspace_dir, tmp_path / "shares", 2, 3)
    assert_ok(escrow_cmd(workspace_dir, recipient, tmp_path / "escrow.age"))
    rekeyed = cli(env_for(workspace_dir), "rekey")
    assert_ok(rekeyed)
    assert "no longer open the workspace" in rekeyed.stderr
    assert f"--recipient {recipient}" in rekeyed.stderr
    assert not keyfile.read(workspace_dir / "workspace.key").recovery_slots
    refused_with_nothing_changed(workspace_dir, shares[:2], "no recovery slot")
    escrow_refused(workspace_dir, tmp_path / "escrow.age", identity, "does not open the database")
    assert_ok(escrow_cmd(workspace_dir, recipient, tmp_path / "new-escrow.age"))
    assert_ok(
        cli(
            env_for(workspace_dir, None, NEW),
            "recovery",
            "open",
            tmp_path / "new-escrow.age",
            "--identity",
            identity,
        )
    )
    assert opens_with(workspace_dir, NEW)


def test_rekey_writes_a_new_escrow_when_asked_and_the_old_one_opens_nothing(
    workspace_dir: Path, tmp_path: Path, age_identity: tuple[str, Path]
):
    """Issue 13: `rekey --escrow-out FILE` seals the new key to the recorded recipient in
    one step, so IT's copy is never left holding a key that opens nothing current."""
    recipient, identity = age_identity
    assert_ok(escrow_cmd(workspace_dir, recipient, tmp_path / "old.age"))
    rekeyed = cli(env_for(workspace_dir), "rekey", "--escrow-out", tmp_path / "new.age")
    assert_ok(rekeyed)
    assert "Wrote the new escrow" in rekeyed.stderr
    assert f"--recipient {recipient}" not in rekeyed.stderr
    escrow_refused(workspace_dir, tmp_path / "old.age", identity, "does not open the database")
    assert_ok(
        cli(
            env_for(workspace_dir, None, NEW),
            "recovery",
            "open",
            tmp_path / "new.age",
            "--identity",
            identity,
        )
    )
    assert opens_with(workspace_dir, NEW)


def test_rekey_with_an_escrow_out_that_cannot_be_written_changes_nothing(
    workspace_dir: Path, tmp_path: Path, age_identity: tuple[str, Path]
):
    """No recipient recorded, a file already there, a folder missing: refused before the
    rekey, so the database keeps its key."""
    recipient, _ = age_identity
    key = database_key(workspace_dir)
    taken = tmp_path / "taken.age"
    taken.write_bytes(b"something else")
    refused = cli(env_for(workspace_dir), "rekey", "--escrow-out", tmp_path / "x.age")
    assert_refused(refused, 1, "no escrow recipient")
    assert_ok(escrow_cmd(workspace_dir, recipient, tmp_path / "first.age"))
    assert_refused(cli(env_for(workspace_dir), "rekey", "--escrow-out", taken), 1, "already exists")
    missing = tmp_path / "nowhere" / "x.age"
    assert_refused(
        cli(env_for(workspace_dir), "rekey", "--escrow-out", missing), 1, "does not exist"
    )
    assert database_key(workspace_dir) == key
    assert taken.read_bytes() == b"something else"
