"""Small helpers the dialogs share: plain-text message labels and passphrase checks."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

UNUSABLE_CHARACTER_MESSAGE = (
    "The passphrase contains a character that cannot be used (a broken character, "
    "often left by copying and pasting). Type the passphrase again by hand."
)


def message_label(accessible_name: str, parent: QWidget | None = None) -> QLabel:
    """A word-wrapped label that never reads its text as HTML (texts come from errors)."""
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    label.setAccessibleName(accessible_name)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def passphrase_is_encodable(text: str) -> bool:
    """False for text holding a lone surrogate (a broken character).

    Storage accepts any text, but in a dialog a broken character is almost always a paste
    accident; refusing it avoids a passphrase nobody can type again.
    """
    try:
        text.encode("utf-8", "surrogateescape")
    except UnicodeError:
        return False
    return True
