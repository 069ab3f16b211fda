"""A note's text and class change through `storage.cases.update_record`, the one write path.

A note's text is sealed by the class it is written under (storage.sealing): open text is in
the signed changeset body, protected and privileged text only as a salted commitment with
the value kept beside it. These tests check an edit does the same, and that text written
under a stricter class keeps that class when the note's class is lowered.
"""

from __future__ import annotations

import pytest

from storage import canonical, cases, changesets, queries, search
from storage.errors import InvalidInput, NotFound
from storage.records import CaseId, CustodyEvent, Note, NoteId
from storage.workspace import Workspace

OPEN_TEXT = "Ask the liaison for the Marrowlight drone footage"
SECRET = "Strategy: the Xylocarp theory of command responsibility"


def _case(ws: Workspace) -> CaseId:
    return cases.add_case(ws, "Shelling of the Oru market")


def _last_op(ws: Workspace) -> changesets.Op:
    row = ws.conn.execute("SELECT body FROM changesets ORDER BY rowid DESC LIMIT 1").fetchone()
    [op] = changesets.decode(bytes(row[0])).ops
    return op


def _bodies(ws: Workspace) -> bytes:
    return b"\n".join(bytes(r[0]) for r in ws.conn.execute("SELECT body FROM changesets"))


def _sealed_texts(ws: Workspace) -> dict[str, str]:
    """Every sealed note text kept here (each test has one note), with its kept class."""
    rows = ws.conn.execute("SELECT value, klass FROM sealed_values WHERE field = 'text'")
    return {str(canonical.decode(str(value).encode())): str(klass) for value, klass in rows}


def test_an_open_notes_text_is_changed_in_the_open(ws: Workspace) -> None:
    note_id = cases.add_note(ws, _case(ws), "First draft")
    assert cases.update_record(ws, Note, note_id, text=OPEN_TEXT) == note_id
    note = queries.get(ws.conn, Note, note_id)
    assert (note.text, note.klass) == (OPEN_TEXT, "open")
    op = _last_op(ws)
    assert (op.entity, op.kind, op.fields, op.sealed) == ("note", "update", {"text": OPEN_TEXT}, {})
    assert [hit.entity_id for hit in search.search(ws.conn, "Marrowlight")] == [note_id]
    assert search.search(ws.conn, "draft") == []


def test_the_class_is_given_as_klass_or_as_class(ws: Workspace) -> None:
    note_id = cases.add_note(ws, _case(ws), OPEN_TEXT)
    cases.update_record(ws, Note, note_id, klass="protected")
    assert queries.get(ws.conn, Note, note_id).klass == "protected"
    cases.update_record(ws, Note, note_id, **{"class": "PRIVILEGED "})
    assert queries.get(ws.conn, Note, note_id).klass == "privileged"
    with pytest.raises(InvalidInput, match="class once"):
        cases.update_record(ws, Note, note_id, klass="open", **{"class": "protected"})


def test_a_privileged_notes_new_text_is_sealed(ws: Workspace) -> None:
    note_id = cases.add_note(ws, _case(ws), "Early memo", klass="privileged")
    cases.update_record(ws, Note, note_id, text=SECRET)
    op = _last_op(ws)
    assert op.fields == {} and set(op.sealed) == {"text"}
    assert b"Xylocarp" not in _bodies(ws)
    assert _sealed_texts(ws)[SECRET] == "privileged"
    assert queries.get(ws.conn, Note, note_id).text == SECRET


def test_lowering_the_class_keeps_earlier_text_at_its_class(ws: Workspace) -> None:
    """Text written while privileged stays privileged: lowering the class writes only the
    class, and later text is written under the new one."""
    note_id = cases.add_note(ws, _case(ws), SECRET, klass="privileged")
    cases.update_record(ws, Note, note_id, klass="open")
    op = _last_op(ws)
    assert op.fields == {"class": "open"} and op.sealed == {}
    note = queries.get(ws.conn, Note, note_id)
    assert (note.text, note.klass) == (SECRET, "open")  # still readable here
    assert _sealed_texts(ws) == {SECRET: "privileged"}
    assert b"Xylocarp" not in _bodies(ws)
    cases.update_record(ws, Note, note_id, text=OPEN_TEXT)
    assert _last_op(ws).fields == {"text": OPEN_TEXT}


def test_text_left_as_it_was_is_not_written_again_under_a_lower_class(ws: Workspace) -> None:
    """A form that sends every field back must not publish privileged text by lowering
    the class: unchanged text is left out of the edit."""
    note_id = cases.add_note(ws, _case(ws), SECRET, klass="privileged")
    cases.update_record(ws, Note, note_id, text=SECRET, klass="open")
    assert _last_op(ws).fields == {"class": "open"}
    assert b"Xylocarp" not in _bodies(ws)
    with pytest.raises(InvalidInput, match="already holds that text"):
        cases.update_record(ws, Note, note_id, text=SECRET)


