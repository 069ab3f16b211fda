"""The node identity: an Ed25519 signing key and an X25519 encryption key for this office.

Both private keys live only inside the encrypted database. The origin id is the SHA-256 of
the signing public key; the fingerprint people read aloud is derived from both public keys.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

CHANGESET_DOMAIN = b"valise/changeset/v1\n"


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


def verify_changeset(signing_public: bytes | Ed25519PublicKey, body: bytes, sig: bytes) -> bool:
    """True when `sig` is the origin's signature over `body`.

    Pass the key object when verifying many: loading it from bytes each time costs more."""
    from cryptography.exceptions import InvalidSignature

    try:
        if isinstance(signing_public, bytes):
            signing_public = Ed25519PublicKey.from_public_bytes(signing_public)
        signing_public.verify(sig, CHANGESET_DOMAIN + body)
    except (InvalidSignature, ValueError):
        return False
    return True
