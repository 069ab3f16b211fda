"""The incident and legal element forms: every field in one dialog, judged as it is typed.

The dialogs are real widgets driven with qtbot (typing, ticking, Enter and Escape) and
never run modally; what they return is what the tabs record.
"""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from ui.dialogs.element_form import ElementDraft, ElementForm
from ui.dialogs.incident_form import IncidentDraft, IncidentForm, RecordForm, text_problem

CHARGE = "Murder as a war crime"
CHARGES = {CHARGE: "8(2)(c)(i)", "Pillage": "8(2)(e)(v)", "Rape as a war crime": ""}


def incident_form(qtbot: QtBot, original: IncidentDraft | None = None) -> IncidentForm:
    form = IncidentForm(None, original)
    qtbot.addWidget(form)
    form.show()
    qtbot.waitExposed(form)
    return form


def element_form(
    qtbot: QtBot, original: ElementDraft | None = None, charges: dict[str, str] | None = None
) -> ElementForm:
    form = ElementForm(None, original, CHARGES if charges is None else charges)
    qtbot.addWidget(form)
    form.show()
    qtbot.waitExposed(form)
    return form


def shown_reasons(form: RecordForm) -> dict[str, str]:
    return {key: form.reason(key) for key in form._reasons if form.reason(key)}


MARKET = IncidentDraft(
    title="Market shelled",
    date_from="before  2027-03-15",  # as once typed: stored before normalising existed
    date_to="",
    location="Oru",
    act_types="attack on civilians",
    status="unverified",
    description="Three rounds in the morning.\nWitnesses W-0042 and W-0043.",
)


# -- the incident form ---------------------------------------------------------------------


def test_a_new_incident_needs_only_a_title_and_gives_every_field(qtbot: QtBot) -> None:
    form = incident_form(qtbot)
    assert not form.ok_button.isEnabled()
    assert shown_reasons(form) == {}  # an empty new form does not open with complaints
    assert "needs a title" in form.ok_button.toolTip()
    qtbot.keyClicks(form.title_edit, "  Shelling of the school ")
    assert form.ok_button.isEnabled()
    qtbot.keyClicks(form.from_edit, "About 2027-03-10")
    qtbot.keyClicks(form.location_edit, "Oru")
    form.set_act_types(["killing", "attack on civilians"])
    qtbot.keyClicks(form.description_edit, "Two classrooms hit.")
    assert form.changes() == {
        "title": "Shelling of the school",
        "date_from": "about 2027-03-10",
        "date_to": "",
        "location": "Oru",
        "act_types": "killing, attack on civilians",
        "status": "open",
        "description": "Two classrooms hit.",
    }


def test_clearing_the_title_says_why_ok_is_disabled(qtbot: QtBot) -> None:
    form = incident_form(qtbot)
    qtbot.keyClicks(form.title_edit, "Raid")
    form.title_edit.selectAll()
    qtbot.keyClick(form.title_edit, Qt.Key.Key_Backspace)
    assert not form.ok_button.isEnabled()
    assert "needs a title" in form.reason("title")
    assert form.title_edit.accessibleDescription() == form.reason("title")


@pytest.mark.parametrize(
    ("field", "typed", "key", "said"),
    [
        (
            "from",
            "2027-13",
            "date_from",
            "The start date '2027-13' does not exist in the calendar.",
        ),
        ("from", "March 2027", "date_from", "'March 2027' is not a date Valise understands."),
        ("from", "1066", "date_from", "The start date '1066' has an implausible year."),
        ("to", "soon", "date_to", "The end date 'soon' is not a date Valise understands."),
        ("to", "2027-02", "date_to", "would end (2027-02) before it starts (2027-03)"),
        ("to", "before 2027-03", "date_to", "would end (before 2027-03) before it starts"),
    ],
)
def test_a_date_valise_cannot_read_is_refused_live_with_the_reason_under_it(
    qtbot: QtBot, field: str, typed: str, key: str, said: str
) -> None:
    form = incident_form(qtbot)
    qtbot.keyClicks(form.title_edit, "Raid")
    if field == "to":
        qtbot.keyClicks(form.from_edit, "2027-03")
    edit = form.from_edit if field == "from" else form.to_edit
    qtbot.keyClicks(edit, typed)
    assert said in form.reason(key)
    assert list(shown_reasons(form)) == [key]
    assert not form.ok_button.isEnabled()
    qtbot.keyClick(edit, Qt.Key.Key_Return)  # Enter does not get past a bad date
    assert form.isVisible() and form.result() != QDialog.DialogCode.Accepted
    edit.clear()
    assert form.reason(key) == ""
    assert form.ok_button.isEnabled()