def test_text_and_class_in_one_edit_are_sealed_by_the_new_class(ws: Workspace) -> None:
    note_id = cases.add_note(ws, _case(ws), OPEN_TEXT)
    cases.update_record(ws, Note, note_id, text=SECRET, klass="privileged")
    op = _last_op(ws)
    assert op.fields == {"class": "privileged"} and set(op.sealed) == {"text"}
    assert _sealed_texts(ws) == {SECRET: "privileged"}
    # And back: new text written as open travels in the body.
    cases.update_record(ws, Note, note_id, text="Now public", klass="open")
    assert _last_op(ws).fields == {"text": "Now public", "class": "open"}
    assert _sealed_texts(ws) == {SECRET: "privileged"}


def test_raising_the_class_seals_later_text(ws: Workspace) -> None:
    note_id = cases.add_note(ws, _case(ws), OPEN_TEXT)
    cases.update_record(ws, Note, note_id, klass="privileged")
    cases.update_record(ws, Note, note_id, text=SECRET)
    assert set(_last_op(ws).sealed) == {"text"}
    assert b"Xylocarp" not in _bodies(ws)
    assert OPEN_TEXT.encode() in _bodies(ws)  # what was written open stays in the history


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"text": ""}, "needs some text"),
        ({"text": "   \n\t "}, "needs some text"),
        ({"text": "a\x00b"}, r"control character \(U\+0000\)"),
        ({"text": "a\x1b[2Jb"}, r"control character \(U\+001B\)"),
        ({"text": "a\u2067b"}, r"reorders the text shown around it \(U\+2067\)"),
        ({"text": "x" * 100_001}, "longer than 100000"),
        ({"text": "\udcff broken"}, "not UTF-8"),
        ({"text": 42}, "must be text"),
        ({"klass": "secret"}, "must be one of"),
        ({"klass": ""}, "must be one of"),
        ({"subject_id": "abcd"}, "cannot change"),
        ({"case_id": "abcd"}, "cannot change"),
        ({"colour": "red"}, "no field"),
        ({}, "Say what to change"),
        ({"text": None, "klass": None}, "Say what to change"),
    ],
)
def test_a_bad_note_edit_is_refused_and_changes_nothing(
    ws: Workspace, fields: dict[str, object], said: str
) -> None:
    note_id = cases.add_note(ws, _case(ws), SECRET, klass="privileged")
    before = ws.conn.execute("SELECT count(*) FROM changesets").fetchone()[0]
    with pytest.raises(InvalidInput, match=said):
        cases.update_record(ws, Note, note_id, **fields)
    assert ws.conn.execute("SELECT count(*) FROM changesets").fetchone()[0] == before
    note = queries.get(ws.conn, Note, note_id)
    assert (note.text, note.klass) == (SECRET, "privileged")


def test_long_text_with_lines_and_tabs_is_kept_exactly(ws: Workspace) -> None:
    note_id = cases.add_note(ws, _case(ws), "short")
    text = "<b>x</b>\n\tindented\u200c" + "é" * 10_000 + "\n"
    cases.update_record(ws, Note, note_id, text=text)
    assert queries.get(ws.conn, Note, note_id).text == text


@pytest.mark.parametrize(
    ("character", "said"),
    [
        ("\r", "control character (U+000D)"),
        ("\x07", "control character (U+0007)"),
        ("\x1b", "control character (U+001B)"),
        ("\x7f", "control character (U+007F)"),
        ("\x85", "control character (U+0085)"),
        ("\u202e", "character that reorders the text shown around it (U+202E)"),
        ("\u2066", "character that reorders the text shown around it (U+2066)"),
    ],
)
def test_a_note_with_a_control_character_is_refused_with_a_sentence(
    ws: Workspace, character: str, said: str
) -> None:
    """Newline and tab are the only controls a note may hold: the others steer a terminal
    or reorder what a person reads."""
    case_id = _case(ws)
    with pytest.raises(InvalidInput) as refused:
        cases.add_note(ws, case_id, f"Call back{character}tomorrow")
    assert str(refused.value) == f"The text contains a {said}; remove it."


def test_an_unknown_note_is_not_found(ws: Workspace) -> None:
    _case(ws)
    with pytest.raises(NotFound):
        cases.update_record(ws, Note, NoteId("0123456789abcdef0123"), text="x")


def test_append_only_records_are_refused_in_a_sentence(ws: Workspace) -> None:
    """Custody events never change; asking is a user error, not a KeyError."""
    with pytest.raises(InvalidInput, match="custody event cannot be changed"):
        cases.update_record(ws, CustodyEvent, "0123", note="x")


def test_the_class_a_notes_text_was_written_under_outlives_a_lowered_class(
    ws: Workspace,
) -> None:
    from storage.cases import note_text_class

    case_id = cases.add_case(ws, "Shelling of the market")
    note = cases.add_note(ws, case_id, "Our theory of the case", klass="privileged")
    assert note_text_class(ws, note) == "privileged"
    cases.update_record(ws, Note, note, klass="open")
    assert note_text_class(ws, note) == "privileged"  # that text stays at the office
    cases.update_record(ws, Note, note, text="A new, open text")
    assert note_text_class(ws, note) == "open"
    plain = cases.add_note(ws, case_id, "Call the vendor")
    assert note_text_class(ws, plain) == "open"
