"""The note forms: adding a note to a case, and editing one's text and class.

A note's class decides where its text may go: open text travels with the case, protected
text only to offices and the tribunal liaison, privileged text (internal work product)
never leaves the office. Text is sealed by the class it is written under, so lowering a
note's class does not release what was written before (storage.sealing); the edit form
says so beside the class, and the Notes tab asks before it writes such a change
(`lowering_question`). Nothing is recorded here; the tab does that.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QPlainTextEdit,
    QWidget,
)

from storage.entities import MAX_TEXT, NOTE_CLASSES, OPEN, PRIVILEGED, PROTECTED
from storage.records import Note
from storage.sealing import strictest
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

CLASS_LABELS = {
    OPEN: "Open",
    PROTECTED: "Protected",
    PRIVILEGED: "PRIVILEGED: never shared",
}
CLASS_HINTS = {
    OPEN: "Open: travels with the case to every peer it is shared with",
    PROTECTED: "Protected: only for peers allowed protected content",
    PRIVILEGED: "Privileged: internal work product, never leaves this office",
}
# Where text written under each class goes, and where it stays after a lowering.
_TRAVELS = {
    OPEN: "travels to every office and partner the case is shared with",
    PROTECTED: "travels only to the offices and the tribunal liaison the case is shared with",
    PRIVILEGED: "stays at this office",
}
_STAYS = {
    PROTECTED: "still goes only to offices and the tribunal liaison, never to partners",
    PRIVILEGED: "stays at this office",
}


def class_label(klass: str) -> str:
    """A note class as shown in the list; privileged stands out in capitals."""
    return CLASS_LABELS.get(klass, klass)


def lowers_class(old: str, new: str) -> bool:
    """True when `new` is a less strict class than `old` (privileged to open, say)."""
    return new != old and strictest(old, new) == old


def class_word(klass: str) -> str:
    """A note class as a word in a sentence: open, protected, privileged."""
    return CLASS_LABELS.get(klass, klass).split(":")[0].lower()


def _travels(klass: str) -> str:
    return _TRAVELS.get(klass, _TRAVELS[PRIVILEGED])  # an unknown class: fail closed


def lowering_question(old: str, new: str, *, text_changed: bool) -> str:
    """What the Notes tab asks before it lowers a note's class from `old` to `new`."""
    name, was = class_word(new), class_word(old)
    stays = _STAYS.get(old, _STAYS[PRIVILEGED])
    question = (
        f"Make this note {name}? Text written while it was {was} {stays}: the peers the"
        f" case is shared with see the note as {name}, with that text withheld. Text"
        f" written from now on {_travels(new)}."
    )
    if text_changed:
        question += f" The text you are saving now is written as {name}, so it {_travels(new)}."
    return question


def republishing_question(written: str, now: str) -> str:
    """What the Notes tab asks before it saves a new text for a note whose present text was
    written under a stricter class than the note has now (the class was lowered since)."""
    name, was = class_word(now), class_word(written)
    return (
        f"This note's text was written while it was {was}, so it stayed at this office"
        f" when the note became {name}. Saving an edited text writes the whole new text as"
        f" {name}, so it {_travels(now)}. Save it anyway?"
    )


def note_text_problem(text: str) -> str:
    """Why `text` cannot be recorded as a note's text; '' when it can.

    Storage refuses empty notes; the rest is the rule every form judges text by
    (`ui.dialogs.form_fields.text_problem`), line breaks and tabs allowed.
    """
    if not text.strip():
        return "A note needs some text."
    return text_problem("The note", text, MAX_TEXT, multiline=True)


@dataclass(frozen=True)
class NewNote:
    """What the Add note dialog asked for."""

    text: str
    klass: str


