"""Errors of sync, each worded for the person who will read it."""

from __future__ import annotations

from typing import Any

from storage.errors import StorageError


class SyncError(StorageError):
    """Base of every sync failure; its message is a sentence for a person."""


class BadCard(SyncError):
    """A contact card is damaged, forged or not a card at all."""


class UnknownPeer(SyncError):
    """No peer matches the id given."""


class BundleRefused(SyncError):
    """A bundle failed verification; nothing of it was applied. `reason` is a short code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class NotForUs(SyncError):
    """A bundle is addressed to other installations (we keep it for forwarding)."""


class TransferFailed(SyncError):
    """Reading from the stick or writing to the workspace failed part-way (a stick pulled
    out, a full disk); nothing was applied, and the bundle itself may be fine."""


class OurOwn(SyncError):
    """A bundle this installation wrote (we are among its recipients so we can inspect it)."""


class BundleParked(SyncError):
    """A bundle cannot be read yet (its sender's card is missing, or nobody compared its
    sender's fingerprint); it is to be kept. `manifest` is its decrypted, self-signed
    manifest: it names the parts to keep. `reason` is a short code: "unknown signer" or
    "unverified sender"."""

    def __init__(
        self, message: str, manifest: dict[str, Any] | None = None, reason: str = "unknown signer"
    ) -> None:
        super().__init__(message)
        self.manifest = manifest
        self.reason = reason
