"""The settings dialog: for now, how long Valise may stay unused before it locks itself.

The dialog edits a `Settings` object and writes it only on OK, so Cancel changes nothing.
The spin box cannot hold a value outside 0 (never) to 240 minutes: its validator refuses
anything else as it is typed.
"""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ui.dialogs._common import message_label
from ui.settings import MAX_IDLE_LOCK_MINUTES, NEVER, Settings


class SettingsDialog(QDialog):
    """Shows the current settings and stores the edited ones when the person presses OK."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle("Settings — Valise")
        self.setAccessibleName("Settings")
        self.setMinimumWidth(420)

        self.idle_spin = QSpinBox(self)
        self.idle_spin.setRange(NEVER, MAX_IDLE_LOCK_MINUTES)
        self.idle_spin.setSpecialValueText("Never")
        self.idle_spin.setAccessibleName("Lock after minutes without use")
        self.idle_spin.setAccessibleDescription(
            "Minutes without keyboard or mouse use before the workspace locks; 0 means never"
        )
        self.idle_spin.valueChanged.connect(self._update_suffix)
        self.idle_spin.setValue(settings.idle_lock_minutes)
        self._update_suffix(self.idle_spin.value())

        explanation = message_label("About locking", self)
        explanation.setText(
            "When nobody uses Valise for this long, it closes the workspace and asks for "
            "the passphrase again. File > Lock (Ctrl+L) locks at once."
        )

        form = QFormLayout()
        form.addRow("&Lock after:", self.idle_spin)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setAccessibleName("OK")
        self.cancel_button = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setAccessibleName("Cancel")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(explanation)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self.idle_spin.setFocus()

    @Slot(int)
    def _update_suffix(self, minutes: int) -> None:
        suffix = " minute without use" if minutes == 1 else " minutes without use"
        if self.idle_spin.suffix() != suffix:
            self.idle_spin.setSuffix(suffix)

    @property
    def idle_lock_minutes(self) -> int:
        """The limit shown in the dialog (0 for never)."""
        return self.idle_spin.value()

    def accept(self) -> None:
        """Store the edited settings, then close."""
        self.idle_spin.interpretText()
        self.settings.set_idle_lock_minutes(self.idle_spin.value())
        super().accept()
