"""Revocations and retractions of keys held here (sync.trust), as a table for people: whose
key, what it amounts to here, who signed it, after which of its changes nothing counts,
why, and when the signer says it signed it. Advisories waiting for a decision come first.

Each row also carries the sentence that says it all in words (`Revocation.sentence`),
with both parties named by the office on their card and the start of its fingerprint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt

from storage import key_trust
from storage.signers import Signer, Signers
from storage.text_rules import one_line, visible
from storage.workspace import Workspace
from sync import trust
from ui.models.headed_table import HeadedTableModel
from ui.models.incoming_model import received, tooltip

Index = QModelIndex | QPersistentModelIndex

# What a statement amounts to here, in words (sync.trust.RevocationEntry.status).
STATUS_WORDS = {
    key_trust.ADVISORY: "Waits for your decision",
    key_trust.EFFECTIVE: "In effect",
    key_trust.RETRACTED: "Retracted",
    "confirmed": "Confirmed by this office",
    "dismissed": "Set aside",
    key_trust.NOT_HONOURED: "Not honoured",
    key_trust.IGNORED: "Counts for nothing here",
}

# What a retraction amounts to here, in words.
RETRACTION_WORDS = {
    key_trust.EFFECTIVE: "in effect",
    key_trust.ADVISORY: "not counted, its signer is no authority here",
    key_trust.NOT_HONOURED: "not honoured",
}


def party_name(party: Signer, claimed: str = "") -> str:
    """A party as a table cell names it, short: "Kabora field office (office)"; the
    fingerprint is in the row's sentence and tooltip."""
    if not party.known:
        return party_text(party, claimed)
    role = "this office" if party.own else party.role
    return visible(f"{party.office} ({role})" if role else party.office)


def party_text(party: Signer, claimed: str = "") -> str:
    """A party as sentences name it: "Kabora field office (office, 40281 11902…)"; an
    origin of which no card is held here says so, with the name it gives itself only as
    a claim."""
    if party.known:
        return visible(party.label)
    claim = f", calling itself “{visible(one_line(claimed, 60))}”" if claimed else ""
    return f"an unknown office ({party.origin[:12]}…{claim}; no contact card here)"


@dataclass(frozen=True)
class Revocation:
    """One row: the statement as sync.trust lists it, and both parties as known here."""

    entry: trust.RevocationEntry
    subject: Signer
    signer: Signer
    claimed_office: str  # the office name the statement gives its subject (a claim)

    @property
    def is_advisory(self) -> bool:
        """A revocation by someone who is no authority here, waiting for a decision."""
        return self.entry.kind == key_trust.REVOKE and self.entry.status == key_trust.ADVISORY

    @property
    def confirmable(self) -> bool:
        """An advisory this office may confirm: never one about this office's own key
        (sync.trust refuses it: it would revoke the key this office signs with)."""
        return self.is_advisory and not self.subject.own

    @property
    def retractable(self) -> bool:
        """A revocation this office signed that is in effect: this office may retract it
        (it counts here, and where this office is named as an authority)."""
        return (
            self.entry.kind == key_trust.REVOKE
            and self.entry.status == key_trust.EFFECTIVE
            and self.signer.own
        )

    @property
    def subject_text(self) -> str:
        """Whose key the statement is about."""
        return party_text(self.subject, self.claimed_office)

    @property
    def signer_text(self) -> str:
        """Who signed the statement."""
        return party_text(self.signer)

    @property
    def accepted_up_to(self) -> str:
        """The subject's last change that still counts ("" for retractions)."""
        if self.entry.kind != key_trust.REVOKE:
            return ""
        seq = self.entry.point[1]
        return "none of its changes" if seq == 0 else f"its change {seq}"

    @property
    def refused_changes(self) -> str:
        """The subject's changes a revocation refuses: "its changes after its change 4"."""
        seq = self.entry.point[1]
        return "all its changes" if seq == 0 else f"its changes after its change {seq}"

    @property
    def status_text(self) -> str:
        """What the statement amounts to here, in words."""
        if self.entry.kind == key_trust.RETRACT:
            words = RETRACTION_WORDS.get(self.entry.status, "counts for nothing here")
            return f"Retraction of {self.entry.retracts}: {words}"
        return STATUS_WORDS.get(self.entry.status, self.entry.status)

    @property
    def sentence(self) -> str:
        """The statement and what it amounts to here, in words, then the reason given."""
        reason = f" Reason given: “{visible(self.entry.reason)}”." if self.entry.reason else ""
        return self._meaning() + reason

    def _meaning(self) -> str:
        e, subject, signer = self.entry, self.subject_text, self.signer_text
        if e.kind == key_trust.RETRACT:
            return (
                f"{signer} withdrew the revocation {e.retracts} of the key of {subject}."
                f" {_retraction_outcome(e.status)}"
            )
        point = self.entry.point[1]
        after = "" if point == 0 else f" after its change {point}"
        if e.status == key_trust.ADVISORY and self.subject.own:
            return (
                f"{signer} says this office's own key ({subject}) is lost or compromised."
                f" {self.signer.name} is not an authority here, so this changes nothing. It"
                " cannot be confirmed here: if this office's key really was lost or copied,"
                " call the tribunal liaison and replace the key (`valise identity rotate`);"
                " otherwise dismiss it."
            )
        if e.status == key_trust.ADVISORY:
            return (
                f"{signer} says the key of {subject} is lost or compromised, and that nothing"
                f" it signed{after} should be accepted. {self.signer.name} is not an authority"
                " here, so this changes nothing until you decide: Confirm signs the same"
                " revocation as this office; Dismiss sets it aside."
            )
        if e.status == key_trust.EFFECTIVE:
            by = "its holder" if e.signer == e.subject else signer
            return (
                f"The key of {subject} is revoked by {by}: nothing it signed{after} is"
                " accepted here, and nothing is sent to that key any more."
            )
        if e.status == key_trust.RETRACTED:
            return (
                f"{signer} revoked the key of {subject}; the revocation was retracted by"
                f" {e.retracted_by} and counts no more."
            )
        if e.status == "confirmed":
            return (
                f"{signer} said the key of {subject} is lost or compromised. This office"
                " confirmed it and signed the same revocation."
            )
        if e.status == "dismissed":
            return (
                f"{signer} said the key of {subject} is lost or compromised. It was set aside"
                " here and changes nothing."
            )
        return f"{signer} revoked the key of {subject}; it counts for nothing here."


