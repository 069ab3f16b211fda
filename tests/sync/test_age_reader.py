"""Our reader of age files opens exactly what pyrage and the `age` tool open, and nothing
damaged, cut short, extended or addressed to someone else."""

from __future__ import annotations

import io
import os
import random
import shutil
import subprocess
from pathlib import Path

import pyrage
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from pyrage import x25519

from sync.age_reader import CHUNK, INTRO, AgeFormatError, decrypt
from sync.agekeys import age_identity, age_recipient

OURS = X25519PrivateKey.generate().private_bytes_raw()
OUR_IDENTITY = x25519.Identity.from_str(age_identity(OURS))
SOMEONE_ELSE = x25519.Identity.generate()

sizes = st.one_of(
    st.sampled_from([0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 5]),
    st.integers(min_value=0, max_value=5 * CHUNK),
)


def _encrypt(plain: bytes, others: int = 1) -> bytes:
    recipients = [x25519.Identity.generate().to_public() for _ in range(others)]
    recipients.insert(len(recipients) // 2, OUR_IDENTITY.to_public())
    return bytes(pyrage.encrypt(plain, recipients))


def _open(sealed: bytes, identities: list[bytes] | None = None) -> bytes:
    out = io.BytesIO()
    decrypt(io.BytesIO(sealed), out, [OURS] if identities is None else identities)
    return out.getvalue()


@settings(max_examples=40, deadline=None)
@given(size=sizes, others=st.integers(min_value=0, max_value=3), seed=st.integers(0, 2**32))
def test_what_pyrage_writes_reads_back_whole(size: int, others: int, seed: int) -> None:
    plain = random.Random(seed).randbytes(size)
    assert _open(_encrypt(plain, others)) == plain


@settings(max_examples=60, deadline=None)
@given(size=sizes, where=st.floats(0, 1), bit=st.integers(0, 7))
def test_a_flipped_bit_anywhere_is_refused(size: int, where: float, bit: int) -> None:
    sealed = bytearray(_encrypt(os.urandom(size), others=1))
    sealed[min(int(where * len(sealed)), len(sealed) - 1)] ^= 1 << bit
    with pytest.raises(AgeFormatError):
        _open(bytes(sealed))


@settings(max_examples=60, deadline=None)
@given(size=sizes, where=st.floats(0, 1))
def test_a_file_cut_short_anywhere_is_refused(size: int, where: float) -> None:
    sealed = _encrypt(os.urandom(size))
    with pytest.raises(AgeFormatError):
        _open(sealed[: int(where * (len(sealed) - 1))])


@given(size=sizes, extra=st.binary(min_size=1, max_size=CHUNK + 40))
@settings(max_examples=30, deadline=None)
def test_bytes_appended_after_the_last_chunk_are_refused(size: int, extra: bytes) -> None:
    with pytest.raises(AgeFormatError):
        _open(_encrypt(os.urandom(size)) + extra)


def test_a_file_for_someone_else_is_refused_plainly() -> None:
    sealed = bytes(pyrage.encrypt(b"not for us", [SOMEONE_ELSE.to_public()]))
    with pytest.raises(AgeFormatError, match="not addressed to this workspace"):
        _open(sealed)


def test_any_of_several_keys_opens_it() -> None:
    retired = X25519PrivateKey.generate().private_bytes_raw()
    sealed = _encrypt(b"written to the current key")
    assert _open(sealed, [retired, OURS]) == b"written to the current key"


@given(tail=st.binary(max_size=400))
@settings(max_examples=200, deadline=None)
def test_garbage_after_the_intro_is_refused_without_a_crash(tail: bytes) -> None:
    with pytest.raises(AgeFormatError):
        _open(INTRO + tail)


@pytest.mark.parametrize(
    "header",
    [
        b"",
        b"age-encryption.org/v2\n--- AAAA\n",
        INTRO + b"-> X25519\n\n--- " + b"A" * 43 + b"\n",
        INTRO + b"-> X25519 AAAA AAAA\n\n--- " + b"A" * 43 + b"\n",
        INTRO + b"-> X25519 " + b"A" * 43 + b"\n" + b"A" * 65 + b"\n--- " + b"A" * 43 + b"\n",
        INTRO + b"-> \x00bad\n\n--- " + b"A" * 43 + b"\n",
        INTRO + b"-> X25519 " + b"A" * 43 + b"=\n" + b"A" * 43 + b"\n--- " + b"A" * 43 + b"\n",
        INTRO + b"-> stanza\n" * 300,
        INTRO + b"-> X25519 " + b"A" * 43 + b"\n" + b"A" * 64 * 2000,
    ],
    ids=[
        "empty",
        "another version",
        "no share",
        "two shares",
        "over-long body line",
        "control character",
        "padded base64",
        "too many stanzas",
        "endless header",
    ],
)
def test_malformed_headers_are_refused(header: bytes) -> None:
    with pytest.raises(AgeFormatError):
        _open(header + os.urandom(64))


def test_a_low_order_share_is_refused() -> None:
    zero_share = "A" * 43  # the all-zero point: every shared secret would be zero
    header = INTRO + f"-> X25519 {zero_share}\n{'A' * 43}\n--- {'A' * 43}\n".encode()
    with pytest.raises(AgeFormatError, match="invalid share"):
        _open(header + os.urandom(64))


AGE = shutil.which("age") or "age"
needs_age = pytest.mark.skipif(
    shutil.which("age") is None, reason="the age tool is not installed (apt install age)"
)


@pytest.mark.skipif(
    shutil.which("age") is None, reason="the age tool is not installed (apt install age)"
)
@pytest.mark.parametrize("size", [0, 5, CHUNK, 3 * CHUNK + 1])
def test_what_the_age_tool_writes_reads_back_whole(tmp_path: Path, size: int) -> None:
    plain = tmp_path / "plain"
    plain.write_bytes(os.urandom(size))
    recipient = age_recipient(
        X25519PrivateKey.from_private_bytes(OURS).public_key().public_bytes_raw()
    )
    sealed = tmp_path / "sealed.age"
    subprocess.run([AGE, "-r", recipient, "-o", str(sealed), str(plain)], check=True)
    assert _open(sealed.read_bytes()) == plain.read_bytes()
    armored = tmp_path / "armored.age"
    subprocess.run([AGE, "-a", "-r", recipient, "-o", str(armored), str(plain)], check=True)
    with pytest.raises(AgeFormatError, match="not a binary age file"):
        _open(armored.read_bytes())
