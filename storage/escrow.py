"""Escrow: the database key sealed to the tribunal IT's age recipient.

`write_escrow` writes an age file (age-encryption.org/v1, X25519 only: readable years from
now with the standard `age` tool and IT's offline key) holding a small JSON document:

    {"format": "valise-escrow", "version": 1, "workspace_id": ..., "office": ...,
     "database_key": base64 of the 32-byte key, "created_at": ...}

It opens the workspace and every backup whose database has that key, whatever passphrase
or shares were set since, without the key file. The recipient is kept in the workspace
(meta `escrow_recipient`), so that a later rekey, which changes the database key, can seal
the escrow again to the same IT key; rekey itself is another part of issue 13.

`escrow_unwrap` reads an escrow with an identity file and returns an Unwrap
(storage.keyfile) that hands out the key only for the workspace the escrow names; the key
is then proved on the database (storage.recovery) before anything is written.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyrage
from pyrage import x25519

from storage import keyfile, roles
from storage.atomic import WholeNewFile
from storage.errors import InvalidInput, RecoveryRefused
from storage.recovery import read_given_file
from storage.text_rules import one_line
from storage.workspace import Workspace

FORMAT = "valise-escrow"
VERSION = 1
RECIPIENT_META = "escrow_recipient"
MAX_ESCROW_BYTES = 64 << 10
MAX_IDENTITY_BYTES = 64 << 10
AGE_MAGIC = b"age-encryption.org/v1\n"


@dataclass(frozen=True)
class Escrow:
    """An opened escrow. `database_key` is secret: it never goes into a message."""

    workspace_id: str
    office: str
    created_at: str
    database_key: bytes


def parse_recipient(text: str) -> x25519.Recipient:
    """The tribunal IT's age X25519 recipient (`age1…`); anything else is refused."""
    text = text.strip()
    refusal = (
        "The escrow recipient must be an age X25519 recipient: one line starting with"
        " 'age1' that the tribunal IT made with age-keygen. Nothing was written."
    )
    if not text.startswith("age1") or not text.isascii() or len(text) > 200:
        raise InvalidInput(refusal)
    try:
        return x25519.Recipient.from_str(text)
    except pyrage.RecipientError:
        raise InvalidInput(refusal) from None


def check_new_escrow(recipient_text: str, out: Path) -> None:
    """Refuse, before anything is written, an escrow that could not be made: no recipient
    recorded (a rekey's new escrow), a bad one, or a file name already taken."""
    if not recipient_text:
        raise InvalidInput(
            "This office has recorded no escrow recipient: write the first escrow with"
            " `valise recovery escrow --recipient age1… --out FILE`. Nothing was changed."
        )
    parse_recipient(recipient_text)
    if out.exists() or out.is_symlink():
        raise InvalidInput(f"{out} already exists; choose a new file name for the escrow.")
    if not out.parent.is_dir():
        raise InvalidInput(f"The folder {out.parent} does not exist.")


def write_escrow(ws: Workspace, recipient_text: str, out: Path) -> None:
    """Seal the database key to `recipient_text` in the new file `out` (never replacing
    one), keep the recipient for a later rekey, and record it in the audit chain."""
    recipient = parse_recipient(recipient_text)
    roles.require(ws, roles.MANAGE_KEYS, "seal the workspace's key in a recovery escrow")
    check_new_escrow(recipient_text, out)
    created = datetime.now(UTC).isoformat(timespec="seconds")

    def seal(key: bytes) -> bytes:
        document = {
            "format": FORMAT,
            "version": VERSION,
            "workspace_id": ws.workspace_id,
            "office": ws.office_name,
            "created_at": created,
            "database_key": base64.b64encode(key).decode("ascii"),
        }
        return bytes(pyrage.encrypt(json.dumps(document, sort_keys=True).encode(), [recipient]))

    sealed = ws.seal_database_key(seal)
    with WholeNewFile(out, ws.paths.pending_copies) as new:
        new.write(sealed)
        try:
            new.publish()
        except FileExistsError:
            raise InvalidInput(f"{out} already exists; choose a new file name.") from None
    with ws.transaction():
        ws.set_meta(RECIPIENT_META, recipient_text.strip())
        detail = {"recipient": recipient_text.strip(), "file": out.name}
        ws.record("recovery escrow written", "", detail)


def read_identities(path: Path) -> list[x25519.Identity]:
    """The age X25519 identities in an identity file (as age-keygen writes it)."""
    data = read_given_file(path, MAX_IDENTITY_BYTES, "identity file")
    lines = data.decode("ascii", "replace").splitlines()
    identities = []
    for line in lines:
        line = line.strip()
        if line.startswith("AGE-SECRET-KEY-1"):
            try:
                identities.append(x25519.Identity.from_str(line))
            except pyrage.IdentityError:
                raise RecoveryRefused(
                    f"The identity file {path} holds a damaged age key line."
                ) from None
    if not identities:
        raise RecoveryRefused(
            f"{path} holds no age identity (a line starting with AGE-SECRET-KEY-1, as"
            " age-keygen writes it); give the tribunal IT's key file."
        )
    return identities


def read_escrow(path: Path, identity_path: Path) -> Escrow:
    """Open the escrow at `path` with the identities in `identity_path`."""
    identities = read_identities(identity_path)
    data = read_given_file(path, MAX_ESCROW_BYTES, "escrow file")
    if not data.startswith(AGE_MAGIC):
        raise RecoveryRefused(f"{path} is not an escrow file (it is not an age file).")
    try:
        plain = pyrage.decrypt(data, identities)
    except pyrage.DecryptError as exc:
        if "No matching keys" in str(exc):
            raise RecoveryRefused(
                f"The escrow {path} is not sealed to the key in {identity_path}: give the"
                " identity of the tribunal IT recipient it was made for."
            ) from None
        raise RecoveryRefused(f"The escrow file {path} is damaged or cut short.") from None
    return _parse(plain, path)


def _parse(plain: bytes, path: Path) -> Escrow:
    damaged = RecoveryRefused(
        f"The escrow file {path} opens but its content is not a Valise escrow."
    )
    try:
        document = json.loads(plain)
    except (ValueError, RecursionError):
        raise damaged from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise damaged
    if document.get("version") != VERSION:
        raise RecoveryRefused(f"The escrow file {path} was written by an unknown version.")
    try:
        fields = [document[name] for name in ("workspace_id", "office", "created_at")]
        if not all(isinstance(value, str) for value in fields):
            raise ValueError("not text")
        key = base64.b64decode(document["database_key"], validate=True)
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise damaged from None
    if len(key) != 32:
        raise damaged
    return Escrow(fields[0], fields[1], fields[2], key)


def escrow_unwrap(path: Path, identity_path: Path) -> keyfile.Unwrap:
    """An Unwrap that hands out the escrowed key for the workspace the escrow names only."""

    def unwrap(sealed: keyfile.KeyFile) -> bytes:
        escrow = read_escrow(path, identity_path)
        if escrow.workspace_id != sealed.workspace_id:
            raise RecoveryRefused(
                f"The escrow {path} belongs to another workspace"
                f" ({one_line(escrow.office, 60)}, id {one_line(escrow.workspace_id, 40)}),"
                f" not to this one (id {sealed.workspace_id})."
                " Nothing was changed."
            )
        return escrow.database_key

    return unwrap
