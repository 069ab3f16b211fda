"""Sealed fields: protected and privileged values kept out of the signed changeset body.

A changeset is signed once by its origin and forwarded unchanged, so redaction cannot mean
editing it. Instead the body carries, for each protected or privileged field, only a salted
SHA-256 commitment; the value itself travels beside the changeset as a *reveal* (salt and
value) to the peers allowed to see it. A receiver checks each reveal against the signed
commitment, and a peer that receives no reveal holds the record with the field withheld.
The salt is random, so a commitment tells nothing about a short value such as a name.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from storage import canonical
from storage.entities import OPEN, PRIVILEGED, PROTECTED, Entity

SEAL_DOMAIN = b"valise/sealed-field/v1\n"
SALT_BYTES = 16
BY_RECORD = "by record"  # a note's text: its class comes from the note's own `class` field


@dataclass(frozen=True)
class Reveal:
    """The value behind one commitment, and the salt that makes the commitment unguessable."""

    salt: bytes
    value: object

    def commitment(self) -> str:
        """The hex digest a changeset carries in place of the value."""
        return commit(self.salt, self.value)


def commit(salt: bytes, value: object) -> str:
    """Salted, domain-separated SHA-256 of the canonical encoding of `value`."""
    return hashlib.sha256(SEAL_DOMAIN + salt + canonical.encode(value)).hexdigest()


def new_reveal(value: object) -> Reveal:
    """Seal a value with a fresh random salt."""
    return Reveal(secrets.token_bytes(SALT_BYTES), value)


def field_class(kind: Entity, name: str, record_class: str | None) -> str:
    """The class (open, protected, privileged) of field `name`; a note's text takes the
    note's class, and an unknown note class is treated as privileged (fail closed)."""
    klass = kind.fields[name].klass
    if klass == BY_RECORD:
        return record_class if record_class in (OPEN, PROTECTED, PRIVILEGED) else PRIVILEGED
    return klass


_STRICTNESS = {OPEN: 0, PROTECTED: 1, PRIVILEGED: 2}


def strictest(*classes: str) -> str:
    """The most restrictive of some classes (an unknown class counts as privileged)."""
    return max(classes, key=lambda klass: _STRICTNESS.get(klass, 2))


def sealable(kind: Entity, name: str) -> bool:
    """True for fields that may be sealed (everything but plain open fields)."""
    spec = kind.fields.get(name)
    return spec is not None and spec.klass != OPEN
