"""Small helpers the dialogs share: plain-text message labels and the feedback line under
a field, a dialog that grows when such a line wraps, passphrase checks, and choosing another
workspace folder from the first dialog or the unlock dialog."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QFileDialog, QLabel, QVBoxLayout, QWidget

from storage.paths import WorkspacePaths

# The result of the first dialog when the person chose another workspace folder; its
# `other_folder` names it, and the start-up asks again for that folder.
SWITCH_WORKSPACE = 2

FolderChooser = Callable[[QWidget], Path | None]

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


def with_line_under(field: QWidget, line: QWidget) -> QWidget:
    """`field` with its feedback `line` right under it, as the field part of one form row
    (so the line stays with its field however the form is laid out)."""
    box = QWidget(field.parentWidget())
    column = QVBoxLayout(box)
    column.setContentsMargins(0, 0, 0, 0)
    column.setSpacing(2)
    column.addWidget(field)
    column.addWidget(line)
    return box


class GrowForWrappedText(QObject):
    """Makes `window` taller whenever its word-wrapped lines need more height than it has.

    A window whose layout holds word-wrapped labels gets no minimum height from Qt (it
    cannot know the width yet), so a message that wraps to a second line after the window
    was shown was cut in half: the first-run dialog showed "…keep it safe: it cannot be"
    without "recovered.". The window never shrinks here; the person may resize it.
    """

    # A class-level default, read when Python has cleared this object's attributes as its
    # window is collected while Qt still sends that window events (see BusyKeys).
    _window: QWidget | None = None

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self._window = window
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """On each layout request, grow the window to the height its layout needs."""
        window = self._window
        if window is not None and watched is window and event.type() == QEvent.Type.LayoutRequest:
            layout = window.layout()
            if layout is not None:
                needed = layout.totalHeightForWidth(window.width())
                if needed > window.height():
                    window.resize(window.width(), needed)
        return False


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


def choose_workspace_folder(parent: QWidget) -> Path | None:
    """Ask for a folder with the platform's folder chooser; None when cancelled."""
    chosen = QFileDialog.getExistingDirectory(
        parent, "Choose the folder of a Valise workspace", str(Path.home())
    )
    return Path(chosen) if chosen else None


def ask_workspace_folder(
    parent: QWidget, choose: FolderChooser, show_problem: Callable[[str], None]
) -> Path | None:
    """Ask with `choose` for a folder that holds a workspace, for the first dialog's and
    the unlock dialog's "Open … workspace…"; None when cancelled or when the folder holds
    none, which `show_problem` is then told as a sentence (the dialog stays open)."""
    folder = choose(parent)
    if folder is None:
        return None
    problem = workspace_folder_problem(folder)
    if problem is not None:
        show_problem(problem)
        return None
    return folder


def workspace_folder_problem(folder: Path) -> str | None:
    """Why `folder` cannot be opened as a workspace, as a sentence with the next step; None
    when it holds one."""
    if WorkspacePaths(folder).looks_like_workspace():
        return None
    return (
        f"There is no Valise workspace in {folder}. Choose the folder that holds the files "
        "workspace.db and workspace.key (a restored backup is such a folder)."
    )
