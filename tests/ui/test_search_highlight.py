"""Search hits show the matched words highlighted, and the records' own text only as
text: a title from another office holding `<b>` or control characters shows them
literally (or as a visible replacement), never as markup."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QFont, QTextCursor, QTextDocument

from storage import entities, queries
from storage.cases import add_case, add_person
from storage.records import Case
from storage.search import SearchHit
from storage.workspace import Workspace
from ui.main_window import MainWindow
from ui.models.case_table import CaseIdRole
from ui.prompts import ScriptedPrompts
from ui.search_hits import SearchHitDelegate, hit_document, hit_plain_text, shown_text
from ui.tasks import TaskRunner


@pytest.fixture
def window(qtbot, ws: Workspace, runner: TaskRunner) -> MainWindow:
    main = MainWindow(ws, prompts=ScriptedPrompts(), runner=runner)
    qtbot.addWidget(main)
    main.resize(1024, 700)
    main.show()
    return main


def highlighted(document: QTextDocument) -> list[str]:
    """The runs of text drawn bold (the highlight), in order."""
    runs: list[str] = []
    text = document.toPlainText()
    cursor = QTextCursor(document)
    current = ""
    for position, char in enumerate(text):
        cursor.setPosition(position + 1)  # the format of the character before the cursor
        bold = cursor.charFormat().fontWeight() >= QFont.Weight.Bold
        if bold:
            current += char
        elif current:
            runs.append(current)
            current = ""
    return [*runs, current] if current else runs


def search(qtbot, window: MainWindow, text: str) -> list[QTextDocument]:
    window.search.box.setText(text)
    window.search.run()
    qtbot.waitUntil(lambda: not window.search.searching and window.search.summary.isVisible())
    hits = window.search.hits
    delegate = hits.itemDelegate()
    assert isinstance(delegate, SearchHitDelegate)
    documents = []
    for row in range(hits.count()):
        document = delegate.document_for(hits.model().index(row, 0))
        assert document is not None
        documents.append(document)
    return documents


def test_the_matched_words_are_highlighted_in_the_hit(qtbot, window: MainWindow, ws) -> None:
    add_case(ws, "Shelling", summary="Traders fled the market at noon, then the market burned.")
    [document] = search(qtbot, window, "market")
    assert document.toPlainText().splitlines()[1] == (
        "Traders fled the market at noon, then the market burned."
    )
    assert highlighted(document) == ["market", "market"]
    item = window.search.hits.item(0)
    assert "[market]" not in item.text() and "market" in item.text()


def test_markup_in_a_title_and_snippet_shows_literally(qtbot, window: MainWindow, ws) -> None:
    case_id = add_case(
        ws, "<b>Draft</b> & <i>co</i>", summary='<img src="x"> [sic] the market <a href=y>'
    )
    [document] = search(qtbot, window, "market")
    heading, snippet = document.toPlainText().splitlines()
    assert " · case · " in heading and heading.endswith(" <b>Draft</b> & <i>co</i>")
    assert snippet == '<img src="x"> [sic] the market <a href=y>'
    assert highlighted(document) == ["market"]  # not "Draft", not "[sic]"
    assert "<img" not in document.toHtml().split("<body")[1].replace("&lt;img", "")
    assert window.search.hits.item(0).data(CaseIdRole) == case_id


def test_control_characters_from_a_record_are_shown_not_acted_on(
    qtbot, window, ws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Such text is refused on entry now; a record written by an older Valise may hold it."""
    monkeypatch.setattr(entities, "text_problem", lambda *args, **kwargs: "")
    add_case(ws, "Convoy\x1b[31m \u202eodarep", summary="the market\x07 bell")
    [document] = search(qtbot, window, "market")
    heading, snippet = document.toPlainText().splitlines()
    assert heading.endswith("Convoy\ufffd[31m \ufffdodarep")
    assert snippet == "the market\ufffd bell"


def test_a_protected_persons_hit_still_shows_no_snippet(qtbot, window: MainWindow, ws) -> None:
    case_id = add_case(ws, "Shelling of the market")
    add_person(ws, case_id, "witness", name="Amina Kofi", protected=True, pseudonym="W-0042")
    [document] = search(qtbot, window, "Kofi")
    reference = queries.get(ws.conn, Case, case_id).reference
    assert document.toPlainText() == f"{reference} · person · W-0042"
    assert highlighted(document) == []
    assert "Kofi" not in window.search.hits.item(0).text()


def test_a_hit_whose_text_holds_only_white_space_between_matches_keeps_the_spaces() -> None:
    hit = SearchHit(
        "note",
        "n1",
        "c1",
        "VAR-1",
        "Note",
        "",
        0.0,
        (("…the ", False), ("market", True), ("  \n ", False), ("camp", True)),
    )
    document = hit_document("VAR-1 · note · Note", hit.parts)
    assert document.toPlainText().splitlines()[1] == "…the market camp"
    assert highlighted(document) == ["market", "camp"]
    assert hit_plain_text(hit) == "VAR-1 · note · Note\n…the market camp"
    assert shown_text("a\tb\x00c") == "a b\ufffdc"
