"""Keys and focus in a dialog whose work runs on a worker.

The unlock and first-run dialogs check or create a workspace on a worker and disable their
fields and their default button meanwhile. Left to Qt, disabling the field that has the
keyboard focus hands the focus to the next enabled control, often *Quit*; a button in a
dialog is "auto-default", so having the focus makes it the default button. The Enter that
started the work then travels on from the field to `QDialog.keyPressEvent`, which presses
the default button: Valise quit instead of unlocking. A second Enter, or an Escape, while
the work runs did the same.

`BusyKeys` is the one remedy every such dialog uses, so none can get it half right:
while busy the focus rests on the dialog itself (no control, so no button becomes default
by holding it), no button is auto-default, and Enter, Return and Escape do nothing. When
the work ends, the focus goes back to the field the person types in next.

Escape does nothing rather than cancel: the work takes about a second and cannot be
stopped half-way (a key being derived, a workspace being written); quitting on a reflex
would leave, say, a workspace created that the person believes cancelled. Quit, and the
window's close button, still end the dialog at once; the dialog then closes whatever the
worker opened.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QDialog, QLineEdit, QPushButton, QWidget

KEYS_HELD_WHILE_BUSY = frozenset({Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape})


class BusyKeys(QObject):
    """The busy state of `dialog`'s keys: `begin()` before disabling its controls for a
    worker, `end()` after enabling them again.

    It filters the dialog's key events, which include every key a child control leaves
    unhandled (Qt passes those up to the dialog).
    """

    # A class-level default: when the dialog is collected, Python may clear this object's
    # attributes while Qt still sends the dying dialog events through the filter; the
    # filter then reads this and lets every event pass instead of raising.
    _busy = False

    def __init__(self, dialog: QDialog) -> None:
        super().__init__(dialog)
        self._dialog = dialog
        self._busy = False
        self._focus_before: QWidget | None = None
        self._auto_default: list[QPushButton] = []
        dialog.installEventFilter(self)

    @property
    def busy(self) -> bool:
        """True between `begin()` and `end()`."""
        return self._busy

    def begin(self) -> None:
        """Hold Enter, Return and Escape and park the focus on the dialog; call it before
        disabling the controls, so Qt never moves the focus to another button."""
        if self._busy:
            return
        self._busy = True
        focused = QApplication.focusWidget()
        inside = focused is not None and self._dialog.isAncestorOf(focused)
        self._focus_before = focused if inside else None
        self._auto_default = [
            button for button in self._dialog.findChildren(QPushButton) if button.autoDefault()
        ]
        for button in self._auto_default:
            button.setAutoDefault(False)
        self._dialog.setFocus(Qt.FocusReason.OtherFocusReason)

    def end(self, focus: QWidget | None = None) -> None:
        """Let keys act again and give the focus to `focus` (else to the control that had
        it before); call it after enabling the controls again. A line edit gets its text
        selected, so typing replaces it."""
        if not self._busy:
            return
        self._busy = False
        for button in self._auto_default:
            button.setAutoDefault(True)
        self._auto_default = []
        target = focus if focus is not None else self._focus_before
        self._focus_before = None
        if target is None or not target.isEnabled():
            return
        target.setFocus(Qt.FocusReason.OtherFocusReason)
        if isinstance(target, QLineEdit):
            target.selectAll()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Swallow Enter, Return and Escape that reach the dialog while busy."""
        if (
            self._busy
            and watched is self._dialog
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in KEYS_HELD_WHILE_BUSY
        ):
            event.accept()
            return True
        return False
