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

from sync import trust
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
from ui.peers_view import DigitsDialog, shown_name


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


class AuthorityDialog(DigitsDialog):
    """Asks for the fingerprint digits an authority reads out for its card, and closes
    only when they are all of the card's. Nothing is recorded here: the caller names it
    (sync.trust checks the digits again)."""

    def __init__(
        self, card: ContactCard, our_fingerprint: str, parent: QWidget | None = None
    ) -> None:
        name = shown_name(card.office_name)
        super().__init__(
            office_name=card.office_name,
            fingerprint=card.fingerprint,
            our_fingerprint=our_fingerprint,
            title="Add an authority",
            intro=(
                f"This card is from {name}. Once named as an authority, its revocations of"
                " other offices' keys count here without asking you, and it may retract"
                " them. "
            ),
            accept_text="&Name as authority",
            refusal=(
                f"These digits do not match the card of {name}: do not name it. Ask them to"
                " read theirs again, and check you chose the card they sent; if the digits"
                " still differ, the card may be forged."
            ),
            parent=parent,
        )
        self.card = card
        self.name_button = self.accept_button
        self.office_label = message_label("Office", self)
        self.office_label.setText(name)
        bold = self.office_label.font()
        bold.setBold(True)
        self.office_label.setFont(bold)
        self.fields.insertRow(0, "Authority:", self.office_label)

    @classmethod
    def ask(cls, parent: QWidget, card: ContactCard, our_fingerprint: str) -> str | None:
        """Ask modally; the matching digits, or None when the person cancels."""
        dialog = cls(card, our_fingerprint, parent)
        try:
            return ask_modally(dialog, dialog.digits)
        finally:
            dialog.deleteLater()
