"""A case's overview: its editable fields, what it holds, and the peers it is shared with.

Fields are edited in place and saved together through `storage.cases.update_case` (the one
write path the command line uses too); only fields that differ from the stored case are
sent, so a save makes one small signed changeset. Storage refuses bad values (an unknown
status or category, an unreadable date) and the refusal is shown as a sentence. Sharing
goes through `sync.peers.share_case` / `unshare_case`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from storage import queries
from storage.cases import update_case
from storage.entities import ACT_TYPES, CASE_STATUSES
from storage.errors import StorageError
from storage.records import Case, CaseId
from storage.workspace import Workspace
from sync import peers
from sync.releases import what_role_receives
from ui.models.peer_model import role_label
from ui.peers_view import sentence
from ui.prompts import Prompts
from ui.tasks import TaskRunner

TITLE = "Case overview"
EDITABLE = ("title", "summary", "status", "categories", "jurisdiction", "location", "opened_on")

PeerChooser = Callable[[QWidget, Sequence[peers.Peer]], peers.Peer | None]


def shared_with(ws: Workspace, case_id: CaseId) -> list[peers.Peer]:
    """The peers a case is shared with."""
    return peers.shared_with(ws, case_id)


def status_label(status: str) -> str:
    """A case status as a person reads it ("under review" -> "Under review")."""
    return status.capitalize()


class ChoosePeerDialog(QDialog):
    """Asks which peer to share a case with; nothing is recorded here."""

    def __init__(self, candidates: Sequence[peers.Peer], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Share the case — Valise")
        self.setAccessibleName("Share the case")
        self.setMinimumWidth(480)  # what the peer will receive reads as a paragraph
        intro = QLabel(
            "The next bundle for the peer you choose carries this case as that peer's role"
            " allows: what it will and will not receive is said below.",
            self,
        )
        intro.setTextFormat(Qt.TextFormat.PlainText)
        intro.setWordWrap(True)
        self.receives_label = _plain_label("What the peer will receive", self)
        self.withheld_label = _plain_label("What the peer will not receive", self)
        self.peer_combo = QComboBox(self)
        self.peer_combo.setAccessibleName("Peer to share with")
        self.peer_combo.setPlaceholderText("Choose a peer…")
        for peer in candidates:
            self.peer_combo.addItem(f"{peer.office_name} ({role_label(peer.role)})", peer.origin)
        self.peer_combo.setCurrentIndex(-1)
        self.peer_combo.currentIndexChanged.connect(self._update_buttons)
        self._candidates = {peer.origin: peer for peer in candidates}
        caption = QLabel("&Peer:", self)
        caption.setBuddy(self.peer_combo)
        form = QFormLayout()
        form.addRow(caption, self.peer_combo)
        self.buttons = QDialogButtonBox(self)
        self.share_button = self.buttons.addButton("&Share", QDialogButtonBox.ButtonRole.AcceptRole)
        self.share_button.setAccessibleName("Share")
        cancel = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAccessibleName("Cancel")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.receives_label)
        layout.addWidget(self.withheld_label)
        layout.addWidget(self.buttons)
        self._update_buttons()
        self.peer_combo.setFocus()

    @Slot()
    def _update_buttons(self) -> None:
        self.share_button.setEnabled(self.peer_combo.currentIndex() >= 0)
        peer = self.peer()
        will, will_not = what_role_receives(peer.role) if peer else ("", "")
        self.receives_label.setText(f"Will receive: {will}" if will else "")
        self.withheld_label.setText(f"Will not receive: {will_not}" if will_not else "")

    def set_peer(self, origin: str) -> None:
        """Choose a peer by origin (as a person would in the list)."""
        self.peer_combo.setCurrentIndex(self.peer_combo.findData(origin))

    def peer(self) -> peers.Peer | None:
        """The chosen peer, if any."""
        origin = self.peer_combo.currentData()
        return self._candidates.get(origin) if isinstance(origin, str) else None

    @classmethod
    def ask(cls, parent: QWidget, candidates: Sequence[peers.Peer]) -> peers.Peer | None:
        """Show the dialog modally; the chosen peer, or None on cancel."""
        dialog = cls(candidates, parent)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.peer()


def _plain_label(name: str, parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setAccessibleName(name)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class OverviewTab(QWidget):
    """The fields of one case with Save and Revert, its counts, and its sharing.

    `changed()` is emitted after a save, a share or an unshare. `choose_peer` is the
    question "which peer?" (the real dialog by default; tests put their own answer here).
    """

    changed = Signal()

    def __init__(
        self,
        workspace: Workspace,
        case_id: CaseId,
        *,
        prompts: Prompts,
        runner: TaskRunner,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._ws = workspace
        self._case_id = case_id
        self._prompts = prompts
        self._runner = runner  # reads and edits here are small: done on the GUI thread
        self.choose_peer: PeerChooser = ChoosePeerDialog.ask
        self.case: Case = queries.get(workspace.conn, Case, case_id)
        self.setAccessibleName(TITLE)

        self.title_edit = QLineEdit(self)
        self.title_edit.setAccessibleName("Title")
        self.status_combo = QComboBox(self)
        self.status_combo.setAccessibleName("Status")
        for status in CASE_STATUSES:
            self.status_combo.addItem(status_label(status), status)
        self.summary_edit = QPlainTextEdit(self)
        self.summary_edit.setAccessibleName("Summary")
        self.summary_edit.setTabChangesFocus(True)  # Tab moves on, it does not get stuck here
        self.summary_edit.setMaximumHeight(120)
        self.categories_edit = QLineEdit(self)
        self.categories_edit.setAccessibleName("Crime categories")
        self.categories_edit.setPlaceholderText("comma-separated, e.g. killing, pillage")
        self.categories_edit.setToolTip("Any of: " + ", ".join(ACT_TYPES))
        self.jurisdiction_edit = QLineEdit(self)
        self.jurisdiction_edit.setAccessibleName("Jurisdiction")
        self.location_edit = QLineEdit(self)
        self.location_edit.setAccessibleName("Location")
        self.opened_edit = QLineEdit(self)
        self.opened_edit.setAccessibleName("Opened on")
        self.opened_edit.setPlaceholderText("e.g. 2027-03-15 or 2027-03")
        self.lead_label = _plain_label("Lead office", self)

        form = QFormLayout()
        for text, widget in (
            ("T&itle:", self.title_edit),
            ("St&atus:", self.status_combo),
            ("Su&mmary:", self.summary_edit),
            ("&Categories:", self.categories_edit),
            ("&Jurisdiction:", self.jurisdiction_edit),
            ("&Location:", self.location_edit),
            ("Opened o&n:", self.opened_edit),
        ):
            caption = QLabel(text, self)
            caption.setBuddy(widget)
            form.addRow(caption, widget)
        form.addRow("Lead office:", self.lead_label)

        self.save_button = QPushButton("Sa&ve", self)
        self.save_button.setAccessibleName("Save the case")
        self.save_button.setToolTip("Record the changed fields (a signed change)")
        self.save_button.clicked.connect(self.save)
        self.revert_button = QPushButton("&Revert", self)
        self.revert_button.setAccessibleName("Revert the changes")
        self.revert_button.setToolTip("Show the stored values again")
        self.revert_button.clicked.connect(self.revert)
        edit_buttons = QHBoxLayout()
        edit_buttons.addStretch(1)
        edit_buttons.addWidget(self.revert_button)
        edit_buttons.addWidget(self.save_button)

        self.counts_label = _plain_label("What the case holds", self)
        self.message_label = _plain_label("Message", self)

        self.shares_list = QListWidget(self)
        self.shares_list.setAccessibleName("Peers this case is shared with")
        self.shares_list.setMaximumHeight(110)
        self.shares_list.currentRowChanged.connect(self._update_buttons)
        self.share_button = QPushButton("S&hare…", self)
        self.share_button.setAccessibleName("Share the case with a peer")
        self.share_button.clicked.connect(self.share)
        self.unshare_button = QPushButton("Unshar&e", self)
        self.unshare_button.setAccessibleName("Stop sharing with the selected peer")
        self.unshare_button.clicked.connect(self.unshare_selected)
        share_buttons = QVBoxLayout()
        share_buttons.addWidget(self.share_button)
        share_buttons.addWidget(self.unshare_button)
        share_buttons.addStretch(1)
        shares = QGroupBox("Shared with", self)
        shares.setAccessibleName("Shared with")
        shares_layout = QHBoxLayout(shares)
        shares_layout.addWidget(self.shares_list, 1)
        shares_layout.addLayout(share_buttons)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(edit_buttons)
        layout.addWidget(self.message_label)
        layout.addWidget(self.counts_label)
        layout.addWidget(shares)
        layout.addStretch(1)

        for line in (
            self.title_edit,
            self.categories_edit,
            self.jurisdiction_edit,
            self.location_edit,
            self.opened_edit,
        ):
            line.textChanged.connect(self._update_buttons)
        self.summary_edit.textChanged.connect(self._update_buttons)
        self.status_combo.currentIndexChanged.connect(self._update_buttons)

        self._shared: list[peers.Peer] = []
        self._show_case()
        self._show_counts_and_shares()

    # -- fields --------------------------------------------------------------------------

    def values(self) -> dict[str, str]:
        """The fields as they stand in the form."""
        status = self.status_combo.currentData()
        return {
            "title": self.title_edit.text(),
            "summary": self.summary_edit.toPlainText(),
            "status": status if isinstance(status, str) else self.case.status,
            "categories": self.categories_edit.text(),
            "jurisdiction": self.jurisdiction_edit.text(),
            "location": self.location_edit.text(),
            "opened_on": self.opened_edit.text(),
        }

    def changes(self) -> dict[str, str]:
        """The fields that differ from the stored case."""
        return {
            name: value
            for name, value in self.values().items()
            if value != str(getattr(self.case, name))
        }

    def is_dirty(self) -> bool:
        """True when the form holds edits not saved yet."""
        return bool(self.changes())

    def _show_case(self) -> None:
        case = self.case
        self.title_edit.setText(case.title)
        self.summary_edit.setPlainText(case.summary)
        row = self.status_combo.findData(case.status)
        if row < 0:  # a value from a newer version: shown, not lost
            self.status_combo.addItem(status_label(case.status), case.status)
            row = self.status_combo.count() - 1
        self.status_combo.setCurrentIndex(row)
        self.categories_edit.setText(case.categories)
        self.jurisdiction_edit.setText(case.jurisdiction)
        self.location_edit.setText(case.location)
        self.opened_edit.setText(case.opened_on)
        self.lead_label.setText(case.lead_office)
        self._update_buttons()

    def _show_counts_and_shares(self) -> None:
        counts = queries.case_counts(self._ws.conn, self._case_id)
        self.counts_label.setText(
            f"Persons: {counts['persons']}    Incidents: {counts['incidents']}    Evidence"
            f" items: {counts['evidence']}    Notes: {counts['notes']}    Legal elements:"
            f" {counts['elements']}"
        )
        self._shared = shared_with(self._ws, self._case_id)
        self.shares_list.clear()
        for peer in self._shared:
            item = QListWidgetItem(f"{peer.office_name} ({role_label(peer.role)})")
            item.setData(Qt.ItemDataRole.UserRole, peer.origin)
            self.shares_list.addItem(item)
        if not self._shared:
            self.shares_list.setToolTip("Not shared with any peer: it stays in this office.")
        else:
            self.shares_list.setToolTip("")
            self.shares_list.setCurrentRow(0)
        self._update_buttons()

    def shared_peers(self) -> list[peers.Peer]:
        """The peers the case is shared with, as shown."""
        return list(self._shared)

    @Slot()
    def _update_buttons(self) -> None:
        dirty = self.is_dirty()
        self.save_button.setEnabled(dirty)
        self.revert_button.setEnabled(dirty)
        self.unshare_button.setEnabled(self.shares_list.currentRow() >= 0)

    def refresh(self) -> None:
        """Reread the case, its counts and its shares. Edits not saved yet are kept (and
        said so): an import must not wipe what someone is typing."""
        self.case = queries.get(self._ws.conn, Case, self._case_id)
        if self.is_dirty():
            self.message_label.setText(
                "Your changes are not saved yet. Revert shows the values stored now."
            )
            self._update_buttons()
        else:
            self._show_case()
        self._show_counts_and_shares()

    # -- actions -------------------------------------------------------------------------

    @Slot()
    def revert(self) -> None:
        """Drop the edits and show the stored values."""
        self.case = queries.get(self._ws.conn, Case, self._case_id)
        self._show_case()
        self.message_label.setText("")

    @Slot()
    def save(self) -> None:
        """Record the changed fields; a refusal is a sentence and nothing is saved."""
        changes = self.changes()
        if not changes:
            return
        try:
            update_case(self._ws, self._case_id, **changes)
        except StorageError as exc:  # InvalidInput and friends: said for a person
            self._prompts.warn(
                self,
                TITLE,
                f"{sentence(str(exc))} Correct it and save again; nothing was saved.",
            )
            return
        except Exception as exc:  # a bug: logged and shown with copyable details
            self._prompts.report_bug(self, TITLE, exc)
            return
        self.case = queries.get(self._ws.conn, Case, self._case_id)
        self._show_case()
        self.message_label.setText("Saved.")
        self.changed.emit()

    @Slot()
    def share(self) -> None:
        """Ask which peer (of those not revoked and not already sharing it), then share."""
        title = "Share the case"
        try:
            shared = {peer.origin for peer in shared_with(self._ws, self._case_id)}
            candidates = [
                peer
                for peer in peers.list_peers(self._ws)
                if peer.revoked_after is None and peer.origin not in shared
            ]
        except Exception as exc:
            self._prompts.report_bug(self, title, exc)
            return
        if not candidates:
            self._prompts.inform(
                self,
                title,
                "There is no other peer to share this case with. Add the office's contact"
                " card under Peers first.",
            )
            return
        peer = self.choose_peer(self, candidates)
        if peer is None:
            return  # a cancel is silent
        try:
            peers.share_case(self._ws, self._case_id, peer)
        except StorageError as exc:
            self._prompts.warn(self, title, sentence(str(exc)))
            return
        except Exception as exc:
            self._prompts.report_bug(self, title, exc)
            return
        self._show_counts_and_shares()
        self.message_label.setText(
            f"Shared with {peer.office_name}: the next bundle for it carries this case."
        )
        self.changed.emit()

    @Slot()
    def unshare_selected(self) -> None:
        """Stop sending the case to the selected peer, once confirmed."""
        title = "Stop sharing"
        row = self.shares_list.currentRow()
        if not 0 <= row < len(self._shared):
            return
        peer = self._shared[row]
        if not self._prompts.confirm(
            self,
            title,
            f"Stop sending this case to {peer.office_name}? What it already received"
            " stays with it.",
        ):
            return
        try:
            peers.unshare_case(self._ws, self._case_id, peer)
        except StorageError as exc:
            self._prompts.warn(self, title, sentence(str(exc)))
            return
        except Exception as exc:
            self._prompts.report_bug(self, title, exc)
            return
        self._show_counts_and_shares()
        self.message_label.setText(f"No longer shared with {peer.office_name}.")
        self.changed.emit()
