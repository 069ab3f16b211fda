"""The node identity: an Ed25519 signing key and an X25519 encryption key for this office.

Both private keys live only inside the encrypted database. The origin id is the SHA-256 of
the signing public key; the fingerprint people read aloud is derived from both public keys.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError

CHANGESET_DOMAIN = b"valise/changeset/v1\n"
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64


@dataclass(frozen=True)
class NodeKeys:
    """Private and public keys of this installation."""

    signing_private: bytes
    encryption_private: bytes

    @property
    def signing_public(self) -> bytes:
        """Raw 32-byte Ed25519 public key."""
        key = Ed25519PrivateKey.from_private_bytes(self.signing_private).public_key()
        return key.public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def encryption_public(self) -> bytes:
        """Raw 32-byte X25519 public key."""
        key = X25519PrivateKey.from_private_bytes(self.encryption_private).public_key()
        return key.public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def origin(self) -> str:
        """This node's origin id in changesets."""
        return origin_of(self.signing_public)

    def signer(self) -> Ed25519PrivateKey:
        """The signing key object."""
        return Ed25519PrivateKey.from_private_bytes(self.signing_private)


def generate() -> NodeKeys:
    """Fresh random keys for a new workspace."""
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    signing = Ed25519PrivateKey.generate().private_bytes(
        Encoding.Raw, PrivateFormat.Raw, NoEncryption()
    )
    encryption = X25519PrivateKey.generate().private_bytes(
        Encoding.Raw, PrivateFormat.Raw, NoEncryption()
    )
    return NodeKeys(signing, encryption)


def origin_of(signing_public: bytes) -> str:
    """Origin id: hex SHA-256 of the raw Ed25519 public key."""
    return hashlib.sha256(signing_public).hexdigest()


def fingerprint(signing_public: bytes, encryption_public: bytes) -> str:
    """Eight groups of five digits, for comparing keys by reading them aloud.

    Digits read the same in every language; 40 digits carry about 132 bits.
    """
    digest = hashlib.sha256(b"valise/fingerprint/v1\n" + signing_public + encryption_public)
    number = int.from_bytes(digest.digest()[:17], "big") % 10**40
    digits = f"{number:040d}"
    return " ".join(digits[i : i + 5] for i in range(0, 40, 5))


def sign_changeset(keys: NodeKeys | Ed25519PrivateKey, body: bytes) -> bytes:
    """Domain-separated Ed25519 signature over a changeset's canonical body.

    Pass the key object when signing many: rebuilding it from bytes costs more than signing.
    """
    signer = keys.signer() if isinstance(keys, NodeKeys) else keys
    return signer.sign(CHANGESET_DOMAIN + body)


def verify_changeset(signing_public: bytes, body: bytes, sig: bytes) -> bool:
    """True when `sig` is the origin's signature over `body`.

    Checked with libsodium (PyNaCl), not OpenSSL: an import checks one signature per
    changeset, and libsodium's verification takes 75 µs where OpenSSL's takes 180 µs here,
    the largest single cost of importing 100,000 changesets. libsodium is also the stricter
    of the two (it refuses small-order keys and commitments, which no real key produces),
    so whatever it accepts OpenSSL's verifier (docs/bundle-format.md, tools) accepts too,
    and every office, running this same check, decides alike."""
    if len(signing_public) != PUBLIC_KEY_BYTES or len(sig) != SIGNATURE_BYTES:
        return False
    try:
        crypto_sign_open(sig + CHANGESET_DOMAIN + body, signing_public)
    except (BadSignatureError, ValueError, TypeError):
        return False
    return True
