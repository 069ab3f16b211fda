"""Peers: the offices we exchange bundles with, and the deliberate acts of trust about them.

Adding a peer from its contact card shows the card's fingerprint and ours large enough to
read aloud, and asks which role we give it (never the role the card claims). Until a person
compares the fingerprint the peer is on probation (sync.peer_state): its bundles are kept
unread and nothing is written for it. Marking it verified asks for the digits the other
office read out, and refuses any that differ from its card. An office that cannot compare
fingerprints may accept unverified peers with a checkbox here (audited). Revoking a key
(a lost laptop) travels to every peer and counts where this office is an authority
(sync.trust). Each step calls `sync.peers`, `sync.peer_state` or `sync.trust`; files are
chosen through injectable callables so tests and other windows can supply them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, Signal, Slot
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from storage.atomic import atomic_write_bytes
from storage.errors import InvalidInput, StorageError
from storage.regular_files import FileTooLarge, NotARegularFile, read_regular
from storage.text_rules import visible
from storage.workspace import Workspace
from sync import peer_state, peers, trust
from sync.cards import MAX_CARD_BYTES, PEER_ROLES, ContactCard, parse_card
from sync.errors import BadCard
from ui.card_qr import CardQrDialog
from ui.dialogs.form_fields import ask_modally, caption, lay_out_form, reason_line, show_reason
from ui.models.peer_model import PeerModel, role_label
from ui.prompts import Prompts

TITLE = "Peers"
OFFICE_MAX_CHARS = 40  # the widest the office column grows to fit its names
CARD_FILTER = "Valise contact cards (*.card);;All files (*)"
NOT_A_CARD = "it is not a Valise contact card"
DIGITS_PLACEHOLDER = "00000 00000 00000 00000 00000 00000 00000 00000"

OpenChooser = Callable[[QWidget, str], Path | None]
SaveChooser = Callable[[QWidget, str, str], Path | None]
# (parent, card, the role it already has here or None, our fingerprint) -> role or None
RoleAsker = Callable[[QWidget, ContactCard, str | None, str], str | None]
# (parent, peer, our fingerprint) -> the digits typed, matching its card, or None
DigitsAsker = Callable[[QWidget, peers.Peer, str], str | None]


def choose_card_file(parent: QWidget, caption: str) -> Path | None:
    """Ask for a card file to open with the platform's file dialog; None on cancel."""
    name, _ = QFileDialog.getOpenFileName(parent, caption, "", CARD_FILTER)
    return Path(name) if name else None


def choose_card_target(parent: QWidget, caption: str, suggested: str) -> Path | None:
    """Ask where to save our card with the platform's file dialog; None on cancel."""
    name, _ = QFileDialog.getSaveFileName(parent, caption, suggested, CARD_FILTER)
    return Path(name) if name else None


def shown_name(office_name: str) -> str:
    """An office name as the window shows it: control and reordering characters, which a
    name recorded by an older Valise may hold, as visible escapes (storage.text_rules), so
    no name can reorder the fingerprint shown beside it."""
    return visible(office_name)


def fingerprint_font(base: QFont) -> QFont:
    """A monospace font twice the usual size, so digits line up and read aloud easily."""
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setStyleHint(QFont.StyleHint.Monospace)
    font.setFixedPitch(True)
    size = base.pointSizeF() if base.pointSizeF() > 0 else 10.0
    font.setPointSizeF(size * 2)
    return font


