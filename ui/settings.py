"""The desktop settings that survive restarts, typed and validated over `QSettings`.

Only preferences live here, never case data or secrets: the settings file is plain text in
the person's profile. Every value is checked on the way out, because anyone can edit that
file: a value that is not valid falls back to the default rather than to something weaker
(a garbled idle limit must not read as 0, which would turn auto-lock off).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

IDLE_LOCK_KEY = "security/idle_lock_minutes"
LAST_WORKSPACE_KEY = "start/last_workspace"
DEFAULT_IDLE_LOCK_MINUTES = 10
MIN_IDLE_LOCK_MINUTES = 1
MAX_IDLE_LOCK_MINUTES = 240
NEVER = 0


def idle_lock_minutes_is_valid(minutes: int) -> bool:
    """0 (never) or a whole number of minutes from 1 to 240."""
    return minutes == NEVER or MIN_IDLE_LOCK_MINUTES <= minutes <= MAX_IDLE_LOCK_MINUTES


def _parse_minutes(raw: object) -> int | None:
    """An int from what QSettings returns (an int, or a string from an INI file), or None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str):
        text = raw.strip()
        if text.isascii() and text.isdigit():
            return int(text)
    return None


class Settings:
    """Typed access to the application's `QSettings`.

    Give it a `QSettings` on a temporary INI file in tests; without one it uses the
    application's own (organization and application names set at start-up).
    """

    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store if store is not None else QSettings()

    @property
    def idle_lock_minutes(self) -> int:
        """Minutes without use before the workspace locks; 0 means never; default 10."""
        minutes = _parse_minutes(self.store.value(IDLE_LOCK_KEY, DEFAULT_IDLE_LOCK_MINUTES))
        if minutes is None or not idle_lock_minutes_is_valid(minutes):
            return DEFAULT_IDLE_LOCK_MINUTES
        return minutes

    def set_idle_lock_minutes(self, minutes: int) -> None:
        """Store a new limit and write it out at once; invalid values raise ValueError."""
        if isinstance(minutes, bool) or not idle_lock_minutes_is_valid(minutes):
            raise ValueError(
                f"the idle limit must be 0 (never) or {MIN_IDLE_LOCK_MINUTES} to "
                f"{MAX_IDLE_LOCK_MINUTES} minutes"
            )
        self.store.setValue(IDLE_LOCK_KEY, int(minutes))
        self.store.sync()

    @property
    def last_workspace(self) -> Path | None:
        """The folder of the workspace opened last from the first dialog, or None. Only a
        path: whoever reads the settings file learns where the workspace is, which the
        default folder would tell them anyway."""
        raw = self.store.value(LAST_WORKSPACE_KEY, "")
        if not isinstance(raw, str) or not raw.strip() or "\x00" in raw:
            return None
        return Path(raw)

    def set_last_workspace(self, folder: Path) -> None:
        """Remember the folder of the workspace just opened."""
        self.store.setValue(LAST_WORKSPACE_KEY, str(Path(folder).resolve()))
        self.store.sync()
