"""The key file's slots (version 2): version 1 files still open and carry over, each slot's
fields are bound to its ciphertext, and a damaged or hostile file is refused plainly."""

from __future__ import annotations

import base64
import itertools
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import shamir_mnemonic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shamir_mnemonic import shamir
from shamir_mnemonic.share import Share

from storage import audit, keyfile, paper_shares
from storage.errors import RecoveryRefused, WorkspaceFileError, WrongPassphrase
from storage.passphrase import encode_passphrase
from storage.workspace import Workspace, open_workspace
from tests.conftest import PASSPHRASE

DATA = Path(__file__).resolve().parents[1] / "data"
OLD_PASSPHRASE = "fixture passphrase for schema tests"
KEY_PATH = Path("/nonexistent/workspace.key")


def two_slot_document(ws: Workspace, tmp_path: Path) -> dict[str, Any]:
    paper_shares.make_shares(ws, 2, 3, tmp_path / "shares")
    return json.loads(ws.paths.keyfile.read_bytes())


def refused(document: object, why: str) -> None:
    data = json.dumps(document).encode() if not isinstance(document, bytes) else document
    with pytest.raises(WorkspaceFileError, match=why) as error:
        keyfile.parse(data, KEY_PATH)
    assert str(KEY_PATH) in str(error.value)


# -- version 1 -------------------------------------------------------------------------------


def test_a_version_1_key_file_becomes_one_supervisors_slot_at_the_first_unlock(tmp_path: Path):
    """Issue 13: a workspace from before named users upgrades to one supervisor (named as
    its author was) in a migration with the automatic backup before it, and the same
    passphrase keeps opening it; the backup still holds the version 1 key file."""
    root = tmp_path / "old"
    shutil.copytree(DATA / "schema-1", root)
    v1 = json.loads((root / "workspace.key").read_text())
    assert v1["version"] == 1
    with open_workspace(root, OLD_PASSPHRASE) as ws:
        author = ws.meta("author")
        assert ws.user is not None
        assert (ws.user.name, ws.user.role) == (author, "supervisor")
        assert any(e.action == "named users introduced" for e in audit.entries(ws.conn))
        made = paper_shares.make_shares(ws, 2, 3, tmp_path / "shares")
    v2 = json.loads((root / "workspace.key").read_text())
    assert [slot["kind"] for slot in v2["slots"]] == ["user", "recovery"]
    assert v2["slots"][0]["tag"] == keyfile.user_tag(v1["workspace_id"], author)
    assert author not in (root / "workspace.key").read_text()  # no names in the key file
    with open_workspace(root, OLD_PASSPHRASE, user=author.upper()) as ws:
        assert ws.user is not None and ws.user.name == author
    texts = [p for p in made.files if p.suffix == ".txt"]
    sealed = keyfile.read(root / "workspace.key")
    assert keyfile.unseal_recovery(sealed, paper_shares.recover_secret(texts[:2])) is not None
    [before_users] = (root / "backups").glob("before-schema-*")
    assert before_users.stat().st_size > 0


def test_passwd_keeps_the_recovery_slot(ws: Workspace, tmp_path: Path):
    made = paper_shares.make_shares(ws, 2, 2, tmp_path / "shares")
    before = keyfile.read(ws.paths.keyfile)
    ws.change_passphrase("another fine passphrase")
    after = keyfile.read(ws.paths.keyfile)
    assert after.recovery_slots == before.recovery_slots
    assert after.generation != before.generation
    texts = [p for p in made.files if p.suffix == ".txt"]
    assert keyfile.unseal_recovery(after, paper_shares.recover_secret(texts)) is not None


# -- the fields are bound -------------------------------------------------------------------


def test_a_recovery_slot_whose_fields_were_changed_does_not_open(ws: Workspace, tmp_path: Path):
    made = paper_shares.make_shares(ws, 2, 3, tmp_path / "shares")
    secret = paper_shares.recover_secret([p for p in made.files if p.suffix == ".txt"][:2])
    document = json.loads(ws.paths.keyfile.read_bytes())
    for field, value in (("threshold", 3), ("set_id", "00000000"), ("created_at", "2020-01-01")):
        changed = json.loads(json.dumps(document))
        changed["slots"][1][field] = value
        sealed = keyfile.parse(json.dumps(changed).encode(), KEY_PATH)
        assert keyfile.unseal_recovery(sealed, secret) is None, field
    moved = json.loads(json.dumps(document))
    moved["workspace_id"] = "0" * 32  # the slot carried into another workspace's key file
    sealed = keyfile.parse(json.dumps(moved).encode(), KEY_PATH)
    assert keyfile.unseal_recovery(sealed, secret) is None


def test_a_passphrase_slot_whose_costs_were_lowered_does_not_open(ws: Workspace):
    document = json.loads(ws.paths.keyfile.read_bytes())
    document["slots"][0]["kdf"]["iterations"] = 2
    sealed = keyfile.parse(json.dumps(document).encode(), KEY_PATH)
    with pytest.raises(WrongPassphrase):
        keyfile.unseal(sealed, encode_passphrase(PASSPHRASE))


# -- hostile files ----------------------------------------------------------------------------