def _retraction_outcome(status: str) -> str:
    if status == key_trust.EFFECTIVE:
        return "The revocation counts no more here."
    if status == key_trust.ADVISORY:
        return "Its signer is no authority here, so it changes nothing here."
    if status == key_trust.NOT_HONOURED:
        return "Its signer's own key was revoked before it signed this, so it counts for nothing."
    return "It counts for nothing here."


def load_revocations(ws: Workspace) -> list[Revocation]:
    """Every revocation and retraction held here, advisories waiting first."""
    signers = Signers(ws.conn)
    claimed = {
        s.ref: s.office_name
        for s in key_trust.key_statements(ws.conn)
        if s.kind in (key_trust.REVOKE, key_trust.RETRACT)
    }
    return [
        Revocation(
            entry,
            trust.party(ws, signers, entry.subject),
            trust.party(ws, signers, entry.signer),
            claimed.get(entry.statement_id, ""),
        )
        for entry in trust.revocation_entries(ws)
    ]


class RevocationModel(HeadedTableModel):
    """The revocations held here, advisories waiting first (a few rows: read whole).

    `DisplayRole` gives the text of each cell (offices by name and role), `ToolTipRole`
    the whole sentence of the row, with both fingerprints, on every cell.
    """

    KEY_OF, STATUS, SIGNED_BY, ACCEPTED_UP_TO, SIGNED, REASON = range(6)
    HEADERS: ClassVar[tuple[str, ...]] = (
        "Key of",
        "Here",
        "Signed by",
        "Accepted up to",
        "Signed (UTC)",
        "Reason",
    )

    def __init__(self, workspace: Workspace, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ws = workspace
        self._rows = load_revocations(workspace)

    def refresh(self) -> None:
        """Reread every statement (after a decision or an import)."""
        self.beginResetModel()
        self._rows = load_revocations(self._ws)
        self.endResetModel()

    @property
    def waiting(self) -> int:
        """How many advisories wait for a decision."""
        return sum(1 for row in self._rows if row.is_advisory)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """One row per statement."""
        return 0 if parent.isValid() else len(self._rows)

    def revocation(self, row: int) -> Revocation | None:
        """The statement shown in `row`, or None outside the rows."""
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, statement_id: str) -> int:
        """The row of a statement by its full id; -1 when it is not listed."""
        for row, shown in enumerate(self._rows):
            if shown.entry.statement_id == statement_id:
                return row
        return -1

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Cell texts, and the row's sentence as every cell's tooltip."""
        shown = self.revocation(index.row()) if index.isValid() else None
        if shown is None or not 0 <= index.column() < len(self.HEADERS):
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            return tooltip(shown.sentence)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        return (
            party_name(shown.subject, shown.claimed_office),
            shown.status_text,
            party_name(shown.signer),
            shown.accepted_up_to,
            received(shown.entry.signed_at) if shown.entry.signed_at else "",
            visible(shown.entry.reason),
        )[index.column()]
