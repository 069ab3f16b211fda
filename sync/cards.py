"""Contact cards: how two installations learn each other's public keys.

A card is a small canonical-JSON file with the office name, its role, both public keys and
a self-signature. Anyone can forge a card, so a card alone proves nothing: a person
compares the fingerprint (storage.identity.fingerprint) read aloud or on paper before
marking the peer verified. The self-signature only catches damage and mix-ups.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from storage import canonical
from storage.identity import fingerprint, origin_of
from storage.regular_files import FileTooLarge, NotARegularFile, read_regular
from storage.text_rules import text_problem
from storage.workspace import Workspace
from sync.agekeys import age_recipient
from sync.errors import BadCard

CARD_FORMAT = "valise.card"
CARD_VERSION = 1
CARD_DOMAIN = b"valise/contact-card/v1\n"
MAX_CARD_BYTES = 16 * 1024
PEER_ROLES = ("office", "liaison", "ngo", "defence")
_KEYS = {
    "format",
    "version",
    "office_name",
    "role",
    "signing_public",
    "encryption_public",
    "age_recipient",
    "created",
    "signature",
}


@dataclass(frozen=True)
class ContactCard:
    """The public half of an installation's identity."""

    office_name: str
    role: str
    signing_public: bytes
    encryption_public: bytes
    created: str

    @property
    def origin(self) -> str:
        """The origin id its changesets carry."""
        return origin_of(self.signing_public)

    @property
    def fingerprint(self) -> str:
        """The digits a person compares."""
        return fingerprint(self.signing_public, self.encryption_public)

    def _unsigned(self) -> dict[str, object]:
        return {
            "format": CARD_FORMAT,
            "version": CARD_VERSION,
            "office_name": self.office_name,
            "role": self.role,
            "signing_public": self.signing_public.hex(),
            "encryption_public": self.encryption_public.hex(),
            "age_recipient": age_recipient(self.encryption_public),
            "created": self.created,
        }


def own_card(ws: Workspace) -> ContactCard:
    """This installation's card."""
    return ContactCard(
        office_name=ws.office_name,
        role=ws.meta("role", "office"),
        signing_public=ws.keys.signing_public,
        encryption_public=ws.keys.encryption_public,
        created=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
    )


def encode_card(ws: Workspace, card: ContactCard) -> bytes:
    """The card file's bytes, self-signed with the workspace's signing key."""
    doc = card._unsigned()
    signature = ws.keys.signer().sign(CARD_DOMAIN + canonical.encode(doc))
    doc["signature"] = signature.hex()
    return canonical.encode(doc) + b"\n"


def _hex_key(doc: dict[str, object], name: str) -> bytes:
    value = doc.get(name)
    if not isinstance(value, str) or len(value) != 64:
        raise BadCard(f"its {name.replace('_', ' ')} is not a 32-byte key")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise BadCard(f"its {name.replace('_', ' ')} is not hexadecimal") from None


def parse_card(data: bytes) -> ContactCard:
    """Check a card from outside completely; raise BadCard saying what is wrong."""
    if len(data) > MAX_CARD_BYTES:
        raise BadCard(f"it is {len(data):,} bytes; a card is under {MAX_CARD_BYTES:,}")
    try:
        doc = canonical.decode(data.rstrip(b"\n"))
    except canonical.CanonicalError as exc:
        raise BadCard(f"it is not a Valise contact card ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != CARD_FORMAT:
        raise BadCard("it is not a Valise contact card")
    if doc.get("version") != CARD_VERSION or set(doc) != _KEYS:
        raise BadCard("it is a contact card of a version this Valise does not read")
    for name in ("office_name", "role", "created", "age_recipient", "signature"):
        if not isinstance(doc[name], str) or not 0 < len(doc[name]) <= 200:
            raise BadCard(f"its {name.replace('_', ' ')} is missing or too long")
    for name in ("office_name", "created"):
        advice = "such a card is refused"
        if problem := text_problem(f"its {name.replace('_', ' ')}", doc[name], advice=advice):
            raise BadCard(problem)
    if doc["role"] not in PEER_ROLES:
        raise BadCard(f"its role {doc['role']!r} is not one of {', '.join(PEER_ROLES)}")
    signing, encryption = _hex_key(doc, "signing_public"), _hex_key(doc, "encryption_public")
    if doc["age_recipient"] != age_recipient(encryption):
        raise BadCard("its age recipient does not match its encryption key")
    signature = doc.pop("signature")
    try:
        Ed25519PublicKey.from_public_bytes(signing).verify(
            bytes.fromhex(signature), CARD_DOMAIN + canonical.encode(doc)
        )
    except (InvalidSignature, ValueError):
        raise BadCard("its signature does not match its keys (damaged or altered)") from None
    return ContactCard(doc["office_name"], doc["role"], signing, encryption, doc["created"])


def read_card(path: Path) -> ContactCard:
    """Read and check a card file, naming the file in any error. Only a regular file is
    read (never a link, pipe or device: a pipe would wait for ever), at most a card's size."""
    try:
        data = read_regular(path, MAX_CARD_BYTES)
    except NotARegularFile as exc:
        raise BadCard(
            f"{path} is {exc.kind}, not a contact card; choose the card file itself."
        ) from None
    except FileTooLarge:
        raise BadCard(
            f"{path} is not a usable contact card: it is larger than {MAX_CARD_BYTES:,} bytes."
        ) from None
    except OSError as exc:
        raise BadCard(f"cannot read {path}: {exc.strerror}") from None
    try:
        return parse_card(data)
    except BadCard as exc:
        raise BadCard(f"{path} is not a usable contact card: {exc}") from None
