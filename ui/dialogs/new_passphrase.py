"""A new passphrase typed twice, judged as it is typed: one set of fields for every dialog
that asks for one (the first run, a new user, a reset by a supervisor, a recovery).

The verdict under the first field uses the rule storage enforces (`storage.passphrase
.weakness`), so a refusal is visible before the button is pressed; the line under the second
says whether the two match; *Show the passphrase* shows both. The dialogs differ only in
their captions, their accessible names, and what they say of a strong passphrase (a
workspace's first one cannot be recovered, a user's can be set again by a supervisor).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QCheckBox, QFormLayout, QLineEdit, QWidget

from storage.passphrase import weakness
from ui.dialogs._common import (
    UNUSABLE_CHARACTER_MESSAGE,
    message_label,
    passphrase_is_encodable,
    with_line_under,
)
from ui.dialogs.form_fields import caption

MISMATCH = "The two passphrases differ. Type the same passphrase in both fields."
STRONG_AND_LOST_IF_FORGOTTEN = (
    "✓ Strong enough. Write it down and keep it safe: it cannot be recovered."
)
STRONG = "✓ Strong enough. Write it down and keep it safe."
STRONG_AND_RESET_BY_A_SUPERVISOR = (
    "✓ Strong enough. Should it be forgotten, a supervisor sets a new one."
)


def strength_feedback(passphrase: str, strong: str = STRONG_AND_LOST_IF_FORGOTTEN) -> str:
    """The live verdict under the passphrase field (empty while nothing is typed); `strong`
    is what a strong one is told."""
    if not passphrase:
        return ""
    if not passphrase_is_encodable(passphrase):
        return f"✗ {UNUSABLE_CHARACTER_MESSAGE}"
    reason = weakness(passphrase)
    if reason:
        return f"✗ Too weak: {reason}."
    return strong


class NewPassphraseFields(QObject):
    """The two fields, their verdict lines and *Show*; the dialog lays them out with
    `add_rows` and asks `problem()` before it writes."""

    def __init__(
        self,
        parent: QWidget,
        *,
        accessible_name: str = "Passphrase",
        strong: str = STRONG_AND_LOST_IF_FORGOTTEN,
    ) -> None:
        super().__init__(parent)
        self._parent = parent
        self._strong = strong
        self.passphrase_edit = QLineEdit(parent)
        self.passphrase_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase_edit.setAccessibleName(accessible_name)
        self.strength_label = message_label("Passphrase strength", parent)
        self.repeat_edit = QLineEdit(parent)
        self.repeat_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat_edit.setAccessibleName(f"Repeat the {accessible_name.lower()}")
        self.match_label = message_label("Passphrase match", parent)
        self.show_check = QCheckBox("Show the passphrase", parent)
        self.show_check.setAccessibleName("Show the passphrase")
        self.passphrase_edit.textChanged.connect(self._judge)
        self.repeat_edit.textChanged.connect(self._judge)
        self.show_check.toggled.connect(self._show)

    def add_rows(self, form: QFormLayout, first_caption: str, repeat_caption: str) -> None:
        """The two fields with their lines under them, and *Show*. Each caption is made
        here: one made by addRow would name the box around field and line as its buddy,
        and its mnemonic would reach no field."""
        for text, field, line in (
            (first_caption, self.passphrase_edit, self.strength_label),
            (repeat_caption, self.repeat_edit, self.match_label),
        ):
            form.addRow(caption(text, field, self._parent), with_line_under(field, line))
        form.addRow("", self.show_check)

    def text(self) -> str:
        """The passphrase typed in the first field."""
        return self.passphrase_edit.text()

    def clear(self) -> None:
        """Empty both fields (after the passphrase was used)."""
        self.passphrase_edit.clear()
        self.repeat_edit.clear()

    def widgets(self) -> tuple[QWidget, ...]:
        """The controls a dialog disables while it works."""
        return (self.passphrase_edit, self.repeat_edit, self.show_check)

    def problem(
        self, weak_words: str = "Choose a stronger passphrase"
    ) -> tuple[str, QLineEdit] | None:
        """Why the passphrase cannot be used yet, with the field to fix; None when it can."""
        passphrase = self.passphrase_edit.text()
        if not passphrase_is_encodable(passphrase):
            return UNUSABLE_CHARACTER_MESSAGE, self.passphrase_edit
        reason = weakness(passphrase)
        if reason:
            return f"{weak_words}: {reason}.", self.passphrase_edit
        if passphrase != self.repeat_edit.text():
            return MISMATCH, self.repeat_edit
        return None

    @Slot()
    def _judge(self) -> None:
        first, second = self.passphrase_edit.text(), self.repeat_edit.text()
        self.strength_label.setText(strength_feedback(first, self._strong))
        if not second:
            self.match_label.setText("")
        elif first == second:
            self.match_label.setText("✓ The passphrases match.")
        else:
            self.match_label.setText(f"✗ {MISMATCH}")

    @Slot(bool)
    def _show(self, shown: bool) -> None:
        mode = QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
        self.passphrase_edit.setEchoMode(mode)
        self.repeat_edit.setEchoMode(mode)