def test_enter_accepts_a_valid_form_and_escape_cancels(qtbot: QtBot) -> None:
    form = incident_form(qtbot)
    qtbot.keyClicks(form.title_edit, "Raid")
    with qtbot.waitSignal(form.accepted, timeout=1000):
        qtbot.keyClick(form.title_edit, Qt.Key.Key_Return)
    assert form.result() == QDialog.DialogCode.Accepted

    other = incident_form(qtbot)
    qtbot.keyClicks(other.title_edit, "Raid")
    with qtbot.waitSignal(other.rejected, timeout=1000):
        qtbot.keyClick(other.title_edit, Qt.Key.Key_Escape)
    assert other.result() == QDialog.DialogCode.Rejected


@pytest.mark.parametrize(
    "field", ["title_edit", "from_edit", "to_edit", "location_edit", "acts_list", "status_combo"]
)
def test_enter_in_any_one_line_field_accepts(qtbot: QtBot, field: str) -> None:
    form = incident_form(qtbot, MARKET)
    widget = getattr(form, field)
    widget.setFocus()
    with qtbot.waitSignal(form.accepted, timeout=1000):
        qtbot.keyClick(widget, Qt.Key.Key_Return)


def test_enter_in_the_description_starts_a_new_line(qtbot: QtBot) -> None:
    form = incident_form(qtbot, MARKET)
    form.description_edit.clear()
    qtbot.keyClicks(form.description_edit, "one")
    with qtbot.assertNotEmitted(form.accepted):
        qtbot.keyClick(form.description_edit, Qt.Key.Key_Return)
    qtbot.keyClicks(form.description_edit, "two")
    assert form.changes()["description"] == "one\ntwo"


def test_a_script_cannot_accept_an_invalid_form(qtbot: QtBot) -> None:
    form = incident_form(qtbot)
    form.accept()
    assert form.isVisible()
    assert "needs a title" in form.reason("title")  # now said, since OK was tried


def test_editing_starts_from_the_incident_and_returns_only_what_changed(qtbot: QtBot) -> None:
    form = incident_form(qtbot, MARKET)
    assert form.windowTitle().startswith("Edit incident")
    assert form.ok_button.text() == "Sa&ve changes"
    assert form.title_edit.text() == "Market shelled"
    assert form.act_types() == ["attack on civilians"]
    assert form.status_combo.currentData() == "unverified"
    assert form.description_edit.toPlainText() == MARKET.description
    assert form.ok_button.isEnabled()
    assert form.changes() == {}  # the old spacing of the date is not a change
    qtbot.keyClicks(form.location_edit, " market square")
    form.set_act_types(["attack on civilians", "killing"])
    form.set_status("corroborated")
    assert form.changes() == {
        "location": "Oru market square",
        "act_types": "killing, attack on civilians",
        "status": "corroborated",
    }


def test_editing_can_empty_an_optional_field(qtbot: QtBot) -> None:
    form = incident_form(qtbot, MARKET)
    form.from_edit.clear()
    form.description_edit.clear()
    assert form.ok_button.isEnabled()
    assert form.changes() == {"date_from": "", "description": ""}


def test_acts_are_ticked_with_the_keyboard(qtbot: QtBot) -> None:
    form = incident_form(qtbot)
    form.acts_list.setFocus()
    form.acts_list.setCurrentRow(1)
    qtbot.keyClick(form.acts_list, Qt.Key.Key_Space)
    assert form.act_types() == ["torture"]
    qtbot.keyClick(form.acts_list, Qt.Key.Key_Space)
    assert form.act_types() == []


def test_a_ten_thousand_character_title_is_refused_with_its_length(qtbot: QtBot) -> None:
    """Nothing is cut off silently: the reason gives the length and the limit."""
    form = incident_form(qtbot)
    form.title_edit.setText("x" * 9_990)  # as pasted
    qtbot.keyClicks(form.title_edit, "y" * 10)
    assert len(form.title_edit.text()) == 10_000
    assert form.reason("title") == (
        "The title is 10,000 characters long; at most 1,000 can be recorded. Shorten it."
    )
    assert not form.ok_button.isEnabled()


@pytest.mark.parametrize("pasted", ["Raid\x07", "Ra\x1bid", "Raid\x00", "Raid\x85"])
def test_a_pasted_control_character_is_refused(qtbot: QtBot, pasted: str) -> None:
    form = incident_form(qtbot)
    form.title_edit.setText(pasted)  # typing cannot produce them; pasting can
    assert "contains a control character (U+" in form.reason("title")
    assert not form.ok_button.isEnabled()


