"""The one seam for modal questions and messages.

Windows ask through a `Prompts` object they are given instead of building `QMessageBox` or
`QInputDialog` themselves, so a test hands them a `ScriptedPrompts` that answers from a list
and records what was asked, without patching `QDialog.exec` (pytest-qt's advice in
`docs/note_dialogs.rst`). Every text is shown as plain text: case titles and error messages
come from data and must never be read as HTML.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QInputDialog, QLabel, QLineEdit, QMessageBox, QWidget

from ui.crash import bug_details

log = logging.getLogger(__name__)


class Prompts:
    """Asks a person, with real modal dialogs."""

    def ask_text(
        self, parent: QWidget | None, title: str, label: str, text: str = ""
    ) -> str | None:
        """A line of text, or None when the person cancels."""
        dialog = QInputDialog(parent)
        dialog.setWindowTitle(title)
        dialog.setInputMode(QInputDialog.InputMode.TextInput)
        dialog.setTextEchoMode(QLineEdit.EchoMode.Normal)
        dialog.setLabelText(label)
        dialog.setTextValue(text)
        for child in dialog.findChildren(QLabel):
            child.setTextFormat(Qt.TextFormat.PlainText)
        if dialog.exec() != QInputDialog.DialogCode.Accepted:
            return None
        return dialog.textValue()

    def confirm(self, parent: QWidget | None, title: str, text: str) -> bool:
        """Yes or no; No is the default so a stray Enter changes nothing."""
        box = _box(parent, QMessageBox.Icon.Question, title, text)
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        box.setDefaultButton(QMessageBox.StandardButton.No)
        return box.exec() == QMessageBox.StandardButton.Yes

    def inform(self, parent: QWidget | None, title: str, text: str) -> None:
        """Something went as planned and the person should know."""
        _box(parent, QMessageBox.Icon.Information, title, text).exec()

    def warn(self, parent: QWidget | None, title: str, text: str) -> None:
        """A user error: the text says what happened and what to do next."""
        _box(parent, QMessageBox.Icon.Warning, title, text).exec()

    def report_bug(self, parent: QWidget | None, title: str, error: BaseException) -> None:
        """Not the person's fault: log it and show details they can copy into a report."""
        log.error("unexpected error", exc_info=error)
        box = _box(
            parent,
            QMessageBox.Icon.Critical,
            title,
            "Something went wrong inside Valise. Your workspace is unchanged by this error. "
            "Please copy the details into a report to your support contact; they hold no "
            "case data, keys or passphrases.",
        )
        details = bug_details(error)
        box.setDetailedText(details)
        copy = box.addButton("&Copy details", QMessageBox.ButtonRole.ActionRole)
        copy.setAccessibleName("Copy details")
        box.addButton(QMessageBox.StandardButton.Close)
        # An action button would close the box; copying keeps it open.
        copy.clicked.disconnect()
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(details))
        box.exec()


def _box(parent: QWidget | None, icon: QMessageBox.Icon, title: str, text: str) -> QMessageBox:
    box = QMessageBox(parent)
    box.setIcon(icon)
    box.setWindowTitle(title)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(text)
    return box


@dataclass(frozen=True)
class Asked:
    """One question a `ScriptedPrompts` was asked."""

    kind: str
    title: str
    text: str


class ScriptedPrompts(Prompts):
    """Answers from a list, in order, and records every question (for tests and demos)."""

    def __init__(self, answers: Iterable[object] = ()) -> None:
        self.answers = list(answers)
        self.asked: list[Asked] = []

    def _next(self, kind: str, title: str, text: str) -> object:
        self.asked.append(Asked(kind, title, text))
        if not self.answers:
            raise AssertionError(f"unexpected {kind} prompt: {title}: {text}")
        return self.answers.pop(0)

    def ask_text(
        self, parent: QWidget | None, title: str, label: str, text: str = ""
    ) -> str | None:
        """The next answer, which must be a string or None."""
        answer = self._next("text", title, label)
        assert answer is None or isinstance(answer, str)
        return answer

    def confirm(self, parent: QWidget | None, title: str, text: str) -> bool:
        """The next answer, which must be a bool."""
        answer = self._next("confirm", title, text)
        assert isinstance(answer, bool)
        return answer

    def inform(self, parent: QWidget | None, title: str, text: str) -> None:
        """Recorded only: a message needs no answer."""
        self.asked.append(Asked("inform", title, text))

    def warn(self, parent: QWidget | None, title: str, text: str) -> None:
        """Recorded only."""
        self.asked.append(Asked("warn", title, text))

    def report_bug(self, parent: QWidget | None, title: str, error: BaseException) -> None:
        """Recorded with the error's type and message."""
        self.asked.append(Asked("bug", title, f"{type(error).__name__}: {error}"))
