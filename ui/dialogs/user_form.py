"""Adding a user, or giving one a new passphrase: a name, a role and a passphrase twice.

Writing either seals the database key under the new passphrase, and Argon2id takes about a
second on purpose, so the write runs on the window's database worker while the dialog stays
open with a busy bar. A refusal (a name already taken, a weak passphrase, a role that may
not do this) is shown in the dialog as its sentence, and the person fixes the field without
typing everything again. The dialog owns no workspace: it is given the write to run.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from storage import roles, users
from storage.errors import StorageError
from storage.text_rules import visible
from ui.dialogs._common import (
    GrowForWrappedText,
    message_label,
    with_line_under,
)
from ui.dialogs.busy import BusyKeys
from ui.dialogs.form_fields import caption
from ui.dialogs.new_passphrase import NewPassphraseFields
from ui.peers_view import sentence
from ui.prompts import Prompts
from ui.tasks import CancelToken, ProgressSink, Task, TaskRunner

# (name, role, passphrase) -> the user written; runs on the database worker.
UserWrite = Callable[[str, str, str], users.User]


def role_hint(role: str) -> str:
    """What `role` may do here, in words, read from storage.roles (which decides), so the
    hint under the role chooser cannot drift from the rules."""
    allowed = [action.name for action in roles.ALL_ACTIONS if role in action.roles]
    if not allowed:
        return "May do nothing that needs a role, not even record in cases."
    listed = allowed[0] if len(allowed) == 1 else ", ".join(allowed[:-1]) + " and " + allowed[-1]
    return f"May {listed}."


class UserForm(QDialog):
    """Add a user (`user` None: name and role chosen here) or set the passphrase of `user`.

    OK runs `write(name, role, passphrase)` on `runner`; `busy(bool)` is emitted around it
    (the view passes it on, so the window keeps off the database meanwhile), and after a
    success `written(user)`, then the dialog accepts.
    """

    busy = Signal(bool)
    written = Signal(object)

    def __init__(
        self,
        write: UserWrite,
        runner: TaskRunner,
        prompts: Prompts,
        parent: QWidget | None = None,
        *,
        user: users.User | None = None,
        own: bool = False,
    ) -> None:
        super().__init__(parent)
        self._write = write
        self._runner = runner
        self._prompts = prompts
        self._user = user
        self._task: Task | None = None
        if user is None:
            title = "Add a user"
        elif own:
            title = "Change your passphrase"
        else:
            title = f"Set the passphrase of {visible(user.name)}"
        self.setWindowTitle(f"{title} — Valise")
        self.setAccessibleName(title)
        self.setMinimumWidth(480)

        intro = message_label("About this dialog", self)
        if user is None:
            intro.setText(
                "The new user unlocks this workspace with their name and a passphrase of"
                " their own. Let them type it here themselves, or give it to them in"
                " person; nobody can read it back later."
            )
        elif own:
            intro.setText("Your new passphrase replaces the old one at once.")
        else:
            intro.setText(
                f"For {visible(user.name)}, who forgot theirs: the new passphrase replaces"
                " the old one at once. Give it to them in person."
            )
        self.name_edit = QLineEdit(self)
        self.name_edit.setAccessibleName("User name")
        self.name_edit.setMaxLength(users.MAX_NAME)
        self.name_edit.setPlaceholderText("the name they will type to unlock, e.g. Bashir")
        self.role_box = QComboBox(self)
        self.role_box.setAccessibleName("Role")
        for role in users.ROLES:
            self.role_box.addItem(users.ROLE_WORDS[role], role)
        self.role_box.setCurrentIndex(users.ROLES.index(users.INVESTIGATOR))
        self.role_hint = message_label("What the role may do", self)
        self.new_passphrase = NewPassphraseFields(
            self,
            accessible_name="New passphrase",
            strong="✓ Strong enough. Should it be forgotten, a supervisor sets a new one.",
        )
        self.passphrase_edit = self.new_passphrase.passphrase_edit
        self.repeat_edit = self.new_passphrase.repeat_edit
        self.strength_label = self.new_passphrase.strength_label
        self.match_label = self.new_passphrase.match_label
        self.show_check = self.new_passphrase.show_check
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setRange(0, 0)  # a busy bar: key derivation reports no steps
        self.progress_bar.setAccessibleName("Working")
        self.progress_bar.setTextVisible(False)
        self.progress_bar.hide()
        self.message_label = message_label("User form message", self)
        bold = self.message_label.font()
        bold.setBold(True)
        self.message_label.setFont(bold)

        self.ok_button = QPushButton("&Add user" if user is None else "&Set passphrase", self)
        self.ok_button.setAccessibleName(self.ok_button.text().replace("&", ""))
        self.ok_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setAccessibleName("Cancel")
        buttons = QDialogButtonBox(self)
        buttons.addButton(self.ok_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.ok_button.clicked.connect(self.try_write)
        self.cancel_button.clicked.connect(self.reject)

        form = QFormLayout()
        if user is None:
            form.addRow("&Name:", self.name_edit)
            # A field with a line under it gets its own caption: one made by addRow would
            # point its mnemonic at the box holding both, which takes no focus.
            form.addRow(
                caption("&Role:", self.role_box, self),
                with_line_under(self.role_box, self.role_hint),
            )
        else:
            self.name_edit.setText(user.name)
            self.name_edit.hide()
            self.role_box.hide()
            self.role_hint.hide()
            shown = QLabel(f"{visible(user.name)} ({user.role_words})", self)
            shown.setAccessibleName("User")
            form.addRow("User:", shown)
        self.new_passphrase.add_rows(form, "&Passphrase:", "Rep&eat it:")
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addSpacing(6)
        layout.addLayout(form)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.message_label)
        layout.addStretch(1)
        layout.addWidget(buttons)

        self.role_box.currentIndexChanged.connect(self._on_role_changed)
        self._on_role_changed()
        self._busy_keys = BusyKeys(self)
        self._grow = GrowForWrappedText(self)
        (self.name_edit if user is None else self.passphrase_edit).setFocus()

    # -- live feedback -------------------------------------------------------------------

    @Slot()
    def _on_role_changed(self) -> None:
        self.role_hint.setText(role_hint(str(self.role_box.currentData())))

    def problem(self) -> tuple[str, QLineEdit] | None:
        """The first reason not to write yet, with the field to fix; None when all is well.
        Storage checks the same again (the sentence it gives is shown as well)."""
        if self._user is None and (reason := users.name_problem(self.name_edit.text())):
            return reason, self.name_edit
        return self.new_passphrase.problem()

    def message(self) -> str:
        """The refusal or progress now shown (for tests and screen readers)."""
        return self.message_label.text()

    # -- writing -------------------------------------------------------------------------

    @property
    def working(self) -> bool:
        """True while the write runs on the worker."""
        return self._task is not None

    @Slot()
    def try_write(self) -> None:
        """Refuse with the first problem, or run the write on the worker."""
        if self._task is not None:
            return
        found = self.problem()
        if found:
            text, field = found
            self.message_label.setText(text)
            field.setFocus()
            field.selectAll()
            return
        name = users.normal_name(self.name_edit.text())
        role = str(self.role_box.currentData())
        passphrase, write = self.passphrase_edit.text(), self._write

        def work(_token: CancelToken, _progress: ProgressSink) -> users.User:
            return write(name, role, passphrase)

        doing = "Adding" if self._user is None else "Setting the passphrase of"
        self.message_label.setText(
            f"{doing} {visible(name)}… (the passphrase's key takes about a second to derive)"
        )
        self._busy_keys.begin()  # before the fields are disabled: Enter must not reach Cancel
        self._set_enabled(False)
        self.progress_bar.show()
        self._task = self._runner.start(work)
        self._task.finished.connect(self._on_written)
        self._task.failed.connect(self._on_failed)
        self._task.done.connect(self._on_done)
        self.busy.emit(True)

    def _set_enabled(self, enabled: bool) -> None:
        for widget in (
            self.name_edit,
            self.role_box,
            self.passphrase_edit,
            self.repeat_edit,
            self.show_check,
            self.ok_button,
            self.cancel_button,
        ):
            widget.setEnabled(enabled)

    @Slot()
    def _on_done(self) -> None:
        self._task = None
        self.progress_bar.hide()
        self._set_enabled(True)
        self._busy_keys.end(self.name_edit if self._user is None else self.passphrase_edit)
        self.busy.emit(False)

    @Slot(object)
    def _on_written(self, user: users.User) -> None:
        self.passphrase_edit.clear()
        self.repeat_edit.clear()
        self.message_label.setText("")
        self.written.emit(user)
        self.accept()

    @Slot(object)
    def _on_failed(self, error: BaseException) -> None:
        if isinstance(error, StorageError):  # NotPermitted, InvalidInput, WeakPassphrase...
            self.message_label.setText(sentence(str(error)))
        else:
            self.message_label.setText("Nothing was changed: an error inside Valise.")
            self._prompts.report_bug(self, self.windowTitle(), error)

    def reject(self) -> None:
        """Cancel ends the dialog, but not while the write runs: it cannot be stopped
        half-way, and its outcome must be seen."""
        if self._task is not None:
            return
        self.passphrase_edit.clear()
        self.repeat_edit.clear()
        super().reject()
