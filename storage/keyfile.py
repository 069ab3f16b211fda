"""The key file: the database key, wrapped under a key derived from the passphrase.

The database key is 32 random bytes. It is sealed with AES-256-GCM under Argon2id(passphrase);
the Argon2id parameters, the salt and the workspace id travel in the file and are bound to
the ciphertext as associated data. So a wrong passphrase fails the tag (and is told apart
from a damaged file, which fails to parse), a passphrase change rewraps 32 bytes instead of
rewriting the database, and deleting the key file destroys access.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from storage.atomic import atomic_write_bytes
from storage.errors import WorkspaceFileError, WrongPassphrase
from storage.regular_files import NotARegularFile, open_regular

FORMAT = "valise-keyfile"
VERSION = 1
MAX_KEYFILE_BYTES = 4096


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost parameters; stored in the key file so they can grow over the years."""

    memory_kib: int = 65536
    iterations: int = 3
    lanes: int = 4

    def check(self) -> None:
        """Refuse parameters that are absurd (a damaged or hostile file)."""
        if not (8 * self.lanes <= self.memory_kib <= 4 * 1024 * 1024):
            raise ValueError("memory out of range")
        if not (1 <= self.iterations <= 64 and 1 <= self.lanes <= 64):
            raise ValueError("iterations or lanes out of range")


STANDARD_KDF = KdfParams()
# Only for tests and benchmarks that create many workspaces; never the default.
FAST_INSECURE_KDF = KdfParams(memory_kib=64, iterations=1, lanes=1)


@dataclass(frozen=True)
class KeyFile:
    """The parsed key file: everything needed to try a passphrase, and nothing secret in clear."""

    workspace_id: str
    generation: str
    kdf: KdfParams
    salt: bytes
    nonce: bytes
    sealed_key: bytes

    def header(self) -> bytes:
        """The associated data: every field but the ciphertext, so none can be swapped."""
        fields = {
            "format": FORMAT,
            "version": VERSION,
            "workspace_id": self.workspace_id,
            "generation": self.generation,
            "kdf": {
                "name": "argon2id",
                "memory_kib": self.kdf.memory_kib,
                "iterations": self.kdf.iterations,
                "lanes": self.kdf.lanes,
            },
            "salt": _b64(self.salt),
            "nonce": _b64(self.nonce),
        }
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()

    def to_bytes(self) -> bytes:
        """Serialize as JSON text: readable by a person who must recover it years from now."""
        document = json.loads(self.header())
        document["sealed_key"] = _b64(self.sealed_key)
        return (json.dumps(document, sort_keys=True, indent=1) + "\n").encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _derive(passphrase: bytes, salt: bytes, kdf: KdfParams) -> bytes:
    return Argon2id(
        salt=salt,
        length=32,
        iterations=kdf.iterations,
        lanes=kdf.lanes,
        memory_cost=kdf.memory_kib,
    ).derive(passphrase)


def seal(
    database_key: bytes, passphrase: bytes, workspace_id: str, kdf: KdfParams = STANDARD_KDF
) -> KeyFile:
    """Wrap `database_key` under a fresh salt and a new generation id."""
    kdf.check()
    draft = KeyFile(
        workspace_id=workspace_id,
        generation=secrets.token_hex(8),
        kdf=kdf,
        salt=os.urandom(16),
        nonce=os.urandom(12),
        sealed_key=b"",
    )
    wrapping_key = _derive(passphrase, draft.salt, kdf)
    sealed = AESGCM(wrapping_key).encrypt(draft.nonce, database_key, draft.header())
    return KeyFile(draft.workspace_id, draft.generation, kdf, draft.salt, draft.nonce, sealed)


def unseal(keyfile: KeyFile, passphrase: bytes) -> bytes:
    """Return the database key, or raise WrongPassphrase when the tag does not verify."""
    wrapping_key = _derive(passphrase, keyfile.salt, keyfile.kdf)
    try:
        return AESGCM(wrapping_key).decrypt(keyfile.nonce, keyfile.sealed_key, keyfile.header())
    except InvalidTag:
        raise WrongPassphrase() from None


def parse(data: bytes, path: Path) -> KeyFile:
    """Parse key file bytes strictly; any flaw is reported as a damaged file naming `path`."""

    def bad(why: str) -> WorkspaceFileError:
        return WorkspaceFileError(path, f"The key file is damaged or not a Valise key file: {why}")

    if not data:
        raise bad("it is empty")
    if len(data) > MAX_KEYFILE_BYTES:
        raise bad("it is too large")
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise bad("it is not readable (truncated or overwritten?)") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise bad("it is not a Valise key file")
    if document.get("version") != VERSION:
        raise bad(f"unknown key file version {document.get('version')!r}")
    try:
        kdf_doc = document["kdf"]
        if kdf_doc["name"] != "argon2id":
            raise bad("unknown key derivation")
        kdf = KdfParams(
            memory_kib=int(kdf_doc["memory_kib"]),
            iterations=int(kdf_doc["iterations"]),
            lanes=int(kdf_doc["lanes"]),
        )
        kdf.check()
        keyfile = KeyFile(
            workspace_id=str(document["workspace_id"]),
            generation=str(document["generation"]),
            kdf=kdf,
            salt=base64.b64decode(document["salt"], validate=True),
            nonce=base64.b64decode(document["nonce"], validate=True),
            sealed_key=base64.b64decode(document["sealed_key"], validate=True),
        )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, WorkspaceFileError):
            raise
        raise bad("a field is missing or malformed") from None
    if len(keyfile.salt) != 16 or len(keyfile.nonce) != 12 or len(keyfile.sealed_key) != 48:
        raise bad("a field has the wrong length")
    return keyfile


def read(path: Path) -> KeyFile:
    """Read and parse the key file at `path`."""
    try:  # never a link or a pipe (a planted pipe would hang the unlock)
        with open_regular(path) as handle:
            data = handle.read(MAX_KEYFILE_BYTES + 1)
    except FileNotFoundError:
        raise WorkspaceFileError(path, "The key file is missing") from None
    except NotARegularFile as exc:
        raise WorkspaceFileError(path, f"The key file is {exc.kind}, not a file") from None
    except PermissionError:
        raise WorkspaceFileError(path, "The key file cannot be read (permission denied)") from None
    return parse(data, path)


def write(path: Path, keyfile: KeyFile) -> None:
    """Replace the key file atomically: a crash leaves the old or the new one, whole."""
    atomic_write_bytes(path, keyfile.to_bytes())
