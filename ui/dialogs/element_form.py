"""The legal element form: a charge, its article, the element to prove and the mode of
liability, in one dialog, to add an element to the matrix or to edit one.

Elements are grouped by charge in the matrix, so a charge typed slightly differently starts
a new group. The charge field therefore offers the case's existing charges (choose one, or
type a new one), and choosing a known charge fills in the article its elements use. As in
the incident form (both are a `ui.dialogs.form_fields.RecordForm`), each field is judged as
it is typed with storage's rules, the reason stands under the field, and editing returns
only the fields that changed, for `storage.cases.update_record`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

from storage.entities import MAX_SHORT, MAX_TEXT
from storage.records import Element
from ui.dialogs.form_fields import RecordForm, ask_modally, text_problem

MAX_ARTICLE = 128  # storage.entities: the element's article is text(128)


@dataclass(frozen=True)
class ElementDraft:
    """The values an element form starts from when editing (as stored)."""

    charge: str = ""
    article: str = ""
    element: str = ""
    mode_of_liability: str = ""

    @classmethod
    def of(cls, element: Element) -> ElementDraft:
        """The editable fields of a stored element."""
        return cls(
            charge=element.charge,
            article=element.article,
            element=element.element,
            mode_of_liability=element.mode_of_liability,
        )


class ElementForm(RecordForm):
    """Asks for a legal element: charge (required), article, element text (required) and
    mode of liability.

    `charges` maps the case's charges, in the matrix's order, to the article their elements
    use ('' when none); they are offered in the charge field. Without `original` the form
    adds (OK gives every field); with one it edits (OK gives only the changed fields).
    """

    def __init__(
        self,
        parent: QWidget | None = None,
        original: ElementDraft | None = None,
        charges: Mapping[str, str] | None = None,
    ) -> None:
        editing = original is not None
        super().__init__(
            parent,
            name="Edit element" if editing else "Add a legal element",
            accept_text="Sa&ve changes" if editing else "&Add element",
            editing=editing,
        )
        start = original or ElementDraft()
        self._charges = dict(charges or {})
        self._filled_article = ""  # the article last filled in from a chosen charge

        self.charge_combo = QComboBox(self)
        self.charge_combo.setEditable(True)
        self.charge_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.charge_combo.addItems(list(self._charges))
        self.charge_combo.setCurrentIndex(-1)
        self.charge_combo.setEditText(start.charge)
        charge_line = self.charge_combo.lineEdit()
        assert charge_line is not None  # an editable combo always has one
        charge_line.setPlaceholderText("Choose a charge of the case or type a new one")
        charge_line.setAccessibleName("Charge")
        # A popup instead of inline completion: typing a new charge that begins like an
        # existing one must not silently become the existing one.
        completer = QCompleter(list(self._charges), self.charge_combo)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.charge_combo.setCompleter(completer)
        self.charge_combo.setToolTip(
            "Elements are grouped by charge: choose the charge as already written to add"
            " to its group"
        )
        self.article_edit = QLineEdit(start.article, self)
        self.article_edit.setPlaceholderText("e.g. 8(2)(c)(i); may stay empty")
        self.element_edit = QPlainTextEdit(start.element, self)
        self.element_edit.setTabChangesFocus(True)
        self.element_edit.setPlaceholderText(
            "What must be proved, e.g. The perpetrator killed one or more persons"
        )
        self.element_edit.setMinimumHeight(self.fontMetrics().lineSpacing() * 4)
        self.mode_edit = QLineEdit(start.mode_of_liability, self)
        self.mode_edit.setPlaceholderText(
            "e.g. direct perpetration, ordering, command responsibility; may stay empty"
        )

        self._add_row("charge", "&Charge:", self.charge_combo, "Charge")
        self._add_row("article", "A&rticle:", self.article_edit, "Article")
        self._add_row("element", "&Element:", self.element_edit, "Element to prove")
        self._add_row(
            "mode_of_liability", "&Mode of liability:", self.mode_edit, "Mode of liability"
        )
        self._watch()
        self.charge_combo.currentTextChanged.connect(self._on_charge_changed)
        self.charge_combo.setFocus()

    @Slot(str)
    def _on_charge_changed(self, text: str) -> None:
        """A known charge brings its article, unless the person typed an article already."""
        article = self.article_edit.text()
        if article and article != self._filled_article:
            return
        known = self._charges.get(text.strip(), "")
        self._filled_article = known
        if known != article:
            self.article_edit.setText(known)

    def set_charge(self, charge: str) -> None:
        """Choose or type a charge (as a person would in the charge field)."""
        index = self.charge_combo.findText(charge)
        if index >= 0:
            self.charge_combo.setCurrentIndex(index)
        else:
            self.charge_combo.setEditText(charge)

    def values(self) -> dict[str, str]:
        """Every field as storage will record it (text trimmed)."""
        return {
            "charge": self.charge_combo.currentText().strip(),
            "article": self.article_edit.text().strip(),
            "element": self.element_edit.toPlainText().strip(),
            "mode_of_liability": self.mode_edit.text().strip(),
        }

    def _check(self) -> dict[str, str]:
        found: dict[str, str] = {}
        charge = self.charge_combo.currentText()
        if not charge.strip():
            found["charge"] = "An element needs a charge: choose one of the case or type one."
        elif problem := text_problem("The charge", charge, MAX_SHORT):
            found["charge"] = problem
        if problem := text_problem("The article", self.article_edit.text(), MAX_ARTICLE):
            found["article"] = problem
        element = self.element_edit.toPlainText()
        if not element.strip():
            found["element"] = "Say what must be proved for this charge."
        elif problem := text_problem("The element", element, MAX_TEXT, multiline=True):
            found["element"] = problem
        if problem := text_problem("The mode of liability", self.mode_edit.text(), MAX_SHORT):
            found["mode_of_liability"] = problem
        return found

    @classmethod
    def ask(
        cls,
        parent: QWidget,
        original: ElementDraft | None = None,
        charges: Mapping[str, str] | None = None,
    ) -> dict[str, str] | None:
        """Show the form modally: the fields to record (all when adding, the changed ones
        when editing), or None on cancel."""
        form = cls(parent, original, charges)
        return ask_modally(form, form.changes)
