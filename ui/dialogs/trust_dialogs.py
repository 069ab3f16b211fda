"""The two questions the Trust view asks: "do this to a revocation?" and "name this key as an
authority?". Neither records anything: the view acts through sync.trust once a dialog is
accepted.

`DecisionDialog` says what confirming, dismissing or retracting will do, in a sentence,
and for a retraction takes a reason (checked as storage will). `AuthorityDialog` follows
the Verify a peer dialog: our fingerprint large, to read to the authority, and the digits
the authority reads back typed in, never shown from the card, so a forged card is caught
by a person comparing rather than nodding at digits on the screen. It closes only when the
digits are all of the card's.
"""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QDialog, QFormLayout, QLineEdit, QVBoxLayout, QWidget

from storage.errors import InvalidInput, StorageError
from sync import peers, trust
from sync.cards import ContactCard
from ui.dialogs._common import message_label
from ui.dialogs.form_fields import (
    ask_modally,
    caption,
    judge_accept,
    lay_out_form,
    reason_line,
    show_reason,
    text_problem,
)
from ui.peers_view import fingerprint_font, large_fingerprint, shown_name

DIGITS_PLACEHOLDER = "00000 00000 00000 00000 00000 00000 00000 00000"


class DecisionDialog(QDialog):
    """States what an action on a revocation will do and asks to go ahead; with
    `with_reason`, also takes the reason recorded with it (optional, one line)."""

    def __init__(
        self,
        title: str,
        text: str,
        accept_text: str,
        parent: QWidget | None = None,
        *,
        with_reason: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{title} — Valise")
        self.setAccessibleName(title)
        self.setMinimumWidth(520)
        self.text_label = message_label("What this will do", self)
        self.text_label.setText(text)
        content = QVBoxLayout()
        content.addWidget(self.text_label)
        self.reason_edit = QLineEdit(self)
        self.reason_edit.setAccessibleName("Reason")
        self.reason_edit.setPlaceholderText("e.g. the laptop was found and checked")
        self.problem_label = reason_line("Problem with the reason", self)
        if with_reason:
            fields = QFormLayout()
            fields.addRow(
                caption("&Reason (for the record):", self.reason_edit, self), self.reason_edit
            )
            content.addLayout(fields)
            content.addWidget(self.problem_label)
            self.reason_edit.textChanged.connect(self._judge)
        else:
            self.reason_edit.hide()
        buttons = lay_out_form(self, content, accept_text)
        self.buttons, self.accept_button, self.cancel_button = buttons
        # Going ahead is a deliberate click or Alt+key: Enter alone does not sign.
        self.accept_button.setAutoDefault(False)
        self.cancel_button.setDefault(True)
        (self.reason_edit if with_reason else self.cancel_button).setFocus()

    def reason(self) -> str:
        """The reason as typed, one line."""
        return " ".join(self.reason_edit.text().split())

    @Slot()
    def _judge(self) -> None:
        problem = text_problem("The reason", self.reason(), trust.MAX_REASON)
        show_reason(self.problem_label, problem, self.reason_edit)
        judge_accept(self.accept_button, problem)

    @classmethod
    def ask(
        cls,
        parent: QWidget,
        title: str,
        text: str,
        accept_text: str,
        with_reason: bool = False,
    ) -> str | None:
        """Ask modally: the reason typed ("" without one) once accepted, None on cancel."""
        dialog = cls(title, text, accept_text, parent, with_reason=with_reason)
        try:
            return ask_modally(dialog, dialog.reason)
        finally:
            dialog.deleteLater()


class AuthorityDialog(QDialog):
    """Asks for the fingerprint digits an authority reads out for its card, and closes
    only when they are all of the card's. Nothing is recorded here: the caller names it."""

    def __init__(
        self, card: ContactCard, our_fingerprint: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.card = card
        name = shown_name(card.office_name)
        self.setWindowTitle("Add an authority — Valise")
        self.setAccessibleName("Add an authority")
        self.setMinimumWidth(560)
        self.intro_label = message_label("About this dialog", self)
        self.intro_label.setText(
            f"This card is from {name}. Once named as an authority, its revocations of other"
            " offices' keys count here without asking you, and it may retract them. Call"
            f" {name} on a number you know (not one from the card) or meet them. Read them"
            " our fingerprint below, then have them read you theirs and type its digits"
            " here. Spaces between the groups do not matter."
        )
        self.office_label = message_label("Office", self)
        self.office_label.setText(name)
        bold = self.office_label.font()
        bold.setBold(True)
        self.office_label.setFont(bold)
        self.our_fingerprint_label = large_fingerprint("Our fingerprint", our_fingerprint, self)
        self.digits_edit = QLineEdit(self)
        self.digits_edit.setAccessibleName(f"Digits {name} read to you")
        self.digits_edit.setPlaceholderText(DIGITS_PLACEHOLDER)
        self.digits_edit.setMaxLength(120)
        self.digits_edit.setFont(fingerprint_font(self.font()))
        self.digits_edit.textChanged.connect(self._on_text_changed)
        self.problem_label = reason_line("Problem with the digits", self)

        fields = QFormLayout()
        fields.addRow("Authority:", self.office_label)
        fields.addRow("Our fingerprint:", self.our_fingerprint_label)
        fields.addRow(caption("&Their digits:", self.digits_edit, self), self.digits_edit)
        content = QVBoxLayout()
        content.addWidget(self.intro_label)
        content.addLayout(fields)
        content.addWidget(self.problem_label)
        buttons = lay_out_form(self, content, "&Name as authority")
        self.buttons, self.name_button = buttons.box, buttons.accept
        self._on_text_changed("")
        self.digits_edit.setFocus()

    @Slot(str)
    def _on_text_changed(self, text: str) -> None:
        self.name_button.setEnabled(bool(text.strip()))
        show_reason(self.problem_label, "", self.digits_edit)

    def digits(self) -> str:
        """The digits as typed."""
        return self.digits_edit.text()

    def problem(self) -> str:
        """Why the digits typed cannot name the card's key ("" when they are its own)."""
        try:
            digits = peers.fingerprint_digits(self.digits())
            trust.check_authority_fingerprint(self.card, digits)
        except InvalidInput as exc:
            return str(exc).replace(" Nothing was changed.", "")
        except StorageError:
            return (
                f"These digits do not match the card of {shown_name(self.card.office_name)}:"
                " do not name it. Ask them to read theirs again, and check you chose the"
                " card they sent; if the digits still differ, the card may be forged."
            )
        return ""

    def accept(self) -> None:
        """Close only when the digits match the card; otherwise say why and stay."""
        problem = self.problem()
        if problem:
            show_reason(self.problem_label, problem, self.digits_edit)
            self.digits_edit.setFocus()
            self.digits_edit.selectAll()
            return
        super().accept()

    @classmethod
    def ask(cls, parent: QWidget, card: ContactCard, our_fingerprint: str) -> str | None:
        """Ask modally; the matching digits, or None when the person cancels."""
        dialog = cls(card, our_fingerprint, parent)
        try:
            return ask_modally(dialog, dialog.digits)
        finally:
            dialog.deleteLater()
