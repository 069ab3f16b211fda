"""The Users view (Tools › Users…): who may unlock this workspace, as what, for a supervisor.

It lists the office's users, removed ones too (history keeps naming them), and offers Add
user…, Set passphrase… and Remove…, each through `storage.users`, which checks the role
again (`storage.roles`, refusals recorded in the audit log) whatever the window shows.

Every write runs on the window's database worker: adding a user or setting a passphrase
derives a key with Argon2id (about a second), and removing rewrites the key file. While one
runs the view emits `busy(True)`, and the window keeps its hands off the database until
`busy(False)`, as for the audit view's Verify.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from storage import users
from storage.errors import StorageError
from storage.text_rules import visible
from storage.workspace import Workspace
from ui.dialogs._common import message_label
from ui.dialogs.user_form import UserForm
from ui.models.user_model import UserModel
from ui.peers_view import sentence
from ui.prompts import Prompts
from ui.tasks import CancelToken, ProgressSink, TaskRunner

ONLY_SUPERVISORS = "Only a supervisor manages users (Tools › Users…)."


class UsersView(QWidget):
    """The office's users, with Add user…, Set passphrase… and Remove…."""

    busy = Signal(bool)
    changed = Signal()

    def __init__(
        self,
        workspace: Workspace,
        runner: TaskRunner,
        prompts: Prompts,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._ws = workspace
        self._runner = runner
        self._prompts = prompts
        self._working = False
        self._done_words = ""  # how the open form's write ends its sentence
        self.form: UserForm | None = None  # the Add or Set passphrase dialog, while open
        self.model = UserModel(workspace.conn, self)

        self.intro = message_label("About users", self)
        self.intro.setText(
            "Each person unlocks this workspace with their own name and passphrase; their"
            " role decides what they may do here. A removed user can no longer unlock it,"
            " and history keeps their name."
        )
        self.table = QTableView(self)
        self.setFocusProxy(self.table)  # when docked, the arrows reach the list
        self.table.setAccessibleName("Users")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        rows = self.table.verticalHeader()
        rows.hide()
        rows.setDefaultSectionSize(self.fontMetrics().height() + 10)  # as the case list
        header = self.table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self.table.activated.connect(self.set_passphrase)  # Enter or a double click

        self.add_button = QPushButton("&Add user…", self)
        self.add_button.setAccessibleName("Add user")
        self.add_button.setToolTip("Give a new person a name, a role and their own passphrase")
        self.add_button.clicked.connect(self.add_user)
        self.passphrase_button = QPushButton("Set &passphrase…", self)
        self.passphrase_button.setAccessibleName("Set passphrase")
        self.passphrase_button.setToolTip("A new passphrase for the selected user")
        self.passphrase_button.clicked.connect(self.set_passphrase)
        self.remove_button = QPushButton("Re&move…", self)
        self.remove_button.setAccessibleName("Remove user")
        self.remove_button.setToolTip("The selected user can no longer unlock this workspace")
        self.remove_button.clicked.connect(self.remove_user)
        self.message_label = message_label("Users message", self)
        self._fit_columns()

        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.passphrase_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message_label)
        self._update_buttons()

    # -- state ---------------------------------------------------------------------------

    def selected_user(self) -> users.User | None:
        """The user of the selected row, if any."""
        rows = self.table.selectionModel().selectedRows()
        return self.model.user(rows[0].row()) if rows else None

    def select(self, name: str) -> None:
        """Select the active user called `name` (after adding or setting)."""
        row = self.model.row_of(name)
        if row >= 0:
            self.table.selectRow(row)

    def message(self) -> str:
        """What the view last said (the outcome of a write, or a refusal)."""
        return self.message_label.text()

    @Slot(QItemSelection, QItemSelection)
    def _on_selection(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self._update_buttons()

    def _update_buttons(self) -> None:
        user = self.selected_user()
        chosen = user is not None and user.active and not self._working
        self.add_button.setEnabled(not self._working)
        self.passphrase_button.setEnabled(chosen)
        self.remove_button.setEnabled(chosen)

    def _set_working(self, on: bool) -> None:
        """A write runs (or ended): the buttons wait, and the window is told."""
        self._working = on
        self._update_buttons()
        self.busy.emit(on)

    def refresh(self, select: str = "") -> None:
        """Read the users again and select `select` (else the row selected before)."""
        before = self.selected_user()
        self.model.refresh()
        name = select or (before.name if before is not None and before.active else "")
        if name:
            self.select(name)
        self._fit_columns()
        self._update_buttons()

    def _fit_columns(self) -> None:
        """Each column as wide as its widest cell, with room to breathe (the cells touched
        their neighbours when sized to their contents alone)."""
        header = self.table.horizontalHeader()
        for column in range(self.model.columnCount() - 1):  # the last one stretches
            self.table.resizeColumnToContents(column)
            header.resizeSection(column, header.sectionSize(column) + 16)

    # -- writes --------------------------------------------------------------------------

    @Slot()
    def add_user(self) -> None:
        """Open the Add user dialog; the user is written on the worker when it is OK'd."""
        ws = self._ws

        def write(name: str, role: str, passphrase: str) -> users.User:
            return users.add_user(ws, name, role, passphrase)

        self._open_form(UserForm(write, self._runner, self._prompts, self), "added")

    @Slot()
    @Slot(object)
    def set_passphrase(self, _index: object = None) -> None:
        """Open the Set passphrase dialog for the selected (active) user."""
        user = self.selected_user()
        if user is None or not user.active or self._working:
            return
        ws = self._ws
        own = ws.user is not None and ws.user.id == user.id

        def write(name: str, _role: str, passphrase: str) -> users.User:
            return users.set_passphrase(ws, name, passphrase)

        form = UserForm(write, self._runner, self._prompts, self, user=user, own=own)
        self._open_form(form, "given a new passphrase")

    def _open_form(self, form: UserForm, done_words: str) -> None:
        if self.form is not None or self._working:
            form.deleteLater()
            return
        self.form = form
        self._done_words = done_words
        form.busy.connect(self._set_working)
        form.written.connect(self._written)
        form.finished.connect(form.deleteLater)
        form.finished.connect(self._forget_form)
        form.open()

    @Slot()
    def _forget_form(self) -> None:
        self.form = None

    @Slot(object)
    def _written(self, user: users.User) -> None:
        self.refresh(select=user.name)
        done = self._done_words
        if done == "added":
            done = f"added as {user.role_words}"
        self.message_label.setText(f"{visible(user.name)} was {done}.")
        self.changed.emit()

    @Slot()
    def remove_user(self) -> None:
        """Ask, then remove the selected user on the worker; a refusal (yourself, the last
        supervisor, a role that may not) is shown as its sentence."""
        user = self.selected_user()
        if user is None or not user.active or self._working:
            return
        name = visible(user.name)
        if not self._prompts.confirm(
            self,
            "Remove user",
            f"Remove {name} ({user.role_words})? They will no longer be able to unlock this"
            " workspace. History and the audit log keep their name.",
        ):
            return
        ws, wanted = self._ws, user.name

        def work(_token: CancelToken, _progress: ProgressSink) -> users.User:
            return users.remove_user(ws, wanted)

        self.message_label.setText(f"Removing {name}…")
        self._set_working(True)
        task = self._runner.start(work)
        task.finished.connect(self._removed)
        task.failed.connect(self._remove_failed)

    @Slot(object)
    def _removed(self, user: users.User) -> None:
        self._set_working(False)
        self.refresh()
        self.message_label.setText(f"{visible(user.name)} was removed.")
        self.changed.emit()

    @Slot(object)
    def _remove_failed(self, error: BaseException) -> None:
        self._set_working(False)
        self.refresh()
        if isinstance(error, StorageError):  # NotPermitted, InvalidInput: a sentence
            self.message_label.setText(sentence(str(error)))
            self._prompts.warn(self, "Remove user", sentence(str(error)))
        else:
            self.message_label.setText("")
            self._prompts.report_bug(self, "Remove user", error)