@pytest.mark.parametrize("pasted", ["Raid \u202eW-0042", "Raid \u2066x\u2069"])
def test_a_pasted_bidi_override_is_refused(qtbot: QtBot, pasted: str) -> None:
    """Overrides and isolates reorder what a person reads; storage refuses them, and the
    form says so before OK."""
    form = incident_form(qtbot)
    form.title_edit.setText(pasted)
    assert "reorders the text shown around it" in form.reason("title")
    assert not form.ok_button.isEnabled()


def test_a_broken_character_is_refused() -> None:
    """Qt drops lone surrogates from a field, but the rule stands in case one gets through
    (storage refuses them: the database cannot hold them)."""
    assert "broken character" in text_problem("The place", "Oru \ud800", 1000)


def test_a_description_may_hold_lines_and_tabs_but_not_other_controls(qtbot: QtBot) -> None:
    form = incident_form(qtbot)
    qtbot.keyClicks(form.title_edit, "Raid")
    form.description_edit.setPlainText("First line\n\tindented")
    assert form.ok_button.isEnabled()
    assert form.values()["description"] == "First line\n\tindented"
    form.description_edit.setPlainText("First line\x0c")
    assert "U+000C" in form.reason("description")


def test_html_is_shown_and_returned_literally(qtbot: QtBot) -> None:
    form = incident_form(qtbot)
    qtbot.keyClicks(form.title_edit, "<b>html</b>")
    qtbot.keyClicks(form.from_edit, "<i>2027</i>")
    assert form.reason("date_from").startswith("The start date '<i>2027</i>' is not a date")
    for label in form.findChildren(QLabel):
        assert label.textFormat() == Qt.TextFormat.PlainText, label.text()
    form.from_edit.clear()
    assert form.changes()["title"] == "<b>html</b>"


# -- the element form ------------------------------------------------------------------------


def test_a_new_element_needs_a_charge_and_the_element(qtbot: QtBot) -> None:
    form = element_form(qtbot)
    assert not form.ok_button.isEnabled()
    assert shown_reasons(form) == {}
    qtbot.keyClicks(form.charge_combo.lineEdit(), "Pillage")
    assert not form.ok_button.isEnabled()
    qtbot.keyClicks(form.element_edit, "The perpetrator appropriated property")
    assert form.ok_button.isEnabled()
    form.element_edit.setPlainText("   ")
    assert form.reason("element") == "Say what must be proved for this charge."
    form.charge_combo.setEditText("")
    assert "needs a charge" in form.reason("charge")
    assert not form.ok_button.isEnabled()


def test_the_charge_field_offers_the_cases_charges_and_brings_their_article(
    qtbot: QtBot,
) -> None:
    form = element_form(qtbot)
    offered = [form.charge_combo.itemText(i) for i in range(form.charge_combo.count())]
    assert offered == list(CHARGES)
    assert form.charge_combo.currentText() == ""
    form.set_charge("Pillage")
    assert form.article_edit.text() == "8(2)(e)(v)"
    form.set_charge(CHARGE)  # an article filled in by a charge follows the charge
    assert form.article_edit.text() == "8(2)(c)(i)"
    form.set_charge("Torture")
    assert form.article_edit.text() == ""
    qtbot.keyClicks(form.article_edit, "8(2)(c)(i) typed")
    form.set_charge("Pillage")  # an article the person typed stays
    assert form.article_edit.text() == "8(2)(c)(i) typed"


def test_a_new_charge_that_begins_like_an_old_one_stays_as_typed(qtbot: QtBot) -> None:
    form = element_form(qtbot)
    qtbot.keyClicks(form.charge_combo.lineEdit(), "Murder")
    qtbot.keyClicks(form.element_edit, "The perpetrator killed one or more persons")
    with qtbot.waitSignal(form.accepted, timeout=1000):
        qtbot.keyClick(form.charge_combo.lineEdit(), Qt.Key.Key_Return)
    assert form.changes() == {
        "charge": "Murder",
        "article": "",
        "element": "The perpetrator killed one or more persons",
        "mode_of_liability": "",
    }


def test_editing_an_element_returns_only_what_changed(qtbot: QtBot) -> None:
    original = ElementDraft(CHARGE, "8(2)(c)(i)", "The perpetrator killed a person", "")
    form = element_form(qtbot, original)
    assert form.windowTitle().startswith("Edit element")
    assert form.charge_combo.currentText() == CHARGE
    assert form.changes() == {}
    qtbot.keyClicks(form.mode_edit, "co-perpetration")
    form.element_edit.setPlainText("The perpetrator killed one or more persons")
    assert form.changes() == {
        "element": "The perpetrator killed one or more persons",
        "mode_of_liability": "co-perpetration",
    }
    form.set_charge("Pillage")  # the article was not filled in by a charge: it stays
    assert form.changes()["charge"] == "Pillage" and "article" not in form.changes()