def test_damaged_version_2_files_are_refused_with_the_reason(ws: Workspace, tmp_path: Path):
    good = two_slot_document(ws, tmp_path)
    keyfile.parse(json.dumps(good).encode(), KEY_PATH)

    def variant(change: Any) -> dict[str, Any]:
        copy = json.loads(json.dumps(good))
        change(copy)
        return copy

    refused(variant(lambda d: d["slots"][1].update(kind="fingerprint")), "unknown slot kind")
    refused(variant(lambda d: d.update(slots=[])), "1 to 32 slots")
    refused(variant(lambda d: d.update(slots=d["slots"] * 20)), "1 to 32 slots|too large")
    refused(variant(lambda d: d.update(slots=[d["slots"][1]])), "one passphrase slot or user slots")
    refused(variant(lambda d: d["slots"].append(d["slots"][0])), "same tag")
    legacy = {"kind": "passphrase", **{k: good["slots"][0][k] for k in ("generation", "kdf")}}
    legacy |= {"salt": good["slots"][0]["salt"], "nonce": good["slots"][0]["nonce"]}
    legacy["sealed_key"] = good["slots"][0]["sealed_key"]
    refused(variant(lambda d: d["slots"].append(legacy)), "one passphrase slot or user slots")
    for field in ("tag", "public", "ephemeral", "key_nonce", "sealed_private"):
        refused(variant(lambda d, f=field: d["slots"][0].update({f: "AAAA"})), "malformed")
        refused(variant(lambda d, f=field: d["slots"][0].pop(f)), "missing or malformed")
    refused(variant(lambda d: d["slots"].append(d["slots"][1])), "more than one recovery slot")
    refused(variant(lambda d: d.update(slots="none")), "1 to 32 slots")
    refused(variant(lambda d: d["slots"].__setitem__(1, [1, 2])), "not a set of fields")
    refused(variant(lambda d: d.update(version=3)), "unknown key file version 3")
    refused(variant(lambda d: d.update(version=True)), "unknown key file version")
    short_nonce = base64.b64encode(b"x" * 11).decode()
    refused(variant(lambda d: d["slots"][1].update(nonce=short_nonce)), "malformed")
    long_key = base64.b64encode(b"x" * 49).decode()
    refused(variant(lambda d: d["slots"][1].update(sealed_key=long_key)), "malformed")
    refused(variant(lambda d: d["slots"][1].update(threshold=1)), "malformed")
    refused(variant(lambda d: d["slots"][1].update(shares=17, threshold=2)), "malformed")
    refused(variant(lambda d: d["slots"][1].update(threshold="2")), "malformed")
    refused(variant(lambda d: d["slots"][0]["kdf"].update(lanes=1.5)), "malformed")
    refused(variant(lambda d: d["slots"][1].update(set_id="\x1b[2J")), "malformed")
    refused(variant(lambda d: d["slots"][1].pop("nonce")), "malformed")
    refused(variant(lambda d: d.pop("workspace_id")), "malformed")
    refused(b" " * (keyfile.MAX_KEYFILE_BYTES + 1), "too large")


SLOT_FIELDS = [
    "kind",
    "generation",
    "kdf",
    "salt",
    "nonce",
    "sealed_key",
    "set_id",
    "threshold",
    "shares",
    "created_at",
]


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(SLOT_FIELDS),
            st.none()
            | st.booleans()
            | st.integers(-5, 10**9)
            | st.sampled_from(["passphrase", "recovery", "AAAA", "eA=="])
            | st.text(max_size=20)
            | st.dictionaries(st.text(max_size=10), st.integers(-5, 10**9), max_size=4),
            max_size=10,
        )
        | st.integers()
        | st.text(max_size=5),
        max_size=4,
    )
)
def test_the_parser_refuses_hostile_slot_lists(slots: list[Any]) -> None:
    """Whatever the slots hold, the answer is a parsed file or a refusal naming it."""
    document = {"format": "valise-keyfile", "version": 2, "workspace_id": "ab", "slots": slots}
    try:
        parsed = keyfile.parse(json.dumps(document).encode(), KEY_PATH)
    except WorkspaceFileError as error:
        assert str(KEY_PATH) in str(error)
    else:
        assert len(parsed.passphrase_slot.sealed_key) == keyfile.SEALED_KEY_BYTES


# -- K of N ------------------------------------------------------------------------------------


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(2, 4).flatmap(lambda n: st.tuples(st.integers(2, n), st.just(n))))
def test_every_k_shares_open_and_no_k_minus_1_do(
    ws: Workspace, tmp_path_factory: pytest.TempPathFactory, counts: tuple[int, int]
) -> None:
    """Any K shares of a set open the slot; any K-1 are refused, and a secret built from
    K-1 shares as if they were enough does not open the slot."""
    k, n = counts
    out = tmp_path_factory.mktemp("shares") / "set"
    made = paper_shares.make_shares(ws, k, n, out)
    texts = [p for p in made.files if p.suffix == ".txt"]
    sealed = keyfile.read(ws.paths.keyfile)
    keys = set()
    for subset in itertools.combinations(texts, k):
        key = keyfile.unseal_recovery(sealed, paper_shares.recover_secret(subset))
        assert key is not None
        keys.add(key)
    assert len(keys) == 1 and ws.holds_key(keys.pop())
    for subset in itertools.combinations(texts, k - 1):
        with pytest.raises(RecoveryRefused, match=f"{k} shares are needed; {k - 1}"):
            paper_shares.recover_secret(subset)
        forged = secret_from_too_few(subset)
        assert keyfile.unseal_recovery(sealed, forged) is None


def secret_from_too_few(paths: tuple[Path, ...]) -> bytes:
    """What an attacker gets by interpolating K-1 shares as though they were enough: the
    polynomial through them at the secret's point, decrypted as SLIP-39 would."""
    shares = [Share.from_mnemonic(paper_shares.read_share(path)[0]) for path in paths]
    raw = [shamir.RawShare(share.index, share.value) for share in shares]
    guess = raw[0].data if len(raw) == 1 else shamir._interpolate(raw, shamir.SECRET_INDEX)
    first = shares[0]
    ems = shamir_mnemonic.EncryptedMasterSecret(
        first.identifier, first.extendable, first.iteration_exponent, guess
    )
    return bytes(ems.decrypt(b""))
