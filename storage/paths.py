"""Where a workspace lives and what its files are called."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

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


def display_name(path: Path) -> str:
    """The file's name as storable text: bytes that are not UTF-8 (an old camera's Latin-1
    name, say) become U+FFFD instead of lone surrogates the database cannot hold."""
    return path.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


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