def sentence(text: str) -> str:
    """An error message as a sentence: a capital first letter and a full stop."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def load_card(path: Path) -> ContactCard:
    """Read and check a card file; raise BadCard with a sentence that names the file.

    Like `sync.cards.read_card`, but worded for a dialog: the sentence starts with the file
    and leaves out parser details (a person can do nothing with "JSONDecodeError").
    """
    try:
        data = read_regular(path, MAX_CARD_BYTES)  # never a link, pipe or device
    except NotARegularFile as exc:
        if exc.kind == "a folder":
            raise BadCard(
                f"The folder {path} is not a contact card; choose the card file itself."
            ) from None
        raise BadCard(
            f"The file {path} is {exc.kind}, not a contact card; choose the card file itself."
        ) from None
    except FileTooLarge:
        raise BadCard(
            f"The file {path} is too large to be a contact card (a card is under"
            f" {MAX_CARD_BYTES // 1024} KiB)."
        ) from None
    except OSError as exc:
        raise BadCard(f"The file {path} cannot be read: {exc.strerror or exc}.") from None
    if not data.strip():
        raise BadCard(f"The file {path} is empty: it is not a contact card.")
    try:
        return parse_card(data)
    except BadCard as exc:
        reason = str(exc)
        if reason.startswith(NOT_A_CARD):
            reason = NOT_A_CARD  # drop the parser's detail
        raise BadCard(f"The file {path} is not a usable contact card: {reason}.") from None


def _plain_label(name: str, parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setAccessibleName(name)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def large_fingerprint(name: str, digits: str, parent: QWidget) -> QLabel:
    """A fingerprint in large monospace digits, selectable and reachable by keyboard."""
    label = _plain_label(name, parent)
    label.setText(digits)
    label.setAccessibleDescription(digits)
    label.setFont(fingerprint_font(parent.font()))
    label.setTextInteractionFlags(
        Qt.TextInteractionFlag.TextSelectableByMouse
        | Qt.TextInteractionFlag.TextSelectableByKeyboard
    )
    label.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    return label


class AddPeerDialog(QDialog):
    """Shows a parsed contact card (office, fingerprint in large digits) and asks the role
    we give the peer. Nothing is recorded here: the caller adds the peer after `ask`.

    The role starts unchosen: the card's claimed role is only shown, since a forged card
    could claim full trust, and the command line too insists on an explicit role.
    """

    def __init__(
        self,
        card: ContactCard,
        parent: QWidget | None = None,
        known_as: str | None = None,
        our_fingerprint: str = "",
    ) -> None:
        super().__init__(parent)
        self.card = card
        self.setWindowTitle("Add a peer — Valise")
        self.setAccessibleName("Add a peer")
        self.setMinimumWidth(520)

        self.intro_label = intro = _plain_label("About this dialog", self)
        intro.setText(
            f"This card is from {shown_name(card.office_name)}. Anyone can make a card, so"
            f" until you compare fingerprints the peer is on probation: its bundles are kept"
            f" unread and nothing is written for it. Call {shown_name(card.office_name)} (on"
            " a number you know, not one from the card) or meet them, read them our"
            " fingerprint, and have them read you theirs. Once every group matches, mark the"
            " peer as verified with the digits they read."
        )
        self.office_label = _plain_label("Office", self)
        self.office_label.setText(shown_name(card.office_name))
        bold = self.office_label.font()
        bold.setBold(True)
        self.office_label.setFont(bold)
        self.fingerprint_label = large_fingerprint("Fingerprint", card.fingerprint, self)
        self.our_fingerprint_label = large_fingerprint("Our fingerprint", our_fingerprint, self)
        self.claimed_label = _plain_label("Role the card claims", self)
        self.claimed_label.setText(
            f"{role_label(card.role)} (the role it claims; you choose the one you give it)."
            + (
                f" It is already your peer as {role_label(known_as)}; adding it again"
                " changes its role."
                if known_as
                else ""
            )
        )
        self.role_combo = QComboBox(self)
        self.role_combo.setAccessibleName("Role you give this peer")
        self.role_combo.setPlaceholderText("Choose a role…")
        for role in PEER_ROLES:
            self.role_combo.addItem(role_label(role), role)
        self.role_combo.setCurrentIndex(-1)
        self.role_combo.currentIndexChanged.connect(self._update_buttons)

        form = QFormLayout()
        form.addRow("Office:", self.office_label)
        form.addRow("Their fingerprint:", self.fingerprint_label)
        if our_fingerprint:
            form.addRow("Our fingerprint:", self.our_fingerprint_label)
        else:
            self.our_fingerprint_label.hide()
        form.addRow("The card says:", self.claimed_label)
        role_caption = QLabel("&Role you give it:", self)
        role_caption.setBuddy(self.role_combo)
        form.addRow(role_caption, self.role_combo)

        self.buttons = QDialogButtonBox(self)
        self.add_button = self.buttons.addButton(
            "&Add peer", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.add_button.setAccessibleName("Add peer")
        cancel = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAccessibleName("Cancel")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self._update_buttons()
        self.role_combo.setFocus()

    @Slot()
    def _update_buttons(self) -> None:
        self.add_button.setEnabled(self.role() is not None)

    def role(self) -> str | None:
        """The role chosen, or None while none is."""
        data = self.role_combo.currentData()
        return str(data) if data in PEER_ROLES else None

    def set_role(self, role: str) -> None:
        """Choose a role (for callers that know it, and for tests)."""
        self.role_combo.setCurrentIndex(self.role_combo.findData(role))

    def accept(self) -> None:
        """Close only once a role is chosen."""
        if self.role() is not None:
            super().accept()

    @classmethod
    def ask(
        cls,
        parent: QWidget,
        card: ContactCard,
        known_as: str | None = None,
        our_fingerprint: str = "",
    ) -> str | None:
        """Show the card modally; the role chosen, or None when the person cancels."""
        dialog = cls(card, parent, known_as, our_fingerprint)
        try:
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return None
            return dialog.role()
        finally:
            dialog.deleteLater()


class DigitsDialog(QDialog):
    """Asks for the fingerprint digits another office reads out for its card, and closes
    with the accept button only when they are all of the card's. Their fingerprint is not
    shown here: typing what was heard, rather than nodding at digits on the screen, is
    what catches a forged card. Ours is shown, to read to them. Nothing is recorded here:
    the caller acts once the dialog is accepted (`VerifyPeerDialog`, and the Trust view's
    `AuthorityDialog`, say what for)."""

    def __init__(
        self,
        *,
        office_name: str,
        fingerprint: str,
        our_fingerprint: str,
        title: str,
        intro: str,
        accept_text: str,
        refusal: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._fingerprint = fingerprint
        self._refusal = refusal
        name = shown_name(office_name)
        self.setWindowTitle(f"{title} — Valise")
        self.setAccessibleName(title)
        self.setMinimumWidth(560)

        self.intro_label = _plain_label("About this dialog", self)
        read_ours = (
            " Read them our fingerprint below, then have them read you theirs and type its"
            if our_fingerprint
            else " Have them read you their fingerprint and type its"  # we have none yet
        )
        self.intro_label.setText(
            f"{intro}Call {name} on a number you know (not one from the card) or meet them."
            f"{read_ours} digits here. Spaces between the groups do not matter."
        )
        self.our_fingerprint_label = large_fingerprint("Our fingerprint", our_fingerprint, self)
        # On one line, as wide as the field under it: wrapped, the form gave it the height
        # of one line and cut both in half once a reason appeared below (e2e walk).
        self.our_fingerprint_label.setWordWrap(False)
        self.digits_edit = QLineEdit(self)
        self.digits_edit.setAccessibleName(f"Digits {name} read to you")
        self.digits_edit.setPlaceholderText(DIGITS_PLACEHOLDER)
        self.digits_edit.setMaxLength(120)
        self.digits_edit.setFont(fingerprint_font(self.font()))
        # All eight groups in view as they are typed, to compare with what was heard: at
        # the dialog's width the field scrolled, hiding the first groups (e2e walk).
        digit = self.digits_edit.fontMetrics().horizontalAdvance("0")
        self.digits_edit.setMinimumWidth(
            self.digits_edit.fontMetrics().horizontalAdvance(DIGITS_PLACEHOLDER) + 2 * digit
        )
        self.digits_edit.textChanged.connect(self._on_text_changed)
        self.problem_label = reason_line("Problem with the digits", self)

        self.fields = QFormLayout()
        if our_fingerprint:
            self.fields.addRow("Our fingerprint:", self.our_fingerprint_label)
        else:
            self.our_fingerprint_label.hide()
        self.fields.addRow(caption("&Their digits:", self.digits_edit, self), self.digits_edit)
        content = QVBoxLayout()
        content.addWidget(self.intro_label)
        content.addLayout(self.fields)
        content.addWidget(self.problem_label)
        buttons = lay_out_form(self, content, accept_text)
        self.buttons, self.accept_button = buttons.box, buttons.accept
        self._on_text_changed("")
        self.digits_edit.setFocus()

    @Slot(str)
    def _on_text_changed(self, text: str) -> None:
        self.accept_button.setEnabled(bool(text.strip()))
        show_reason(self.problem_label, "", self.digits_edit)

    def digits(self) -> str:
        """The digits as typed."""
        return self.digits_edit.text()

    def problem(self) -> str:
        """Why the digits typed are not the card's ("" when they are)."""
        try:
            given = peers.fingerprint_digits(self.digits())
        except InvalidInput as exc:
            return str(exc).replace(" Nothing was changed.", "")
        return self._refusal if given != self._fingerprint.replace(" ", "") else ""

    def accept(self) -> None:
        """Close only when the digits match the card; otherwise say why and stay."""
        problem = self.problem()
        if problem:
            show_reason(self.problem_label, problem, self.digits_edit)
            self._grow_for_the_reason()
            self.digits_edit.setFocus()
            self.digits_edit.selectAll()
            return
        super().accept()

    def _grow_for_the_reason(self) -> None:
        """Make room for the reason under the field: the dialog's height was set when it
        opened, and the two lines were taken from the fingerprint and the field above,
        both shown cut in half (e2e walk)."""
        layout = self.layout()
        if layout is None:
            return
        needed = layout.totalHeightForWidth(self.width())
        if needed > self.height():
            self.resize(self.width(), needed)


