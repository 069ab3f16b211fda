"""Bundles stay readable with the `age` tool, so an office is never locked into Valise.

A bundle's files are plain age files (age-encryption.org/v1) and an office can export its
key in age's text format (`valise identity age-key`). If Valise stopped working, or a
court asked how a bundle was read, `age -d -i KEY PART` must open every part and the head
with no Valise code involved. These tests run Debian's own `age` and `age-keygen` against
our files and keys, and decode age's Bech32 key text independently of sync.agekeys.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pyrage
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from pyrage import x25519

from storage import cases, evidence
from storage.workspace import Workspace, open_workspace
from sync.agekeys import age_identity, age_recipient
from sync.bundle_format import HEAD_MAGIC, PART_SUFFIX, PayloadParser, decode_manifest, split_head
from tests.conftest import PASSPHRASE
from tests.desktop.clitools import assert_ok, assert_refused, valise
from tests.sync.conftest import Network

AGE = shutil.which("age")
AGE_KEYGEN = shutil.which("age-keygen")
needs_age = pytest.mark.skipif(
    AGE is None, reason="the age tool is not installed (apt install age)"
)
needs_keygen = pytest.mark.skipif(
    AGE_KEYGEN is None, reason="age-keygen is not installed (apt install age)"
)

# -- an independent Bech32 decoder (BIP 173, without the 90-character limit, as age uses) --

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _polymod(values: list[int]) -> int:
    generators = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            chk ^= generators[i] if (top >> i) & 1 else 0
    return chk


def bech32_decode(text: str) -> tuple[str, bytes]:
    """The prefix and the bytes of a Bech32 string; the checksum must hold."""
    assert text == text.lower() or text == text.upper(), "mixed case is not Bech32"
    text = text.lower()
    hrp, _, data = text.rpartition("1")
    words = [_CHARSET.index(c) for c in data]
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    assert _polymod(expanded + words) == 1, "bad Bech32 checksum"
    acc, bits, out = 0, 0, bytearray()
    for word in words[:-6]:
        acc = (acc << 5) | word
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    assert bits < 5 and acc & ((1 << bits) - 1) == 0, "non-zero padding"
    return hrp, bytes(out)


def key_file_lines(path: Path) -> tuple[str, str]:
    """The `# public key:` value and the secret key line of an age identity file."""
    lines = path.read_text().splitlines()
    public = [ln.split(": ", 1)[1] for ln in lines if ln.startswith("# public key: ")]
    secret = [ln for ln in lines if ln.startswith("AGE-SECRET-KEY-1")]
    assert len(public) == 1 and len(secret) == 1, lines
    assert all(ln.startswith("#") or ln == secret[0] for ln in lines if ln)
    return public[0], secret[0]


def env_for(root: Path) -> dict[str, str]:
    return {**os.environ, "VALISE_WORKSPACE": str(root), "VALISE_PASSPHRASE": PASSPHRASE}


def write_age_key(network: Network, name: str, out: Path) -> None:
    """`valise identity age-key` for one installation of the network, run as a user would
    (the workspace is closed for it, then opened again)."""
    ws = network.ws[name]
    root = ws.paths.root
    ws.close()
    try:
        assert_ok(valise(env_for(root), "identity", "age-key", "--out", out))
    finally:
        network.ws[name] = open_workspace(root, PASSPHRASE)


def run_age(*args: str | os.PathLike[str]) -> subprocess.CompletedProcess[bytes]:
    assert AGE is not None
    return subprocess.run(
        [AGE, *[os.fspath(a) for a in args]],
        capture_output=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )


# -- the key file --------------------------------------------------------------------------


def test_age_key_writes_our_key_in_ages_format_privately_and_never_overwrites(
    cli_env: dict[str, str], workspace_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "kabora.agekey"
    result = valise(cli_env, "identity", "age-key", "--out", out)
    assert_ok(result)
    assert result.stdout == ""  # the secret goes only to the file
    warning = [ln for ln in result.stderr.splitlines() if ln.startswith("valise: warning:")]
    assert warning and str(out) in warning[0] and "private" in warning[0]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    public, secret = key_file_lines(out)
    assert secret not in result.stderr
    with open_workspace(workspace_dir, PASSPHRASE) as ws:
        assert public == age_recipient(ws.keys.encryption_public)
        assert secret == age_identity(ws.keys.encryption_private)
        assert bech32_decode(secret) == ("age-secret-key-", ws.keys.encryption_private)
        assert bech32_decode(public) == ("age", ws.keys.encryption_public)
        actions = [row[0] for row in ws.conn.execute("SELECT action FROM audit")]
    assert "age key written" in actions
    assert str(x25519.Identity.from_str(secret).to_public()) == public

    before = out.read_bytes()
    again = valise(cli_env, "identity", "age-key", "--out", out)
    assert_refused(again, 1, "already exists", str(out))
    assert "warning" not in again.stderr
    assert out.read_bytes() == before and stat.S_IMODE(out.stat().st_mode) == 0o600


def test_age_key_into_a_missing_folder_or_onto_a_folder_is_refused(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    missing = tmp_path / "no such folder" / "key.txt"
    assert_refused(valise(cli_env, "identity", "age-key", "--out", missing), 1, str(missing))
    assert not missing.parent.exists()
    assert_refused(valise(cli_env, "identity", "age-key", "--out", tmp_path), 1, str(tmp_path))


# -- the age tool reads our bundles ----------------------------------------------------------


@needs_age
def test_the_age_tool_opens_every_part_and_the_head_of_a_bundle_sent_to_us(
    network: Network, tmp_path: Path
) -> None:
    from sync.export import export_bundle

    kabora = network.ws["kabora"]
    case_id = cases.add_case(kabora, "Shelling of the Oru market")
    cases.add_note(kabora, case_id, "Ask the liaison for the drone footage")
    source = tmp_path / "photo.jpg"
    source.write_bytes(bytes(range(256)) * 1200)  # 300 KiB: the payload spans parts
    evidence.add_evidence(kabora, case_id, source)
    network.share("kabora", case_id, "liaison")
    stick = network.new_stick()
    result = export_bundle(kabora, [network.peer("kabora", "liaison")], stick, part_size=64 * 1024)
    assert len(result.parts) >= 4
    key = tmp_path / "liaison.agekey"
    write_age_key(network, "liaison", key)

    opened = run_age("-d", "-i", key, result.head)
    assert opened.returncode == 0, opened.stderr
    head = opened.stdout
    assert head.startswith(HEAD_MAGIC)
    manifest = decode_manifest(split_head(head)[0])
    assert {p["name"] for p in manifest["parts"]} == {
        p.name.removesuffix(PART_SUFFIX) for p in result.parts
    }
    plain = []
    for part in manifest["parts"]:
        path = result.head.parent / f"{part['name']}{PART_SUFFIX}"
        out = run_age("-d", "-i", key, path)
        assert out.returncode == 0, out.stderr
        plain.append(out.stdout)
    payload = b"".join(plain)
    assert payload[:1] in (b"C", b"B")
    assert len(payload) == manifest["payload"]["size"]
    assert source.read_bytes() in payload  # the evidence, whole, in clear
    frames: list[object] = []
    sinks: list[bytes] = []

    class Sink:
        def __init__(self, sha: str) -> None:
            self.sha = sha

        def write(self, data: bytes | memoryview) -> None:
            sinks.append(bytes(data))

        def finish(self) -> str:
            return self.sha

    parser = PayloadParser(frames.append, lambda size, sha: Sink(sha))
    parser.write(payload)
    parser.finish()
    # What age decrypted is exactly what the sender signed.
    assert parser.digest.hexdigest() == manifest["payload"]["sha256"]
    assert parser.size == manifest["payload"]["size"]
    assert len(frames) == manifest["payload"]["changesets"]
    assert b"".join(sinks) == source.read_bytes()

    # Another installation's key opens nothing.
    other = tmp_path / "ngo.agekey"
    write_age_key(network, "ngo", other)
    refused = run_age("-d", "-i", other, result.head)
    assert refused.returncode != 0 and refused.stdout == b""
    # And the bundle still imports after all this reading.
    assert network.receive("liaison", result.head)[0].status == "imported"


@needs_age
def test_the_age_tool_encrypts_to_the_recipient_on_our_card(network: Network) -> None:
    """The other direction: what age writes for our `age1...` recipient, we decrypt."""
    ws: Workspace = network.ws["dressa"]
    recipient = age_recipient(ws.keys.encryption_public)
    sealed = subprocess.run(
        [str(AGE), "-r", recipient],
        input=b"statement of W-0042",
        capture_output=True,
        timeout=60,
        check=True,
    ).stdout
    identity = x25519.Identity.from_str(age_identity(ws.keys.encryption_private))
    assert pyrage.decrypt(sealed, [identity]) == b"statement of W-0042"


# -- sync.agekeys against age-keygen -------------------------------------------------------


@needs_keygen
def test_agekeys_encodes_keys_exactly_as_age_keygen_does(tmp_path: Path) -> None:
    assert AGE_KEYGEN is not None
    for n in range(3):
        path = tmp_path / f"key-{n}.txt"
        subprocess.run([AGE_KEYGEN, "-o", str(path)], capture_output=True, timeout=60, check=True)
        public, secret = key_file_lines(path)
        hrp, raw = bech32_decode(secret)
        assert hrp == "age-secret-key-" and len(raw) == 32
        assert age_identity(raw) == secret
        raw_public = X25519PrivateKey.from_private_bytes(raw).public_key().public_bytes_raw()
        assert age_recipient(raw_public) == public
        assert bech32_decode(public) == ("age", raw_public)
        assert str(x25519.Identity.from_str(secret).to_public()) == public


def test_agekeys_refuses_keys_of_the_wrong_length() -> None:
    for bad in (b"", b"\x01" * 31, b"\x01" * 33):
        with pytest.raises(ValueError, match="32 bytes"):
            age_recipient(bad)
        with pytest.raises(ValueError, match="32 bytes"):
            age_identity(bad)