class NoteForm(QDialog):
    """The text and class of a note, with an accept button; shared by adding and editing.

    A subclass names the dialog and its accept button, and judges in `_update` when the
    button may be used.
    """

    def __init__(
        self,
        parent: QWidget | None,
        *,
        name: str,
        accept_text: str,
        text: str = "",
        klass: str = OPEN,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{name} — Valise")
        self.setAccessibleName(name)
        self.text_edit = QPlainTextEdit(self)
        self.text_edit.setAccessibleName("Note text")
        self.text_edit.setTabChangesFocus(True)
        self.text_edit.setPlainText(text)
        self.class_combo = QComboBox(self)
        self.class_combo.setAccessibleName("Class of the note")
        for value in NOTE_CLASSES:
            self.class_combo.addItem(CLASS_HINTS[value], value)
        if self.class_combo.findData(klass) < 0:  # an unknown class is shown as it is
            self.class_combo.addItem(klass, klass)
        self.class_combo.setCurrentIndex(self.class_combo.findData(klass))
        self.reason_label = reason_line("Problem with the note", self)
        self.class_hint = message_label("About the class", self)
        self.class_hint.setVisible(False)

        form = QFormLayout()
        form.addRow(caption("&Text:", self.text_edit, self), self.text_edit)
        form.addRow("", self.reason_label)
        form.addRow(caption("&Class:", self.class_combo, self), self.class_combo)
        form.addRow("", self.class_hint)
        self.buttons, self.accept_button, _cancel = lay_out_form(self, form, accept_text)
        self.text_edit.textChanged.connect(self._update)
        self.class_combo.currentIndexChanged.connect(self._update)

    def set_class(self, klass: str) -> None:
        """Choose a class (as a person would in the list)."""
        self.class_combo.setCurrentIndex(self.class_combo.findData(klass))

    def chosen_class(self) -> str:
        """The class chosen now."""
        klass = self.class_combo.currentData()
        return klass if isinstance(klass, str) else OPEN

    @Slot()
    def _update(self) -> None:
        raise NotImplementedError


class AddNoteDialog(NoteForm):
    """Asks for a note's text and class (open by default); nothing is recorded here."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, name="Add a note", accept_text="&Add note")
        self.add_button = self.accept_button
        self._update()
        self.text_edit.setFocus()

    @Slot()
    def _update(self) -> None:
        text = self.text_edit.toPlainText()
        # Blank is simply not ready yet; anything else wrong is said under the text.
        problem = note_text_problem(text) if text.strip() else ""
        show_reason(self.reason_label, problem, self.text_edit)
        self.add_button.setEnabled(bool(text.strip()) and not problem)

    def accept(self) -> None:
        """Only a note storage will take."""
        if note_text_problem(self.text_edit.toPlainText()):
            self._update()
            return
        super().accept()

    def new_note(self) -> NewNote:
        """What was typed and chosen."""
        return NewNote(self.text_edit.toPlainText(), self.chosen_class())

    @classmethod
    def ask(cls, parent: QWidget) -> NewNote | None:
        """Show the dialog modally; the new note, or None on cancel."""
        dialog = cls(parent)
        return ask_modally(dialog, dialog.new_note)


class EditNoteDialog(NoteForm):
    """Edits a note's text and class; `changes()` gives only what changed, by storage's
    field names ("text", "class").

    The text counts as changed only when it differs from what the form showed at first,
    not from the stored text: a text editor may normalise some characters on display (a
    no-break space, say), and an untouched text must never be written again, least of all
    under a lower class.
    """

    def __init__(self, note: Note, parent: QWidget | None = None) -> None:
        super().__init__(
            parent, name="Edit note", accept_text="&Save changes", text=note.text, klass=note.klass
        )
        self.note = note
        self.save_button = self.accept_button
        self.save_button.setDefault(True)
        self._shown_text = self.text_edit.toPlainText()
        self._update()
        self.text_edit.setFocus()

    def text_changed(self) -> bool:
        """True when the person changed the text."""
        return self.text_edit.toPlainText() != self._shown_text

    def changes(self) -> dict[str, str]:
        """The changed fields: "text" and/or "class"."""
        out = {}
        if self.text_changed():
            out["text"] = self.text_edit.toPlainText()
        if self.chosen_class() != self.note.klass:
            out["class"] = self.chosen_class()
        return out

    def problem(self) -> str:
        """Why the edit cannot be recorded ('' when it can); the text is judged only when
        it was changed."""
        return note_text_problem(self.text_edit.toPlainText()) if self.text_changed() else ""

    @Slot()
    def _update(self) -> None:
        problem = self.problem()
        show_reason(self.reason_label, problem, self.text_edit)
        old, new = self.note.klass, self.chosen_class()
        if lowers_class(old, new):
            hint = lowering_question(old, new, text_changed=self.text_changed())
            hint = hint.split("? ", 1)[-1] + " You will be asked to confirm."
        elif new != old:
            hint = (
                f"Text already sent while the note was {class_word(old)} is not recalled"
                f" from the peers that hold it; text written from now on {_travels(new)}."
            )
        else:
            hint = ""
        self.class_hint.setText(hint)
        self.class_hint.setVisible(bool(hint))
        judge_accept(self.save_button, problem, changed=bool(self.changes()))

    def accept(self) -> None:
        """Close with Save only while something changed and it can be recorded."""
        if self.problem() or not self.changes():
            self._update()
            return
        super().accept()

    @classmethod
    def ask(cls, parent: QWidget, note: Note) -> dict[str, str] | None:
        """Show the form modally: the changed fields, or None on cancel."""
        dialog = cls(note, parent)
        return ask_modally(dialog, dialog.changes)
