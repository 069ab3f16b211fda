"""tools/verify_bundle.py: a tribunal verifies a bundle with no Valise code at all.

The verifier runs here as a tribunal would run it: in a Python that can import the standard
library and `cryptography` and nothing else (no site-packages, so not Valise's editable
install either), with Debian's `age` opening the files. Real workspaces write real bundles;
each attack below changes one thing, re-encrypting with `age -r` where the attacker is a
recipient who could, and the verifier must say what is wrong and exit 1.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from storage import canonical, cases, evidence
from storage.identity import fingerprint, sign_changeset
from sync import peers, trust
from sync.agekeys import age_recipient
from sync.bundle_format import (
    MANIFEST_DOMAIN,
    PART_SUFFIX,
    PayloadParser,
    encode_head,
    split_head,
)
from sync.export import ExportResult, export_bundle
from tests.sync.conftest import Network
from tests.sync.test_age_interop import needs_age, run_age, write_age_key

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "verify_bundle.py"
pytestmark = needs_age

# Runs the tool as `python verify_bundle.py ARGS` with only `only` on the import path.
_RUNNER = (
    "import runpy, sys; sys.path.insert(0, sys.argv[1]); sys.argv = sys.argv[2:];"
    " runpy.run_path(sys.argv[0], run_name='__main__')"
)


@pytest.fixture(scope="session")
def only_cryptography(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder whose only importable packages are `cryptography` and what it needs."""
    import _cffi_backend
    import cffi
    import cryptography

    folder = tmp_path_factory.mktemp("only-cryptography")
    for module in (cryptography, cffi):
        assert module.__file__ is not None
        package = Path(module.__file__).parent
        (folder / package.name).symlink_to(package)
    backend = Path(str(_cffi_backend.__file__))
    (folder / backend.name).symlink_to(backend)
    return folder


