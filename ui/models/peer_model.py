"""The peers of a workspace as a table model: who they are, what role we gave them, trust.

Peers are few (the offices, liaisons and organisations one exchanges bundles with), so
`refresh()` rereads them whole through `sync.peers.list_peers`, with what their state
allows from `sync.peer_state` (on probation, revoked); the model never runs SQL.
`PeerOriginRole` gives a row's origin, the id that `sync.peers.get_peer` accepts.
"""

from __future__ import annotations

from typing import Any, ClassVar

from PySide6.QtCore import (
    QByteArray,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)

from storage.text_rules import visible
from storage.workspace import Workspace
from sync import peer_state
from sync.peers import Peer, list_peers
from ui.models.headed_table import HeadedTableModel

PeerOriginRole = Qt.ItemDataRole.UserRole + 1
FingerprintRole = Qt.ItemDataRole.UserRole + 2

Index = QModelIndex | QPersistentModelIndex

ROLE_LABELS = {"office": "Office", "liaison": "Liaison", "ngo": "NGO", "defence": "Defence"}
SHORT_GROUPS = 2  # groups of the fingerprint shown in the list; the whole one on demand


def role_label(role: str) -> str:
    """A peer role as a person reads it ("ngo" -> "NGO")."""
    return ROLE_LABELS.get(role, role)


def short_fingerprint(fingerprint: str) -> str:
    """The first groups of a fingerprint: enough to tell peers apart in a list, never
    enough to verify one (that is done with every digit, read aloud)."""
    groups = fingerprint.split()
    if len(groups) <= SHORT_GROUPS:
        return fingerprint
    return " ".join(groups[:SHORT_GROUPS]) + " …"


class PeerModel(HeadedTableModel):
    """Peers of one workspace: Office, Role, Fingerprint, Verified, Added, Revoked.

    Verified reads "No: on probation" for a peer whose fingerprint was never compared
    (nothing is read from or written for it), "No (accepted)" when the office accepts
    unverified peers; Revoked reads "Revoked after N" for a revoked key. The tooltips of
    both say, in a sentence, why nothing is written for the peer.

    `Qt.DisplayRole` gives the text (the fingerprint in its short form; `ToolTipRole` and
    `FingerprintRole` give all of it), `PeerOriginRole` the peer's origin.
    """

    OFFICE, ROLE, FINGERPRINT, VERIFIED, ADDED, REVOKED = range(6)
    HEADERS: ClassVar[tuple[str, ...]] = (
        "Office",
        "Role",
        "Fingerprint",
        "Verified",
        "Added",
        "Revoked",
    )

    def __init__(self, workspace: Workspace, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ws = workspace
        self._rows: list[Peer] = []
        self._refusals: list[str] = []  # why nothing is written for each peer ("" if sent)
        self._accepts_unverified = False
        self._read()

    def _read(self) -> None:
        self._rows = list_peers(self._ws)
        self._refusals = [peer_state.export_refusal(self._ws, p) or "" for p in self._rows]
        self._accepts_unverified = peer_state.accepts_unverified_peers(self._ws)

    def refresh(self) -> None:
        """Reread the peers after one is added, verified or revoked, or the setting for
        unverified peers changed."""
        self.beginResetModel()
        self._read()
        self.endResetModel()

    # -- shape and data ------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """One row per peer; children of a row: none."""
        return 0 if parent.isValid() else len(self._rows)

    def flags(self, index: Index) -> Qt.ItemFlag:
        """Rows are selectable, not editable: trust changes are deliberate actions."""
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemNeverHasChildren
        )

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Text for DisplayRole, fuller text for ToolTipRole, the origin for PeerOriginRole,
        the whole fingerprint for FingerprintRole; None otherwise."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        peer = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(peer, index.column())
        if role == Qt.ItemDataRole.ToolTipRole:
            refusal = self._refusals[index.row()]
            if index.column() == self.FINGERPRINT:
                return peer.fingerprint
            if index.column() == self.VERIFIED and peer.verified:
                return f"Fingerprint compared on {peer.verified_at[:10]}"
            if index.column() in (self.VERIFIED, self.REVOKED) and refusal:
                return visible(refusal)
            return self._text(peer, index.column())
        if role == PeerOriginRole:
            return peer.origin
        if role == FingerprintRole:
            return peer.fingerprint
        return None

    def _text(self, peer: Peer, column: int) -> str | None:
        if column == self.OFFICE:
            return visible(peer.office_name)  # a name from an older Valise, made harmless
        if column == self.ROLE:
            return role_label(peer.role)
        if column == self.FINGERPRINT:
            return short_fingerprint(peer.fingerprint)
        if column == self.VERIFIED:
            if peer.verified:
                return "Yes"
            return "No (accepted)" if self._accepts_unverified else "No: on probation"
        if column == self.ADDED:
            return peer.added_at[:10]
        if column == self.REVOKED:
            return "" if peer.revoked_after is None else f"Revoked after {peer.revoked_after}"
        return None

    def roleNames(self) -> dict[int, QByteArray]:
        """Role names, so the roles are explicit to QML and to accessibility tools too."""
        names = dict(super().roleNames())
        names[PeerOriginRole] = QByteArray(b"peerOrigin")
        names[FingerprintRole] = QByteArray(b"fingerprint")
        return names

    # -- ids -----------------------------------------------------------------------------

    def peer(self, row: int) -> Peer | None:
        """The peer in a row (as read at the last refresh)."""
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, origin: str) -> int:
        """The row of a peer by its origin, or -1."""
        for row, peer in enumerate(self._rows):
            if peer.origin == origin:
                return row
        return -1
