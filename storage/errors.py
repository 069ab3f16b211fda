"""The storage layer's exceptions.

Each class is an error a person can cause or meet (a wrong passphrase, a damaged file),
so its message is a sentence that says what happened and what to do next. Messages never
carry passphrases, keys or evidence content.
"""

from __future__ import annotations

from pathlib import Path

from storage.text_rules import one_line


class StorageError(Exception):
    """Base of every error the storage layer raises on purpose."""


class InvalidInput(StorageError):
    """A value given by a person or a script is not acceptable (bad date, unknown choice)."""


class NotFound(StorageError):
    """A record named by id does not exist in this workspace."""

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"No {kind} with id {ident!r} in this workspace.")
        self.kind = kind
        self.ident = ident


class AmbiguousId(InvalidInput):
    """A shortened id matches more than one record."""

    def __init__(self, kind: str, prefix: str, count: int) -> None:
        super().__init__(f"The id {prefix!r} matches {count} {kind} records; type more of it.")


class AmbiguousReference(InvalidInput):
    """A case reference (or an evidence number) names several records: two offices, or an
    office restored from a backup, gave the same one. Says which, so a person can choose."""

    def __init__(self, kind: str, reference: str, candidates: list[tuple[str, str]]) -> None:
        listed = ", ".join(f"{ident} {one_line(label, 60)}" for ident, label in candidates)
        super().__init__(
            f"{reference} names {len(candidates)} {kind} records: {listed}; give the id."
            if kind != "case"
            else f"{reference} names {len(candidates)} cases: {listed}; give the id."
        )
        self.reference = reference
        self.candidates = candidates


class WeakPassphrase(StorageError):
    """The passphrase chosen for a workspace is too easy to guess."""


class WrongPassphrase(StorageError):
    """The passphrase did not open the key file (the AEAD tag did not verify), or the
    named user has no slot in it: the two are not told apart, as at any login."""

    def __init__(self, failures: int = 0, *, named_user: bool = False) -> None:
        what = "Wrong user name or passphrase" if named_user else "Wrong passphrase"
        super().__init__(f"{what}. The workspace is unchanged; try again.")
        self.failures = failures
        self.named_user = named_user


class UserNeeded(StorageError):
    """The key file holds several users' slots and no user was named."""

    def __init__(self) -> None:
        super().__init__(
            "This workspace has several users: give your user name with the passphrase."
            " The workspace is unchanged."
        )


class DamagedUserSlot(StorageError):
    """A user's passphrase opened their private key, but the database key sealed to it
    does not open: that half of the slot was changed or damaged."""

    def __init__(self) -> None:
        super().__init__(
            "Your passphrase is right, but the key file's copy of the workspace key for you"
            " is damaged or was tampered with. Ask a supervisor to set your passphrase again"
            " (valise user passwd), or restore the key file from a backup. Nothing changed."
        )


class WorkspaceFileError(StorageError):
    """A workspace file is missing, truncated, damaged or belongs to something else."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{problem} ({path})")
        self.path = path
        self.problem = problem


class NotAWorkspace(WorkspaceFileError):
    """The folder given holds no Valise workspace."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            path,
            "This folder is not a Valise workspace: it has no key file. "
            "Check the path, or create one with 'valise init'",
        )


class WorkspaceExists(WorkspaceFileError):
    """Refuses to create or restore over an existing workspace."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            path,
            "A Valise workspace already exists here; choose another folder or move it away",
        )


class WorkspaceBusy(StorageError):
    """Another Valise process has this workspace open for writing."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"The workspace at {path} is open in another Valise process. "
            "Close it there, then try again."
        )


class SchemaTooNew(StorageError):
    """The database was written by a newer Valise than this one."""

    def __init__(self, found: int, known: int) -> None:
        super().__init__(
            f"This workspace was written by a newer Valise (schema {found}; this version "
            f"knows up to {known}). Install the newer Valise to open it; nothing was changed."
        )


class EvidenceFileError(StorageError):
    """An evidence file to add cannot be read, or a stored one fails its check."""


class IntegrityError(StorageError):
    """Stored data does not match its recorded hash or signature."""


class ThrottledUnlock(StorageError):
    """Too many recent failed unlocks: the caller must wait before trying again."""

    def __init__(self, wait_seconds: float) -> None:
        super().__init__(
            f"Too many failed unlock attempts; wait {wait_seconds:.0f} s before trying again."
        )
        self.wait_seconds = wait_seconds


class RecoveryRefused(StorageError):
    """Paper shares, an escrow or an identity file do not recover this workspace; the
    message says which file and why, and nothing was changed."""