Verifier = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def verifier(only_cryptography: Path, tmp_path: Path) -> Verifier:
    """Run the tool in an isolated Python (-I -S: no site-packages, no PYTHONPATH)."""

    def run(*args: str | os.PathLike[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-I", "-S", "-c", _RUNNER, str(only_cryptography), str(TOOL)]
            + [os.fspath(arg) for arg in args],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    return run


@dataclass
class Sent:
    """A bundle from Kabora to the liaison, and what a tribunal holds to check it."""

    result: ExportResult
    key: Path  # the liaison's age key
    recipients: list[str]  # the age recipients the bundle was written to
    evidence: list[bytes]
    network: Network

    def part(self, number: int) -> Path:
        """Part `number` (from 1) in the manifest's order."""
        manifest = canonical.decode(split_head(self.head_plain())[0])
        return self.result.head.parent / f"{manifest['parts'][number - 1]['name']}{PART_SUFFIX}"

    def head_plain(self) -> bytes:
        opened = run_age("-d", "-i", self.key, self.result.head)
        assert opened.returncode == 0, opened.stderr
        return opened.stdout

    def parts_plain(self) -> list[bytes]:
        manifest = canonical.decode(split_head(self.head_plain())[0])
        return [self.decrypt(self.part(n)) for n in range(1, len(manifest["parts"]) + 1)]

    def opened_into(self, folder: Path) -> tuple[Path, list[Path]]:
        """The head and parts decrypted with `age -d` into files, as a person might."""
        head = folder / "head.plain"
        head.write_bytes(self.head_plain())
        parts = []
        for number, plain in enumerate(self.parts_plain(), start=1):
            parts.append(folder / f"part-{number}.plain")
            parts[-1].write_bytes(plain)
        return head, parts

    def decrypt(self, path: Path) -> bytes:
        opened = run_age("-d", "-i", self.key, path)
        assert opened.returncode == 0, opened.stderr
        return opened.stdout


def encrypt_to(path: Path, plain: bytes, recipients: list[str]) -> None:
    """Replace `path` with `plain` age-encrypted to `recipients`, as a recipient could."""
    args: list[str] = []
    for recipient in recipients:
        args += ["-r", recipient]
    sealed = subprocess.run(
        ["age", *args], input=plain, capture_output=True, timeout=60, check=True
    ).stdout
    path.write_bytes(sealed)


@pytest.fixture
def sent(network: Network, tmp_path: Path) -> Sent:
    """Kabora sends the liaison a case with several changesets, a protected witness (sealed
    fields and their reveals) and two evidence files, in parts of 64 KiB."""
    kabora = network.ws["kabora"]
    case_id = cases.add_case(kabora, "Shelling of the Oru market", "14 March, midday")
    cases.add_note(kabora, case_id, "Ask the liaison for the drone footage")
    cases.add_note(kabora, case_id, "Second visit planned for April")
    cases.add_person(kabora, case_id, "witness", name="Amina K.", protected=True)
    files = [bytes(range(256)) * 400, b"statement of W-0001\n" * 9000]
    for number, content in enumerate(files):
        source = tmp_path / f"item-{number}.bin"
        source.write_bytes(content)
        evidence.add_evidence(kabora, case_id, source)
    network.share("kabora", case_id, "liaison")
    liaison = network.peer("kabora", "liaison")
    result = export_bundle(kabora, [liaison], network.new_stick(), part_size=64 * 1024)
    assert len(result.parts) >= 4 and result.evidence == 2
    key = tmp_path / "liaison.agekey"
    write_age_key(network, "liaison", key)
    recipients = [
        age_recipient(liaison.encryption_public),
        age_recipient(network.ws["kabora"].keys.encryption_public),
    ]
    return Sent(result, key, recipients, files, network)


def tamper(sent: Sent, change: Callable[[bytearray], None]) -> None:
    """Apply `change` to the decrypted payload and re-encrypt every part it altered to the
    bundle's own recipients, keeping each part's length."""
    plains = sent.parts_plain()
    payload = bytearray(b"".join(plains))
    change(payload)
    offset = 0
    for number, plain in enumerate(plains, start=1):
        altered = bytes(payload[offset : offset + len(plain)])
        if altered != plain:
            encrypt_to(sent.part(number), altered, sent.recipients)
        offset += len(plain)


def assert_refused(done: subprocess.CompletedProcess[str], *sentences: str) -> None:
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    for sentence in sentences:
        assert sentence in done.stdout, done.stdout
    assert "RESULT: NOT VERIFIED" in done.stdout


# -- real bundles verify ---------------------------------------------------------------------


def test_a_real_bundle_verifies_with_the_counts_that_were_exported(
    sent: Sent, verifier: Verifier
) -> None:
    done = verifier("--identity", sent.key, sent.result.head)
    assert done.returncode == 0, done.stdout + done.stderr
    result = sent.result
    kabora = sent.network.ws["kabora"]
    out = done.stdout
    assert f"Bundle {result.bundle_id}" in out
    assert f"Sender: Kabora field office (origin {kabora.origin[:16]})" in out
    assert fingerprint(kabora.keys.signing_public, kabora.keys.encryption_public) in out
    assert "Recipients: Tribunal liaison" in out
    assert "Opened with the key of Tribunal liaison, a named recipient." in out
    assert "Manifest signature: verified with the sender's key." in out
    assert "Payload digest: matches the signed manifest." in out
    assert f"Parts: {len(result.parts)}," in out
    assert f"Verified: {result.changesets} of {result.changesets} changesets" in out
    size = sum(len(item) for item in sent.evidence)
    assert f"2 of 2 evidence files ({size:,} bytes; 2 registered by a changeset" in out
    assert out.rstrip().endswith(
        "RESULT: VERIFIED. Every signature, digest and evidence hash holds."
    )
    assert done.stderr == ""


def test_files_already_opened_with_age_verify_the_same(
    sent: Sent, verifier: Verifier, tmp_path: Path
) -> None:
    head, parts = sent.opened_into(tmp_path)
    done = verifier("--decrypted", head, *parts)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        f"Verified: {sent.result.changesets} of {sent.result.changesets} changesets" in done.stdout
    )
    # Given out of order, the same files do not verify.
    shuffled = verifier("--decrypted", head, *reversed(parts))
    assert shuffled.returncode == 1


def test_the_sender_is_compared_with_its_contact_card(
    sent: Sent, verifier: Verifier, tmp_path: Path
) -> None:
    kabora_card = tmp_path / "kabora.card"
    kabora_card.write_bytes(peers.card_bytes(sent.network.ws["kabora"]))
    done = verifier("--identity", sent.key, "--card", kabora_card, sent.result.head)
    assert done.returncode == 0, done.stdout
    assert "Card: the bundle's sender keys are the keys on the card." in done.stdout
    dressa_card = tmp_path / "dressa.card"
    dressa_card.write_bytes(peers.card_bytes(sent.network.ws["dressa"]))
    other = verifier("--identity", sent.key, "--card", dressa_card, sent.result.head)
    assert_refused(other, "FAILED: the bundle's sender keys are not the keys on dressa.card.")
    forged = tmp_path / "forged.card"
    forged.write_bytes(kabora_card.read_bytes().replace(b"Kabora", b"Kabara"))
    assert_refused(
        verifier("--identity", sent.key, "--card", forged, sent.result.head),
        "FAILED: forged.card: its self-signature does not match its keys (damaged or altered).",
    )
    garbage = tmp_path / "garbage.card"
    garbage.write_bytes(b"\xff\xfe card? " * 30)
    assert_refused(
        verifier("--identity", sent.key, "--card", garbage, sent.result.head),
        "FAILED: garbage.card is not a Valise contact card (it is not UTF-8).",
    )


# -- attacks, each refused with its sentence -----------------------------------------------


def test_a_flipped_byte_in_a_decrypted_part_is_caught_by_the_payload_digest(
    sent: Sent, verifier: Verifier, tmp_path: Path
) -> None:
    """The sidecar's case_prev is not signed by the changeset's author; the manifest's
    payload digest covers it, so flipping one of its hex digits is still caught."""

    def flip_case_prev(payload: bytearray) -> None:
        at = payload.index(b'"case_prev":"') + len(b'"case_prev":"')
        while payload[at : at + 1] == b'"':  # the first is empty: find one that names an id
            at = payload.index(b'"case_prev":"', at) + len(b'"case_prev":"')
        payload[at] = ord("0") if payload[at] != ord("0") else ord("1")

    tamper(sent, flip_case_prev)
    digest = "FAILED: the payload's digest does not match the signed manifest"
    done = verifier("--identity", sent.key, sent.result.head)
    assert_refused(done, digest)
    # Opened by hand, the part sizes on the stick are out of the picture: the digest alone
    # catches it, and every signature still holds.
    head, parts = sent.opened_into(tmp_path)
    by_hand = verifier("--decrypted", head, *parts)
    assert_refused(by_hand, digest)
    assert by_hand.stdout.count("FAILED") == 1


def test_a_changeset_whose_signature_is_broken_is_named(sent: Sent, verifier: Verifier) -> None:
    def break_first_signature(payload: bytearray) -> None:
        assert payload[:1] == b"C"
        body_length = int.from_bytes(payload[5:9], "big")
        payload[9 + body_length] ^= 0x01  # the signature's first byte

    tamper(sent, break_first_signature)
    done = verifier("--identity", sent.key, sent.result.head)
    assert_refused(done, "FAILED: changeset 1 (id ", "its signature does not verify")
    assert f"Verified: {sent.result.changesets - 1} of {sent.result.changesets}" in done.stdout


def test_an_altered_changeset_body_fails_its_signature(sent: Sent, verifier: Verifier) -> None:
    tamper(
        sent, lambda payload: payload.__setitem__(slice(None), payload.replace(b"drone", b"drame"))
    )
    done = verifier("--identity", sent.key, sent.result.head)
    assert_refused(done, "its signature does not verify; it was altered or forged.")


def test_evidence_whose_bytes_do_not_match_its_hash_is_named(
    sent: Sent, verifier: Verifier
) -> None:
    def flip_evidence(payload: bytearray) -> None:
        at = payload.index(sent.evidence[1]) + 1000
        payload[at] ^= 0xFF

    tamper(sent, flip_evidence)
    done = verifier("--identity", sent.key, sent.result.head)
    assert_refused(done, "FAILED: evidence file 2 (180,000 bytes) does not match the SHA-256")
    assert "1 of 2 evidence files" in done.stdout


def test_a_truncated_part_is_refused(sent: Sent, verifier: Verifier) -> None:
    last = sent.part(len(sent.result.parts))
    data = last.read_bytes()
    last.write_bytes(data[:-100])
    done = verifier("--identity", sent.key, sent.result.head)
    assert_refused(
        done,
        f"is {len(data) - 100:,} bytes where the signed manifest says {len(data):,}",
        "could not be decrypted by age (failed to decrypt and authenticate payload chunk): it"
        " is damaged, altered or cut short; the payload from it on is unchecked.",
    )


def test_a_missing_part_is_refused(sent: Sent, verifier: Verifier) -> None:
    count = len(sent.result.parts)
    second = sent.part(2)
    second.unlink()
    done = verifier("--identity", sent.key, sent.result.head)
    assert_refused(done, f"FAILED: part 2 of {count} ({second.name}) is missing beside the head")


def test_a_manifest_signed_by_another_key_is_refused(sent: Sent, verifier: Verifier) -> None:
    manifest_bytes, _ = split_head(sent.head_plain())
    forger = sent.network.ws["dressa"].keys.signer()
    forged = forger.sign(b"valise/bundle-manifest/v1\n" + manifest_bytes)
    encrypt_to(sent.result.head, encode_head(manifest_bytes, forged), sent.recipients)
    done = verifier("--identity", sent.key, sent.result.head)
    assert_refused(
        done,
        "FAILED: the manifest's signature does not verify with the sender key it names: the"
        " head was altered or signed by another key.",
    )


def test_a_head_re_encrypted_by_a_recipient_to_a_third_party_is_refused(
    sent: Sent, verifier: Verifier, tmp_path: Path
) -> None:
    """The liaison opens the bundle and passes it on, re-encrypted to the NGO: the
    signature still holds, but the manifest names who the sender meant it for."""
    ngo = sent.network.ws["ngo"]
    third_party = [age_recipient(ngo.keys.encryption_public)]
    plains = sent.parts_plain()
    for number, plain in enumerate(plains, start=1):
        encrypt_to(sent.part(number), plain, third_party)
    encrypt_to(sent.result.head, sent.head_plain(), third_party)
    ngo_key = tmp_path / "ngo.agekey"
    write_age_key(sent.network, "ngo", ngo_key)
    done = verifier("--identity", ngo_key, sent.result.head)
    assert_refused(
        done,
        "FAILED: the key in ngo.agekey opened the bundle but belongs to none of the recipients"
        " the sender signed for: someone re-encrypted it to a third party.",
    )
    assert "Manifest signature: verified" in done.stdout


def test_a_key_the_bundle_is_not_addressed_to_opens_nothing(
    sent: Sent, verifier: Verifier, tmp_path: Path
) -> None:
    ngo_key = tmp_path / "ngo.agekey"
    write_age_key(sent.network, "ngo", ngo_key)
    done = verifier("--identity", ngo_key, sent.result.head)
    name = sent.result.head.name
    assert_refused(
        done,
        f"The key in ngo.agekey does not open {name}: the bundle is addressed to other keys.",
    )


@pytest.mark.parametrize(
    ("case", "sentence"),
    [
        ("random bytes", "is not an age-encrypted file, so it is not a Valise bundle head."),
        ("empty file", "is not an age-encrypted file, so it is not a Valise bundle head."),
        ("age-encrypted text", "The decrypted head does not begin with VALISE-BUNDLE-HEAD/1."),
        ("head cut short", "The bundle's head has the wrong length (cut short or padded)."),
        ("manifest not JSON", "The bundle's manifest is not canonical JSON (it is not JSON)."),
        ("a newer version", "this verifier reads version 1 only (a newer verifier is needed)."),
    ],
)
def test_garbage_heads_get_a_sentence_not_a_traceback(
    sent: Sent, verifier: Verifier, tmp_path: Path, case: str, sentence: str
) -> None:
    head = tmp_path / "garbage.head.age"
    manifest_bytes, signature = split_head(sent.head_plain())
    if case == "random bytes":
        head.write_bytes(os.urandom(5000))
    elif case == "empty file":
        head.write_bytes(b"")
    elif case == "age-encrypted text":
        encrypt_to(head, b"Dear liaison, here is the footage.\n", sent.recipients)
    elif case == "head cut short":
        encrypt_to(head, sent.head_plain()[:-10], sent.recipients)
    elif case == "manifest not JSON":
        encrypt_to(head, encode_head(b"{not json", signature), sent.recipients)
    else:
        newer = canonical.decode(manifest_bytes)
        newer["version"] = 2
        encrypt_to(head, encode_head(canonical.encode(newer), signature), sent.recipients)
    done = verifier("--identity", sent.key, head)
    assert_refused(done, sentence)


def test_a_head_built_to_stall_a_json_parser_is_refused_at_once(
    sent: Sent, verifier: Verifier, tmp_path: Path
) -> None:
    """An unterminated string of escaped quotes made a quadratic nesting scan (storage's
    canonical JSON had it too): 64 KB took 97 s."""
    head = tmp_path / "stall.head.age"
    manifest_bytes = b'"' + b'\\"' * 32_000 + b"[" * 17
    encrypt_to(head, encode_head(manifest_bytes, b"\0" * 64), sent.recipients)
    started = time.perf_counter()
    done = verifier("--identity", sent.key, head)
    assert time.perf_counter() - started < 20
    assert_refused(done, "The bundle's manifest is not canonical JSON (it is not JSON).")


def test_garbage_decrypted_parts_get_a_sentence(
    sent: Sent, verifier: Verifier, tmp_path: Path
) -> None:
    head = tmp_path / "head.plain"
    head.write_bytes(sent.head_plain())
    parts = []
    for number in range(1, len(sent.result.parts) + 1):
        parts.append(tmp_path / f"garbage-{number}")
        parts[-1].write_bytes(b"Z" + os.urandom(100))
    done = verifier("--decrypted", head, *parts)
    assert_refused(done, "The payload holds a record of unknown kind b'Z'")


def test_usage_errors_exit_2_with_a_sentence(
    sent: Sent, verifier: Verifier, tmp_path: Path
) -> None:
    missing = tmp_path / "nothing-here.head.age"
    done = verifier("--identity", sent.key, missing)
    assert done.returncode == 2 and f"There is no file at {missing}." in done.stderr
    assert verifier().returncode == 2
    not_a_key = tmp_path / "notes.txt"
    not_a_key.write_text("the liaison's key is in the safe\n")
    garbage_key = verifier("--identity", not_a_key, sent.result.head)
    assert garbage_key.returncode == 2
    assert f"{not_a_key} holds no age identity (a line AGE-SECRET-KEY-1...)" in garbage_key.stderr
    both = verifier("--identity", sent.key, sent.result.head, sent.part(1))
    assert both.returncode == 2 and "give only the .head.age file" in both.stderr


def resign(sent: Sent, change: Callable[[bytearray], None]) -> None:
    """The sender itself alters its payload and signs a manifest that matches it: what a
    dishonest or compromised sender could write. The payload goes out as one part."""
    kabora = sent.network.ws["kabora"]
    manifest = canonical.decode(split_head(sent.head_plain())[0])
    payload = bytearray(b"".join(sent.parts_plain()))
    change(payload)

    class Declared:
        def __init__(self, sha: str) -> None:
            self.sha = sha

        def write(self, data: bytes | memoryview) -> None:
            pass

        def finish(self) -> str:
            return self.sha

    counted: list[object] = []
    parser = PayloadParser(counted.append, lambda size, sha: Declared(sha))
    parser.write(bytes(payload))
    parser.finish()
    for number in range(2, len(manifest["parts"]) + 1):
        sent.part(number).unlink()
    first = sent.part(1)
    encrypt_to(first, bytes(payload), sent.recipients)
    manifest["parts"] = [{"name": manifest["parts"][0]["name"], "size": first.stat().st_size}]
    manifest["payload"] = {
        "size": parser.size,
        "sha256": parser.digest.hexdigest(),
        "changesets": parser.changesets,
        "blobs": parser.blobs,
        "blob_bytes": parser.blob_bytes,
    }
    manifest_bytes = canonical.encode(manifest)
    signature = kabora.keys.signer().sign(MANIFEST_DOMAIN + manifest_bytes)
    encrypt_to(sent.result.head, encode_head(manifest_bytes, signature), sent.recipients)


def _changeset_frames(payload: bytearray) -> list[tuple[int, int, bytes]]:
    """(start, end, body) of each changeset frame at the payload's start."""
    frames, at = [], 0
    while payload[at : at + 1] == b"C":
        length = int.from_bytes(payload[at + 1 : at + 5], "big")
        body_length = int.from_bytes(payload[at + 5 : at + 9], "big")
        frames.append((at, at + 5 + length, bytes(payload[at + 9 : at + 9 + body_length])))
        at += 5 + length
    return frames


def test_a_fork_signed_by_the_sender_is_named(sent: Sent, verifier: Verifier) -> None:
    """Two different changesets in one (origin, epoch, seq) slot, each properly signed."""
    signer = sent.network.ws["kabora"].keys

    def add_a_twin(payload: bytearray) -> None:
        start, end, body = _changeset_frames(payload)[1]
        twin = canonical.decode(body)
        twin["author"] = "someone else"
        twin_body = canonical.encode(twin)
        frame = bytes(payload[start:end])
        sidecar = frame[9 + len(body) + 64 :]
        content = len(twin_body).to_bytes(4, "big") + twin_body
        content += sign_changeset(signer, twin_body) + sidecar
        payload[end:end] = b"C" + len(content).to_bytes(4, "big") + content

    resign(sent, add_a_twin)
    done = verifier("--identity", sent.key, sent.result.head)
    assert_refused(
        done, "seq 2 appears with two different changesets (a fork): changesets 2 and 3."
    )
    assert "Manifest signature: verified" in done.stdout
    assert "Payload digest: matches the signed manifest." in done.stdout


def test_a_broken_chain_signed_by_the_sender_is_named(sent: Sent, verifier: Verifier) -> None:
    """Seq 2 re-signed with a prev_hash that does not name seq 1 of the same bundle."""
    signer = sent.network.ws["kabora"].keys

    def unlink_seq_2(payload: bytearray) -> None:
        start, _, body = _changeset_frames(payload)[1]
        doc = canonical.decode(body)
        assert doc["seq"] == 2 and len(doc["prev_hash"]) == 64
        doc["prev_hash"] = "0" * 64
        relinked = canonical.encode(doc)
        assert len(relinked) == len(body)
        payload[start + 9 : start + 9 + len(body) + 64] = relinked + sign_changeset(
            signer, relinked
        )

    resign(sent, unlink_seq_2)
    done = verifier("--identity", sent.key, sent.result.head)
    assert_refused(
        done,
        "seq 2) does not link to seq 1 in the same bundle: its prev_hash names 0000000000000000",
    )


def test_a_changeset_of_a_newer_format_version_is_named(sent: Sent, verifier: Verifier) -> None:
    signer = sent.network.ws["kabora"].keys

    def make_version_2(payload: bytearray) -> None:
        start, end, body = _changeset_frames(payload)[0]
        doc = canonical.decode(body)
        doc["version"] = 2
        newer = canonical.encode(doc)
        sidecar = bytes(payload[start + 9 + len(body) + 64 : end])
        content = len(newer).to_bytes(4, "big") + newer + sign_changeset(signer, newer) + sidecar
        payload[start:end] = b"C" + len(content).to_bytes(4, "big") + content

    resign(sent, make_version_2)
    done = verifier("--identity", sent.key, sent.result.head)
    assert_refused(
        done,
        "its body is malformed: it is of format 'valise.changeset' version 2, not version 1.",
    )


def test_a_revealed_name_altered_by_the_sender_fails_its_commitment(
    sent: Sent, verifier: Verifier
) -> None:
    """The sidecar is the sender's, not the author's: a sender that changes a protected
    witness's revealed name and signs the result is still caught by the author's commitment."""
    resign(
        sent,
        lambda payload: payload.__setitem__(slice(None), payload.replace(b"Amina K.", b"Amina R.")),
    )
    done = verifier("--identity", sent.key, sent.result.head)
    assert_refused(
        done, "the withheld value of op 0's 'legal_name' does not match its signed commitment"
    )
    assert "Payload digest: matches the signed manifest." in done.stdout


def test_a_changeset_from_an_origin_nobody_introduced_is_named(
    sent: Sent, verifier: Verifier
) -> None:
    dressa = sent.network.ws["dressa"]

    def add_a_stranger(payload: bytearray) -> None:
        start, end, body = _changeset_frames(payload)[0]
        doc = canonical.decode(body)
        doc["origin"] = dressa.origin
        stranger = canonical.encode(doc)
        sidecar = bytes(payload[start + 9 + len(body) + 64 : end])
        content = len(stranger).to_bytes(4, "big") + stranger
        content += sign_changeset(dressa.keys, stranger) + sidecar
        payload[end:end] = b"C" + len(content).to_bytes(4, "big") + content

    resign(sent, add_a_stranger)
    done = verifier("--identity", sent.key, sent.result.head)
    assert_refused(
        done,
        f"is signed by origin {dressa.origin[:16]}, which the manifest neither names as its"
        " sender nor introduces.",
    )


def test_a_part_of_another_bundle_in_its_place_is_refused(sent: Sent, verifier: Verifier) -> None:
    other = sent.network.export("kabora", "liaison")
    sent.part(1).write_bytes(other.parts[0].read_bytes())
    done = verifier("--identity", sent.key, sent.result.head)
    assert_refused(done, "(cut short, padded, or a part of another bundle)")


# -- real bundles from several origins and after a key rotation ------------------------------


def test_a_forwarded_case_from_two_origins_verifies(sent: Sent, verifier: Verifier) -> None:
    network = sent.network
    assert network.receive("liaison", sent.result.head)[0].status == "imported"
    liaison = network.ws["liaison"]
    case_id = liaison.conn.execute("SELECT id FROM cases").fetchone()[0]
    cases.add_note(liaison, case_id, "Forwarded to Dressa for the second visit")
    network.share("liaison", case_id, "dressa")
    forwarded = network.export("liaison", "dressa")
    key = sent.key.parent / "dressa.agekey"
    write_age_key(network, "dressa", key)
    done = verifier("--identity", key, forwarded.head)
    assert done.returncode == 0, done.stdout
    assert (
        f"Verified: {forwarded.changesets} of {forwarded.changesets} changesets (from 2 origins)"
        in (done.stdout)
    )
    assert "Sender: Tribunal liaison" in done.stdout


def test_a_bundle_after_a_key_rotation_verifies_against_the_old_card(
    sent: Sent, verifier: Verifier, tmp_path: Path
) -> None:
    network = sent.network
    kabora = network.ws["kabora"]
    old_card = tmp_path / "kabora-old.card"
    old_card.write_bytes(peers.card_bytes(kabora))
    old_origin = kabora.origin
    trust.rotate_identity(kabora)
    case_id = kabora.conn.execute("SELECT id FROM cases").fetchone()[0]
    cases.update_case(kabora, case_id, summary="after the rotation")
    rotated = network.export("kabora", "liaison")
    done = verifier("--identity", sent.key, "--card", old_card, rotated.head)
    assert done.returncode == 0, done.stdout
    assert f"endorsed by its old key {old_origin[:16]}." in done.stdout
    assert "Card: the sender replaced the card's keys; the card's key endorsed the new ones." in (
        done.stdout
    )
    assert "(from 2 origins)" in done.stdout  # the old key's changesets, introduced


DEBIAN_PYTHON = Path("/usr/bin/python3")


def _debian_cryptography() -> str:
    """The version of Debian's python3-cryptography, or "" where there is none."""
    if not DEBIAN_PYTHON.exists():
        return ""
    found = subprocess.run(
        [str(DEBIAN_PYTHON), "-I", "-c", "import cryptography; print(cryptography.__version__)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return found.stdout.strip() if found.returncode == 0 else ""


@pytest.mark.skipif(not _debian_cryptography(), reason="apt install python3-cryptography")
def test_debians_own_python_and_cryptography_verify_a_bundle(sent: Sent) -> None:
    """What a tribunal on Debian 12 has after `apt install age python3-cryptography`
    (cryptography 38, older than the one Valise uses)."""
    done = subprocess.run(
        [str(DEBIAN_PYTHON), "-I", str(TOOL), "--identity", str(sent.key), str(sent.result.head)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Verified: {sent.result.changesets} of {sent.result.changesets} changesets" in (
        done.stdout
    )


# -- the verifier stands alone -------------------------------------------------------------


def test_the_verifier_imports_only_the_standard_library_and_cryptography() -> None:
    tree = ast.parse(TOOL.read_text("utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports"
            imported.add(str(node.module).split(".")[0])
    outside = {name for name in imported if name not in sys.stdlib_module_names}
    assert outside == {"cryptography"}
    assert not imported & {"storage", "sync", "desktop", "ui", "pyrage", "sqlcipher3"}


# -- the specification and the verifier say what the code does ------------------------------

DOC = ROOT / "docs" / "bundle-format.md"
_CONSTANT_ROW = re.compile(r"^\| `([\w/]+)\.py` \| `([A-Z_0-9]+)` \| (.+?) \|$", re.MULTILINE)
_PREFIX = re.compile(rb'b"(valise/[a-z-]+/v[0-9]+)\\n"')


def _documented_value(cell: str) -> object:
    cell = cell.strip().strip("`")
    if cell.startswith(('b"', '"')):
        return ast.literal_eval(cell)
    return int(cell.replace(",", ""))


def test_every_constant_the_specification_quotes_is_the_codes() -> None:
    rows = _CONSTANT_ROW.findall(DOC.read_text("utf-8"))
    assert len(rows) >= 30
    wrong = {}
    for path, name, cell in rows:
        module = importlib.import_module(path.replace("/", "."))
        if getattr(module, name) != _documented_value(cell):
            wrong[f"{path}.{name}"] = (cell, getattr(module, name))
    assert wrong == {}


def test_every_domain_prefix_in_the_code_is_specified_and_no_other() -> None:
    in_code: set[bytes] = set()
    for package in ("storage", "sync"):
        for path in (ROOT / package).rglob("*.py"):
            in_code.update(_PREFIX.findall(path.read_bytes()))
    in_doc = set(re.findall(r"`(valise/[a-z-]+/v[0-9]+)\\n`", DOC.read_text("utf-8")))
    assert {prefix.decode() for prefix in in_code} == in_doc
    assert len(in_doc) == 9


def test_the_verifier_uses_the_codes_prefixes_limits_and_record_kinds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from storage import canonical as canonical_module
    from storage import changesets, identity, sealing
    from storage.entities import ENTITIES, OPEN
    from sync import bundle_format, cards, holdings, trust

    spec = importlib.util.spec_from_file_location("verify_bundle_under_test", TOOL)
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, tool)  # its dataclasses look themselves up
    spec.loader.exec_module(tool)
    same = {
        "HEAD_MAGIC": bundle_format.HEAD_MAGIC,
        "MANIFEST_FORMAT": bundle_format.MANIFEST_FORMAT,
        "MANIFEST_VERSION": bundle_format.MANIFEST_VERSION,
        "MANIFEST_DOMAIN": bundle_format.MANIFEST_DOMAIN,
        "HEAD_SUFFIX": bundle_format.HEAD_SUFFIX,
        "PART_SUFFIX": bundle_format.PART_SUFFIX,
        "MAX_HEAD_BYTES": bundle_format.MAX_HEAD_BYTES,
        "MAX_CHANGESET_FRAME": bundle_format.MAX_CHANGESET_FRAME,
        "MAX_BLOB_SIZE": bundle_format.MAX_BLOB_SIZE,
        "MAX_PARTS": bundle_format.MAX_PARTS,
        "MAX_PART_BYTES": bundle_format.MAX_PART_BYTES,
        "SIGNATURE_BYTES": bundle_format.SIGNATURE_BYTES,
        "CHANGESET_FORMAT": changesets.FORMAT,
        "CHANGESET_VERSION": changesets.VERSION,
        "CHANGESET_DOMAIN": identity.CHANGESET_DOMAIN,
        "MAX_OPS": changesets.MAX_OPS,
        "MAX_PREV_REFS": changesets.MAX_PREV_REFS,
        "OP_KINDS": changesets.OP_KINDS,
        "SEAL_DOMAIN": sealing.SEAL_DOMAIN,
        "CARD_FORMAT": cards.CARD_FORMAT,
        "CARD_VERSION": cards.CARD_VERSION,
        "CARD_DOMAIN": cards.CARD_DOMAIN,
        "MAX_CARD_BYTES": cards.MAX_CARD_BYTES,
        "PEER_ROLES": cards.PEER_ROLES,
        "ENDORSEMENT_DOMAIN": trust.ENDORSEMENT_DOMAIN,
        "MAX_HOLDING_RANGES": holdings.MAX_RANGES,
        "CANONICAL_MAX_DEPTH": canonical_module.MAX_DEPTH,
        "CANONICAL_MAX_BYTES": canonical_module.MAX_BYTES,
    }
    assert {name: getattr(tool, name) for name in same} == same
    registry = {
        name: (
            frozenset(f for f, spec in kind.fields.items() if spec.klass == OPEN),
            frozenset(f for f, spec in kind.fields.items() if spec.klass != OPEN),
        )
        for name, kind in ENTITIES.items()
    }
    assert registry == tool.ENTITY_FIELDS
    signing, encryption = os.urandom(32), os.urandom(32)
    assert tool.fingerprint(signing, encryption) == fingerprint(signing, encryption)
    value = {"b": [1, -2, "é\u2028\x01"], "a": None, "c": True}
    assert tool.canonical_encode(value) == canonical.encode(value)
    assert tool.commitment(b"\x07" * 16, value) == sealing.commit(b"\x07" * 16, value)
    assert tool.bech32_encode("age", encryption) == age_recipient(encryption)


def test_the_specifications_test_vectors_are_what_the_code_computes() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from storage import changesets, sealing
    from storage.identity import CHANGESET_DOMAIN, origin_of
    from sync.agekeys import age_identity

    section = DOC.read_text("utf-8").split("## 19. Test vectors", 1)[1]
    vectors = dict(re.findall(r"^\| `([a-z_0-9]+)` \| `(.+)` \|$", section, re.MULTILINE))
    signer = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(vectors["ed25519_private"]))
    x25519 = bytes.fromhex(vectors["x25519_private"])
    signing = signer.public_key().public_bytes_raw()
    encryption = X25519PrivateKey.from_private_bytes(x25519).public_key().public_bytes_raw()
    body = vectors["changeset_body"].encode()
    assert changesets.decode(body).origin == origin_of(signing)
    value = canonical.decode(vectors["seal_value"].encode())
    computed = {
        "ed25519_private": vectors["ed25519_private"],
        "x25519_private": vectors["x25519_private"],
        "signing_public": signing.hex(),
        "encryption_public": encryption.hex(),
        "origin": origin_of(signing),
        "fingerprint": fingerprint(signing, encryption),
        "age_recipient": age_recipient(encryption),
        "age_identity": age_identity(x25519),
        "seal_salt": vectors["seal_salt"],
        "seal_value": vectors["seal_value"],
        "commitment": sealing.commit(bytes.fromhex(vectors["seal_salt"]), value),
        "canonical_hex": canonical.encode(
            {"b": [1, -2, "é\u2028\x01"], "a": None, "c": True}
        ).hex(),
        "changeset_body": body.decode(),
        "changeset_id": changesets.changeset_id(body),
        "changeset_signature": signer.sign(CHANGESET_DOMAIN + body).hex(),
    }
    assert vectors == computed
