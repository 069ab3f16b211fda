"""The Release… dialog: to which NGO or defence peer an evidence item goes, and what with.

It lists the restricted peers (and "every NGO peer", "every defence peer"), asks whether the
original file name goes too, and says in words what the grantee will and will not receive.
When a person the item identifies has not consented to be identified to partners, the
reason stands in the dialog and Release stays disabled: the refusal is known before anyone
chooses. Nothing is recorded here; the Evidence tab records the release on its worker
(`sync.releases.release_to`), where storage checks consent again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QCheckBox, QComboBox, QDialog, QFormLayout, QWidget

from storage.records import Evidence
from ui.dialogs._common import message_label
from ui.dialogs.form_fields import ask_modally, caption, judge_accept, lay_out_form


@dataclass(frozen=True)
class ReleaseTarget:
    """One choice in the dialog: a peer id or a role (`ngo`, `defence`), and its words."""

    value: str
    label: str


@dataclass(frozen=True)
class ReleaseChoice:
    """What the person chose: to whom, and whether the original file name goes too."""

    target: str
    with_file_name: bool


def will_receive(item: Evidence, with_file_name: bool) -> str:
    """What the grantee receives of this item, in a sentence."""
    name = f" under its original name “{item.original_name}”" if with_file_name else ""
    return (
        f"They will receive {item.ern}: its register entry (title, type, description,"
        f" dates, classification), its chain of custody and the file itself{name}, with"
        " the persons it concerns known by pseudonym only."
    )


def will_not_receive(with_file_name: bool) -> str:
    """What the grantee does not receive, in a sentence."""
    name = "" if with_file_name else "the original file name (they see the ERN instead), "
    return (
        f"They will not receive {name}the links to legal elements and incidents, protected"
        " identities, privileged notes, or any other item of the case that is not released"
        " to them. A release cannot be taken back for what was sent; withdrawing it later"
        " stops further sends."
    )


class ReleaseDialog(QDialog):
    """Asks to whom an evidence item is released (`choice()`), saying what goes and what
    does not; `blocked` is a consent refusal that keeps Release disabled."""

    def __init__(
        self,
        item: Evidence,
        targets: Sequence[ReleaseTarget],
        blocked: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.item = item
        self.blocked = blocked
        self.setWindowTitle(f"Release {item.ern} — Valise")
        self.setAccessibleName("Release evidence")
        self.setMinimumWidth(520)
        self.target_combo = QComboBox(self)
        self.target_combo.setAccessibleName("Release to")
        self.target_combo.setPlaceholderText("Choose a peer…")
        for target in targets:
            self.target_combo.addItem(target.label, target.value)
        self.target_combo.setCurrentIndex(-1)
        self.file_name_box = QCheckBox("Send the original &file name too", self)
        self.file_name_box.setAccessibleName("Send the original file name too")
        self.file_name_box.setToolTip(
            "A file name often names a witness or a place; leave it out unless it is needed."
        )
        self.receives_label = message_label("What they will receive", self)
        self.withheld_label = message_label("What they will not receive", self)
        self.blocked_label = message_label("Why it cannot be released", self)
        self.blocked_label.setText(f"It cannot be released. {blocked}" if blocked else "")
        self.blocked_label.setVisible(bool(blocked))
        form = QFormLayout()
        form.addRow(self.blocked_label)  # first: nothing below matters while it stands
        form.addRow(caption("Release &to:", self.target_combo, self), self.target_combo)
        form.addRow("", self.file_name_box)
        form.addRow(self.receives_label)
        form.addRow(self.withheld_label)
        if not targets:
            self.blocked_label.setText(
                "There is no NGO or defence peer to release to. Add its contact card under"
                " Peers first."
            )
            self.blocked_label.setVisible(True)
        self.buttons, self.release_button, _cancel = lay_out_form(self, form, "&Release")
        self.target_combo.currentIndexChanged.connect(self._update)
        self.file_name_box.toggled.connect(self._update)
        self._update()
        self.target_combo.setFocus()

    def set_target(self, value: str) -> None:
        """Choose a peer id or role (as a person would in the list)."""
        self.target_combo.setCurrentIndex(self.target_combo.findData(value))

    def choice(self) -> ReleaseChoice | None:
        """The chosen grantee and file-name answer, or None while none is chosen."""
        value = self.target_combo.currentData()
        if not isinstance(value, str):
            return None
        return ReleaseChoice(value, self.file_name_box.isChecked())

    def problem(self) -> str:
        """Why Release is not possible now ('' when it is)."""
        if self.blocked:
            return self.blocked
        if self.choice() is None:
            return "Choose the peer to release the item to."
        return ""

    @Slot()
    def _update(self) -> None:
        with_name = self.file_name_box.isChecked()
        self.receives_label.setText(will_receive(self.item, with_name))
        self.withheld_label.setText(will_not_receive(with_name))
        judge_accept(self.release_button, self.problem())

    def accept(self) -> None:
        """Close with Release only when a peer is chosen and nothing stands in the way."""
        if self.problem():
            self._update()
            return
        super().accept()

    @classmethod
    def ask(
        cls,
        parent: QWidget,
        item: Evidence,
        targets: Sequence[ReleaseTarget],
        blocked: str,
    ) -> ReleaseChoice | None:
        """Show the dialog modally: the choice, or None on cancel."""
        dialog = cls(item, targets, blocked, parent)
        return ask_modally(dialog, dialog.choice)