class VerifyPeerDialog(DigitsDialog):
    """Asks for the digits a peer reads out before it is marked as verified."""

    def __init__(
        self, peer: peers.Peer, our_fingerprint: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(
            office_name=peer.office_name,
            fingerprint=peer.fingerprint,
            our_fingerprint=our_fingerprint,
            title="Verify a peer",
            intro="",
            accept_text="&Verify",
            refusal=(
                f"These digits do not match the card of {shown_name(peer.office_name)}:"
                " do not verify it. Ask them to read theirs again, and check you added the"
                " card they sent; if the digits still differ, the card may be forged."
            ),
            parent=parent,
        )
        self.peer = peer
        self.verify_button = self.accept_button

    @classmethod
    def ask(cls, parent: QWidget, peer: peers.Peer, our_fingerprint: str) -> str | None:
        """Ask modally; the matching digits, or None when the person cancels."""
        dialog = cls(peer, our_fingerprint, parent)
        try:
            return ask_modally(dialog, dialog.digits)
        finally:
            dialog.deleteLater()


class PeersView(QWidget):
    """The peers of a workspace with the actions that change whom we trust.

    `peersChanged` is emitted after a peer is added, verified or revoked, or the office's
    acceptance of unverified peers changes, so other views (a share dialog, the export
    menu) can reread. The file choosers, the role question and the digits question are
    injectable; they default to the platform's file dialogs, `AddPeerDialog.ask` and
    `VerifyPeerDialog.ask`.
    """

    peersChanged = Signal()

    def __init__(
        self,
        workspace: Workspace,
        parent: QWidget | None = None,
        *,
        prompts: Prompts | None = None,
        choose_open: OpenChooser = choose_card_file,
        choose_save: SaveChooser = choose_card_target,
        ask_role: RoleAsker = AddPeerDialog.ask,
        ask_digits: DigitsAsker = VerifyPeerDialog.ask,
    ) -> None:
        super().__init__(parent)
        self._ws = workspace
        self._prompts = prompts or Prompts()
        self._choose_open = choose_open
        self._choose_save = choose_save
        self._ask_role = ask_role
        self._ask_digits = ask_digits
        self.setAccessibleName(TITLE)

        self.model = PeerModel(workspace, self)
        self.table = QTableView(self)
        self.setFocusProxy(self.table)  # when docked, the arrows and Enter reach the list
        self.table.setAccessibleName("Peers")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setTabKeyNavigation(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in ((PeerModel.FINGERPRINT, 140), (PeerModel.ADDED, 110)):
            header.resizeSection(column, width)
        self.model.modelReset.connect(self._size_office_column)
        self._size_office_column()

        self.add_button = self._button(
            "&Add a contact card…", "Add a contact card", "Add a peer from its contact card file"
        )
        self.verify_button = self._button(
            "Mark as &verified…",
            "Mark as verified",
            "Type the fingerprint digits the office reads to you; they must match its card",
        )
        self.revoke_button = self._button(
            "&Revoke…", "Revoke", "Refuse this peer's changesets after a number (lost device)"
        )
        self.save_card_button = self._button(
            "Save our car&d…", "Save our card", "Write this office's contact card to a file"
        )
        self.add_button.clicked.connect(self.add_card)
        self.verify_button.clicked.connect(self.verify_selected)
        self.revoke_button.clicked.connect(self.revoke_selected)
        self.save_card_button.clicked.connect(self.save_our_card)
        self.qr_button = self._button(
            "Our card as a &QR code…",
            "Our card as a QR code",
            "Show this office's contact card as a QR code to scan",
        )
        self.qr_button.clicked.connect(self.show_our_card_qr)

        self.accept_unverified_box = QCheckBox(
            "Accept peers whose fingerprint was never co&mpared", self
        )
        self.accept_unverified_box.setAccessibleName("Accept unverified peers")
        self.accept_unverified_box.setToolTip(
            "Off: a peer's bundles are kept unread, and nothing is written for it, until its"
            " fingerprint is compared. Each change is recorded in the audit log."
        )
        self.accept_unverified_box.setChecked(peer_state.accepts_unverified_peers(workspace))
        self.accept_unverified_box.clicked.connect(self.set_accept_unverified)
        self.message_label = _plain_label("Peers message", self)
        self.fingerprint_label = _plain_label("Our fingerprint", self)
        self.fingerprint_label.setText(f"Our fingerprint: {workspace.fingerprint}")

        # The peers' actions above them, ours below beside our fingerprint: in one row
        # the five buttons held the window wider than a small screen.
        buttons = QHBoxLayout()
        for button in (self.add_button, self.verify_button, self.revoke_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        ours = QHBoxLayout()
        ours.addStretch(1)
        ours.addWidget(self.save_card_button)
        ours.addWidget(self.qr_button)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.accept_unverified_box)
        layout.addWidget(self.message_label)
        layout.addWidget(self.fingerprint_label)
        layout.addLayout(ours)

        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        first = self.model.peer(0)
        if first is not None:  # as the persons tab: the buttons act on a peer at once
            self.select_peer(first.origin)
        self._update_buttons()

    def _button(self, text: str, name: str, tip: str) -> QPushButton:
        button = QPushButton(text, self)
        button.setAccessibleName(name)
        button.setToolTip(tip)
        return button

    # -- selection -----------------------------------------------------------------------

    def selected_peer(self) -> peers.Peer | None:
        """The selected peer (as read at the last refresh), if any."""
        rows = self.table.selectionModel().selectedRows()
        return self.model.peer(rows[0].row()) if rows else None

    def select_peer(self, origin: str) -> bool:
        """Select a peer by its origin; False when there is no such peer."""
        row = self.model.row_of(origin)
        if row < 0:
            return False
        index = self.model.index(row, PeerModel.OFFICE)
        self.table.selectionModel().select(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.table.setCurrentIndex(index)
        self.table.scrollTo(index)
        return True

    @Slot(QItemSelection, QItemSelection)
    def _on_selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self._update_buttons()

    def _update_buttons(self) -> None:
        peer = self.selected_peer()
        usable = peer is not None and peer.revoked_after is None
        self.verify_button.setEnabled(usable and peer is not None and not peer.verified)
        self.revoke_button.setEnabled(usable)

    def _size_office_column(self) -> None:
        """The offices' names whole (up to OFFICE_MAX_CHARS): stretched against five
        columns of fixed width, a docked view cut them to "Kabora fiel…"."""
        header = self.table.horizontalHeader()
        widest = self.fontMetrics().averageCharWidth() * OFFICE_MAX_CHARS
        self.table.resizeColumnToContents(PeerModel.OFFICE)
        header.resizeSection(PeerModel.OFFICE, min(header.sectionSize(PeerModel.OFFICE), widest))

    def refresh(self, select: str | None = None) -> None:
        """Reread the peers, keeping (or moving) the selection to a peer by origin."""
        current = self.selected_peer()
        self.model.refresh()
        origin = select or (current.origin if current else None)
        if origin is not None:
            self.select_peer(origin)
        self._update_buttons()

    def _changed(self, origin: str, message: str) -> None:
        self.refresh(select=origin)
        self.message_label.setText(message)
        self.peersChanged.emit()

    # -- actions -------------------------------------------------------------------------

    def _attempt(self, title: str, change: Callable[[], object]) -> bool:
        """Make a change; a refusal is shown as a sentence and a bug reported with details.
        True when it was made."""
        try:
            change()
        except StorageError as exc:
            self._prompts.warn(self, title, sentence(str(exc)))
            return False
        except Exception as exc:
            self._prompts.report_bug(self, title, exc)
            return False
        return True

    @Slot()
    def add_card(self) -> None:
        """Read a card file, show its fingerprint and ask the role; only then add the peer."""
        title = "Add a contact card"
        path = self._choose_open(self, "Open a contact card")
        if path is None:
            return
        try:
            card = load_card(path)
        except BadCard as exc:
            self._prompts.warn(
                self, title, f"{exc} Ask the office for its contact card file again."
            )
            return
        except Exception as exc:  # a bug: logged and shown with copyable details
            self._prompts.report_bug(self, title, exc)
            return
        if card.origin == self._ws.origin:
            self._prompts.warn(
                self,
                title,
                "That is this office's own contact card. Choose the card another office sent.",
            )
            return
        try:
            known = peers.peer_by_origin(self._ws, card.origin)
            role = self._ask_role(self, card, known.role if known else None, self._ws.fingerprint)
            if role is None:
                return  # a cancel is silent
            peer = peers.add_peer(self._ws, card, role)
        except StorageError as exc:
            self._prompts.warn(self, title, sentence(str(exc)))
            return
        except Exception as exc:
            self._prompts.report_bug(self, title, exc)
            return
        self._changed(
            peer.origin,
            f"Added {shown_name(peer.office_name)} as {role_label(peer.role)}. Compare its"
            f" fingerprint with the one {shown_name(peer.office_name)} reads to you, then mark"
            " it as verified.",
        )

    @Slot()
    def verify_selected(self) -> None:
        """Ask for the digits the office reads out; record the peer as verified only when
        they match its card (its bundles kept meanwhile are read at the next import)."""
        title = "Mark as verified"
        peer = self.selected_peer()
        if peer is None:
            return
        digits = self._ask_digits(self, peer, self._ws.fingerprint)
        if digits is None:
            return  # a cancel is silent
        if not self._attempt(title, lambda: peers.verify_peer(self._ws, peer, digits)):
            return
        self._changed(
            peer.origin,
            f"{shown_name(peer.office_name)} is marked as verified: its bundles are read and"
            " bundles are written for it (those it sent before are read at the next import"
            " or sync).",
        )

    @Slot(bool)
    def set_accept_unverified(self, accept: bool) -> None:
        """Turn the acceptance of unverified peers on (after a warning) or off; the change
        is recorded in the audit log, and the box shows what is stored."""
        title = "Accept unverified peers"
        if accept and not self._prompts.confirm(
            self,
            title,
            "Accept peers whose fingerprint was never compared? Their bundles will be read"
            " and bundles written for them, so a forged card would be trusted like a real"
            " one. Compare fingerprints whenever you can.\n\nAccept unverified peers?",
        ):
            self.accept_unverified_box.setChecked(False)
            return
        self._attempt(title, lambda: peer_state.set_accept_unverified_peers(self._ws, accept))
        stored = peer_state.accepts_unverified_peers(self._ws)
        self.accept_unverified_box.setChecked(stored)
        self.refresh()
        self.message_label.setText(
            "This office accepts unverified peers: their bundles are read and bundles are"
            " written for them. The change is recorded in the audit log."
            if stored
            else "Peers whose fingerprint was never compared are on probation: their bundles"
            " are kept unread and nothing is written for them. The change is recorded in the"
            " audit log."
        )
        self.peersChanged.emit()

    @Slot()
    def revoke_selected(self) -> None:
        """Revoke the selected peer's key after a changeset number, once warned that it is
        permanent; the statement reaches every peer with the next bundles."""
        title = "Revoke a key"
        peer = self.selected_peer()
        if peer is None:
            return
        try:
            _, newest = trust.last_seq_of(self._ws, peer.origin)
        except Exception as exc:
            self._prompts.report_bug(self, title, exc)
            return
        answer = self._prompts.ask_text(
            self,
            title,
            f"Refuse the changesets of {shown_name(peer.office_name)} signed after which"
            " number? Those up to and including it stay valid. The newest held here is"
            f" {newest}.",
            str(newest),
        )
        if answer is None:
            return
        try:
            after = int(answer.strip())
        except ValueError:
            after = -1
        if after < 0:
            self._prompts.warn(
                self,
                title,
                f"{answer.strip() or 'Nothing'} is not a changeset number: type a whole"
                " number, 0 or more. Nothing was changed.",
            )
            return
        reason = self._prompts.ask_text(
            self, title, "Why is the key revoked? (for the record, e.g. laptop stolen)"
        )
        if reason is None:
            return
        if not self._prompts.confirm(
            self,
            title,
            f"Revoking the key of {shown_name(peer.office_name)} is permanent until this office"
            f" retracts it. Changesets it signed after number {after} will be refused here and,"
            " once the next bundles arrive, at the offices that name this one as an authority"
            " (elsewhere it is an advisory for a person there to confirm).\n\nRevoke the key?",
        ):
            return
        try:
            trust.revoke_peer(self._ws, peer, after, reason.strip())
        except StorageError as exc:
            self._prompts.warn(self, title, sentence(str(exc)))
            return
        except Exception as exc:
            self._prompts.report_bug(self, title, exc)
            return
        self._changed(
            peer.origin,
            f"The key of {shown_name(peer.office_name)} is revoked after its changeset {after} (the"
            f" newest held here is {newest}).",
        )

    @Slot()
    def show_our_card_qr(self) -> CardQrDialog:
        """Show our card as a QR code (non-modal); the dialog, for tests."""
        dialog = CardQrDialog(
            peers.card_bytes(self._ws), self._ws.office_name, self._ws.fingerprint, self
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    @Slot()
    def save_our_card(self) -> None:
        """Write this office's contact card to a file chosen by the person."""
        title = "Save our card"
        slug = re.sub(r"[^A-Za-z0-9]+", "-", self._ws.office_name).strip("-").lower()
        path = self._choose_save(self, "Save our contact card", f"{slug or 'valise'}.card")
        if path is None:
            return
        try:
            data = peers.card_bytes(self._ws)
            atomic_write_bytes(path, data, 0o644)
        except OSError as exc:
            self._prompts.warn(
                self,
                title,
                f"Cannot write {path}: {exc.strerror or exc}. Choose another folder or name.",
            )
            return
        except StorageError as exc:
            self._prompts.warn(self, title, sentence(str(exc)))
            return
        except Exception as exc:
            self._prompts.report_bug(self, title, exc)
            return
        try:
            self._ws.record("contact card written", "", {"file": path.name})
        except Exception as exc:
            self._prompts.report_bug(self, title, exc)
        self.message_label.setText(
            f"Saved the contact card of {self._ws.office_name} to {path}. Read this"
            f" fingerprint to the office that adds it: {self._ws.fingerprint}"
        )
