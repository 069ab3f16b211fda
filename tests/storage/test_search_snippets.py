"""A hit's snippet comes as (text, matched) pieces, so a view can highlight the matched
words; a record's own brackets or mark characters are never taken for a match."""

from __future__ import annotations

import pytest

from storage import cases, entities
from storage.search import SearchHit, bracketed, search_results, snippet_parts
from storage.workspace import Workspace


def _only_hit(ws: Workspace, text: str, entity: str) -> SearchHit:
    [hit] = [h for h in search_results(ws.conn, text, 50).hits if h.entity == entity]
    return hit


def test_matched_words_come_as_marked_pieces_of_the_snippet(ws: Workspace) -> None:
    case_id = cases.add_case(ws, "Shelling", summary="Traders fled the market at noon.")
    hit = _only_hit(ws, "market", "case")
    assert hit.case_id == case_id
    assert ("market", True) in hit.parts
    assert "".join(text for text, _ in hit.parts) == "Traders fled the market at noon."
    assert hit.snippet == "Traders fled the [market] at noon."  # as the command line shows it


def test_brackets_in_a_record_are_its_text_not_a_match(ws: Workspace) -> None:
    cases.add_case(ws, "Shelling", summary="[draft] <b>market</b> & [sic] notes")
    hit = _only_hit(ws, "market", "case")
    assert [text for text, matched in hit.parts if matched] == ["market"]
    assert ("[draft] <b>", False) in hit.parts


def test_a_record_holding_the_mark_characters_gets_no_marks_at_all(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Text entered now may not hold the marks (they are control characters), but a record
    written by an older Valise may; its marks must not become highlights."""
    monkeypatch.setattr(entities, "text_problem", lambda *args, **kwargs: "")
    cases.add_case(ws, "Shelling", summary="a \x02forged\x03 mark near the market")
    hit = _only_hit(ws, "market", "case")
    assert hit.parts == (("a \x02forged\x03 mark near the market", False),)
    assert hit.snippet == "a \x02forged\x03 mark near the market"


def test_a_protected_persons_hit_has_no_snippet_pieces(ws: Workspace) -> None:
    case_id = cases.add_case(ws, "Shelling of the market")
    cases.add_person(ws, case_id, "witness", name="Amina Kofi", protected=True, pseudonym="W-7")
    hit = _only_hit(ws, "Kofi", "person")
    assert hit.parts == () and hit.snippet == "" and hit.title == "W-7"


def test_pieces_and_brackets_from_fts5_marks() -> None:
    parts = snippet_parts("…the \x02market\x03 and \x02camp\x03", "…the market and camp")
    assert parts == (("…the ", False), ("market", True), (" and ", False), ("camp", True))
    assert bracketed(parts) == "…the [market] and [camp]"
    assert snippet_parts("", "") == ()