def test_element_garbage_is_refused_with_reasons(qtbot: QtBot) -> None:
    form = element_form(qtbot, charges={})
    assert form.charge_combo.count() == 0
    form.charge_combo.setEditText("<b>Murder</b>\x07")
    form.article_edit.setText("8" * 129)
    form.element_edit.setPlainText("e" * 100_001)
    assert "control character" in form.reason("charge")
    assert "129 characters long; at most 128" in form.reason("article")
    assert "100,001 characters long" in form.reason("element")
    assert not form.ok_button.isEnabled()
    form.charge_combo.setEditText("<b>Murder</b>")
    form.article_edit.setText("8(2)(c)(i)")
    form.element_edit.setPlainText("killed")
    assert form.ok_button.isEnabled()
    assert form.values()["charge"] == "<b>Murder</b>"


# -- both forms: reachable from the keyboard and for screen readers --------------------------


@pytest.mark.parametrize("editing", [False, True], ids=["add", "edit"])
@pytest.mark.parametrize("kind", ["incident", "element"])
def test_every_control_is_named_has_a_captioned_mnemonic_and_mnemonics_differ(
    qtbot: QtBot, kind: str, editing: bool
) -> None:
    form: RecordForm
    if kind == "incident":
        form = incident_form(qtbot, MARKET if editing else None)
    else:
        form = element_form(qtbot, ElementDraft(CHARGE, "", "killed", "") if editing else None)
    assert form.accessibleName()
    inputs = (QLineEdit, QPlainTextEdit, QComboBox, QListWidget, QAbstractButton)
    for control in form.findChildren(QWidget):
        if isinstance(control, inputs) and control.isVisible():
            assert control.accessibleName(), type(control).__name__
    buddies = {label.buddy(): label.text() for label in form.findChildren(QLabel) if label.buddy()}
    assert set(buddies) == set(form._fields.values())
    keys = [re.search(r"&(\w)", text) for text in buddies.values()]
    keys.append(re.search(r"&(\w)", form.ok_button.text()))
    letters = [match.group(1).lower() for match in keys if match]
    assert len(letters) == len(buddies) + 1  # every caption and OK have one
    assert len(set(letters)) == len(letters), letters


@pytest.mark.parametrize("kind", ["incident", "element"])
def test_alt_and_a_captions_letter_moves_to_its_field(qtbot: QtBot, kind: str) -> None:
    form: RecordForm = IncidentForm(None) if kind == "incident" else ElementForm(None)
    qtbot.addWidget(form)
    with qtbot.waitActive(form):
        form.show()
        form.activateWindow()
    captions = [label for label in form.findChildren(QLabel) if label.buddy()]
    for label in reversed(captions):
        match = re.search(r"&(\w)", label.text())
        assert match is not None
        key = getattr(Qt.Key, f"Key_{match.group(1).upper()}")
        focused = QApplication.focusWidget()
        assert focused is not None
        qtbot.keyClick(focused, key, Qt.KeyboardModifier.AltModifier)
        now = QApplication.focusWidget()
        assert now is label.buddy() or (now is not None and now.parent() is label.buddy())


@pytest.mark.parametrize("kind", ["incident", "element"])
def test_tab_goes_through_the_fields_in_order_then_the_buttons(qtbot: QtBot, kind: str) -> None:
    form: RecordForm = IncidentForm(None) if kind == "incident" else ElementForm(None)
    qtbot.addWidget(form)
    with qtbot.waitActive(form):
        form.show()
        form.activateWindow()
    if isinstance(form, IncidentForm):
        qtbot.keyClicks(form.title_edit, "Raid")  # so that OK takes the focus too
    else:
        form.set_charge(CHARGE)
        form.element_edit.setPlainText("killed")
    expected = [*form._fields.values(), form.ok_button, form.cancel_button]
    visited = []
    for _ in expected:
        focused = QApplication.focusWidget()
        assert focused is not None
        combo = focused.parent()  # an editable combo gives the focus to its line
        visited.append(combo if isinstance(combo, QComboBox) else focused)
        qtbot.keyClick(focused, Qt.Key.Key_Tab)
    assert visited == expected


def test_text_problem_counts_characters_not_bytes() -> None:
    assert text_problem("The title", "é" * 1000, 1000) == ""
    assert text_problem("The title", "é" * 1001, 1000).startswith("The title is 1,001")
