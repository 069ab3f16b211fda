"""Where a workspace lives and what its files are called."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from storage.text_rules import is_unprintable, refused_character

WORKSPACE_ENV = "VALISE_WORKSPACE"


def default_workspace_dir() -> Path:
    """`VALISE_WORKSPACE`, else the platform's per-user data folder."""
    override = os.environ.get(WORKSPACE_ENV)
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming"))
        return base / "Valise" / "workspace"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "Valise" / "workspace"
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "valise" / "workspace"


_NAME_ESCAPE = re.compile(r"\\(\\|x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8})")


def _escape_name_character(character: str) -> str:
    code = ord(character)
    if character == "\\":
        return "\\\\"
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if refused_character(character) is not None or is_unprintable(character):
        return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
    return character


def escaped_name(raw: bytes) -> str:
    """A file name's bytes as readable, storable text that keeps every byte: a byte that
    is not UTF-8 (an old camera's Latin-1 `café`) reads `caf\\xe9`, a control or
    reordering character `\\u001b`, a backslash `\\\\`. `name_bytes` gives the bytes back."""
    text = raw.decode("utf-8", "surrogateescape")
    return "".join(_escape_name_character(c) for c in text)


def name_bytes(text: str) -> bytes:
    """The bytes of a file name stored by `escaped_name` (a backslash that starts no
    escape, as in names stored before, stays itself)."""
    out = bytearray()
    position = 0
    for match in _NAME_ESCAPE.finditer(text):
        out += text[position : match.start()].encode("utf-8", "surrogatepass")
        escape = match.group(1)
        if escape == "\\":
            out += b"\\"
        elif escape[0] == "x":
            out.append(int(escape[1:], 16))
        else:
            out += chr(int(escape[1:], 16)).encode("utf-8", "surrogatepass")
        position = match.end()
    out += text[position:].encode("utf-8", "surrogatepass")
    return bytes(out)


def display_name(path: Path) -> str:
    """The file's name as storable text that keeps its bytes (see `escaped_name`)."""
    return escaped_name(os.fsencode(path.name))


def original_file_name(stored: str) -> str | None:
    """The name to write a copy under, as the original bytes (in Python's
    surrogateescape form for paths); None when the stored name is no plain file name
    (empty, `.` or `..`, or holding a slash or NUL: only a peer's forged record can)."""
    raw = name_bytes(stored)
    if raw in (b"", b".", b"..") or b"/" in raw or b"\x00" in raw:
        return None
    return os.fsdecode(raw)


@dataclass(frozen=True)
class WorkspacePaths:
    """The files of one workspace folder."""

    root: Path

    @property
    def database(self) -> Path:
        """The SQLCipher database."""
        return self.root / "workspace.db"

    @property
    def keyfile(self) -> Path:
        """The wrapped database key."""
        return self.root / "workspace.key"

    @property
    def blobs(self) -> Path:
        """Encrypted evidence files."""
        return self.root / "blobs"

    @property
    def attempts(self) -> Path:
        """Failed-unlock record."""
        return self.root / "unlock-attempts.json"

    @property
    def anchor(self) -> Path:
        """Sealed copy of the audit chain head."""
        return self.root / "audit.anchor"

    @property
    def pending_copies(self) -> Path:
        """Hidden temp names of plain copies being written where a folder has no unnamed
        files (storage.atomic.WholeNewFile); the next unlock removes what a kill left."""
        return self.root / "copies-under-way"

    @property
    def backups(self) -> Path:
        """Automatic encrypted backups taken before migrations."""
        return self.root / "backups"

    @property
    def lock(self) -> Path:
        """Held by the one process that has the workspace open."""
        return self.root / ".lock"

    def looks_like_workspace(self) -> bool:
        """True when either of the two essential files is present."""
        return self.keyfile.exists() or self.database.exists()
