"""Recording cases and what belongs to them: persons, incidents, elements, links, notes.

Every function here builds drafts and hands them to `Workspace.commit`, the one write path,
so the GUI and the command line make exactly the same signed changesets.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from storage import grants, queries, roles
from storage.apply import current_op
from storage.dates import end_before_start
from storage.entities import clean_fields, entity
from storage.errors import InvalidInput, NotFound
from storage.records import (
    Case,
    CaseId,
    Element,
    ElementId,
    Evidence,
    Incident,
    IncidentId,
    Link,
    LinkId,
    Note,
    NoteId,
    Person,
    PersonId,
)
from storage.sealing import strictest
from storage.workspace import Draft, Workspace, new_id


def _drop_none(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def case_reference(ws: Workspace, year: int | None = None) -> str:
    """The next case reference for this office: VAR-KAB-2027-0007 (situation, office, year, n).

    The number continues after the highest one known here, not only after this office's
    counter: a workspace restored from a backup gets back, from its peers, the cases it
    opened after the backup, and must not give their numbers a second time."""
    year = year or datetime.now(UTC).year
    situation = ws.meta("situation", "")
    parts = [situation] if situation else []
    prefix = "-".join([*parts, ws.office_code, str(year)]) + "-"
    highest = queries.highest_number(ws.conn, "cases", "reference", prefix)
    number = ws.next_counter(f"case:{year}", above=highest)
    return f"{prefix}{number:04d}"


def next_pseudonym(ws: Workspace) -> str:
    """The next protected person's pseudonym, W-0007: after the highest W-number known here
    in any case (so one restored from a backup does not give a number again)."""
    highest = queries.highest_number(ws.conn, "persons", "pseudonym", "W-")
    number = ws.next_counter("witness", above=highest)
    return f"W-{number:04d}"


def _refuse_reference_in_use(ws: Workspace, reference: str, case_id: str = "") -> None:
    """A reference names one case: one typed by hand must not be another case's (checked
    once it is known to be a valid reference at all)."""
    clean_fields(entity("case"), {"reference": reference}, creating=False)
    row = ws.conn.execute(
        "SELECT id, title FROM cases WHERE reference = ? AND id != ? LIMIT 1",
        (reference, case_id),
    ).fetchone()
    if row is not None:
        raise InvalidInput(
            f"{reference} is already the reference of case {row[0]} ({row[1]}); choose"
            " another, or leave the reference out to get the next free number."
        )


def add_case(
    ws: Workspace,
    title: str,
    summary: str = "",
    *,
    reference: str | None = None,
    **fields: Any,
) -> CaseId:
    """Open a new case; returns its id."""
    if not title.strip():
        raise InvalidInput("A case needs a title.")
    case_id = CaseId(grants.new_case_id(ws.origin))
    with ws.transaction():
        if reference is not None:
            reference = reference.strip()
            if not reference:
                raise InvalidInput(
                    "A case reference cannot be blank; leave it out to get the next number."
                )
            _refuse_reference_in_use(ws, reference)
        values = {
            "reference": reference or case_reference(ws),
            "title": title.strip(),
            "summary": summary,
            "lead_office": ws.office_name,
            "opened_on": datetime.now(UTC).date().isoformat(),
        }
        values.update(_drop_none(fields))
        ws.commit(case_id, [Draft("case", case_id, "create", values)])
    return case_id


def update_case(ws: Workspace, case: str, **fields: Any) -> CaseId:
    """Change some fields of a case (those given and not None)."""
    changes = _drop_none(fields)
    if not changes:
        raise InvalidInput("Say what to change, for example --title or --summary.")
    if "title" in changes and not str(changes["title"]).strip():
        raise InvalidInput("A case needs a title.")
    case_id = CaseId(queries.resolve(ws.conn, Case, case))
    with ws.transaction():
        if "reference" in changes:
            changes["reference"] = str(changes["reference"]).strip()
            if not changes["reference"]:
                raise InvalidInput("A case needs a reference.")
            _refuse_reference_in_use(ws, changes["reference"], case_id)
        ws.commit(case_id, [Draft("case", case_id, "update", changes)])
    return case_id


def withdraw(ws: Workspace, record: type[Any], ident: str) -> str:
    """Withdraw a shared record: it stays in the history but leaves every list."""
    found = queries.get(ws.conn, record, ident)
    name = queries.TABLES[record][0]
    kind = {
        "cases": "case",
        "persons": "person",
        "incidents": "incident",
        "elements": "element",
        "evidence": "evidence",
        "links": "link",
        "notes": "note",
    }[name]
    case_id = found.id if kind == "case" else found.case_id
    ws.commit(case_id, [Draft(kind, found.id, "withdraw")], audit_action="withdraw")
    return str(found.id)


def restore_case(ws: Workspace, case: str) -> CaseId:
    """Bring back a withdrawn case: an ordinary signed edit of its `withdrawn` field that
    names the withdrawal it undoes (its `prev`), so it syncs like any change and settles,
    at every office, the edits that were flagged against that withdrawal. A withdrawal
    made elsewhere that this office has not seen stays a conflict, shown to be settled."""
    found = queries.get(ws.conn, Case, case)
    if not found.withdrawn:
        raise InvalidInput(
            f"Case {found.reference} is not withdrawn, so there is nothing to restore; it is"
            " in the case list as it is."
        )
    with ws.transaction():
        ws.commit(
            found.id,
            [Draft("case", found.id, "update", {"withdrawn": 0})],
            audit_action="case restored",
        )
    return found.id


def add_person(
    ws: Workspace,
    case: str,
    role: str,
    *,
    name: str = "",
    protected: bool = False,
    pseudonym: str | None = None,
    protection: str | None = None,
    **fields: Any,
) -> PersonId:
    """Add a person to a case. A protected person is known by pseudonym; the name is
    kept in the protected identity part."""
    case_id = CaseId(queries.resolve(ws.conn, Case, case))
    person_id = PersonId(new_id())
    level = protection or ("full" if protected else "none")
    if level == "none" and protected:
        raise InvalidInput("A protected person needs protection 'partial' or 'full'.")
    with ws.transaction():
        if level != "none" and not pseudonym:
            pseudonym = next_pseudonym(ws)
            while _pseudonym_holder(ws, case_id, pseudonym):  # one typed by hand earlier
                pseudonym = next_pseudonym(ws)
        elif level != "none" and pseudonym:
            _refuse_name_as_pseudonym(pseudonym, name)
            _refuse_taken_pseudonym(ws, case_id, pseudonym)
        if level == "none" and not (name or pseudonym):
            raise InvalidInput("Give the person a name or a pseudonym.")
        values = {
            "case_id": case_id,
            "role": role,
            "protection": level,
            "legal_name": name,
            "pseudonym": pseudonym if pseudonym is not None else name,
        }
        values.update(_drop_none(fields))
        ws.commit(case_id, [Draft("person", person_id, "create", values)])
    return person_id


def _pseudonym_holder(
    ws: Workspace, case_id: str, pseudonym: str, person_id: str | None = None
) -> str | None:
    """The id of another protected person of the case known by `pseudonym` (in any case,
    with any spaces around it), if there is one."""
    row = ws.conn.execute(
        "SELECT id FROM persons WHERE case_id = ? AND lower(trim(pseudonym)) = lower(trim(?))"
        " AND protection != 'none' AND withdrawn = 0 AND id != ?",
        (case_id, pseudonym, person_id or ""),
    ).fetchone()
    return str(row[0]) if row else None


def _refuse_name_as_pseudonym(pseudonym: object, name: object) -> None:
    """A protected person's pseudonym travels to every peer: it must not be the name."""
    if str(pseudonym).strip().casefold() == str(name or "").strip().casefold() != "":
        raise InvalidInput(
            "A protected person's pseudonym must not be their name: the pseudonym is what"
            " every peer sees. Choose another, such as W-0043."
        )


def _refuse_taken_pseudonym(
    ws: Workspace, case_id: str, pseudonym: object, person_id: str | None = None
) -> None:
    """Two protected persons of one case must not share a pseudonym: whoever reads a
    statement by "W-0042" must know which witness it is. (Two offices may still give the
    same one before they sync; that arrives as two persons, and one can be renamed.)"""
    holder = _pseudonym_holder(ws, case_id, str(pseudonym), person_id)
    if holder is not None:
        raise InvalidInput(
            f"{pseudonym} is already the pseudonym of another protected person in this"
            " case; choose another."
        )


def update_record(ws: Workspace, record: type[Any], ident: str, **fields: Any) -> str:
    """Change fields of any mutable record kind (those given and not None).

    A note's class may be given as `klass` (the name `Note` uses) or as `class`. Its text
    is sealed by the class it is written under, so text written while a note was
    privileged stays at this office even after the class is lowered (storage.sealing).
    """
    kind = _kind_of(record)
    found = queries.get(ws.conn, record, ident)
    changes = _drop_none(fields)
    if kind == "person" and changes.get("protection", found.protection) != found.protection:
        roles.require(
            ws,
            roles.CHANGE_PROTECTION,
            f"change the protection of {_person_words(found)} from {found.protection}"
            f" to {changes['protection']}",
        )
    if kind == "person" and ("pseudonym" in changes or "protection" in changes):
        protection = changes.get("protection", found.protection)
        if protection != "none":  # protected now, or still: the pseudonym must hide
            pseudonym = changes.get("pseudonym", found.pseudonym)
            _refuse_name_as_pseudonym(pseudonym, changes.get("legal_name", found.legal_name))
            _refuse_taken_pseudonym(ws, found.case_id, pseudonym, found.id)
    if kind == "incident" and ("date_from" in changes or "date_to" in changes):
        # Changing one end is judged against the other as it stands.
        _refuse_end_before_start(
            changes.get("date_from", found.date_from), changes.get("date_to", found.date_to)
        )
    if getattr(found, "withdrawn", 0) and "withdrawn" not in changes:
        label = queries.TABLES[record][1]
        raise InvalidInput(
            f"This {label} was withdrawn (perhaps by another office), so it can no longer be"
            " changed; its history keeps what it held."
        )
    if kind == "note" and changes:
        changes = _note_changes(found, changes)
        if not changes:
            raise InvalidInput("The note already holds that text; nothing was changed.")
    if not changes:
        raise InvalidInput("Say what to change.")
    case_id = found.id if kind == "case" else found.case_id
    ws.commit(case_id, [Draft(kind, found.id, "update", changes)])
    return str(found.id)


def _person_words(person: Person) -> str:
    """A person as a refusal names them: by pseudonym when protected, else by id (the
    audit chain keeps the sentence's words, and never an identity)."""
    return person.pseudonym if person.is_protected else f"person {person.id}"


_MUTABLE_KINDS: dict[type[Any], str] = {
    Case: "case",
    Person: "person",
    Incident: "incident",
    Element: "element",
    Evidence: "evidence",
    Link: "link",
    Note: "note",
}


def _kind_of(record: type[Any]) -> str:
    """The entity name of a record class that `update_record` may change."""
    try:
        return _MUTABLE_KINDS[record]
    except KeyError:
        label = queries.TABLES[record][1] if record in queries.TABLES else record.__name__
        raise InvalidInput(f"A {label} cannot be changed once recorded.") from None


def _note_changes(note: Note, changes: dict[str, Any]) -> dict[str, Any]:
    """A note update's fields by their stored names, refusing blank text. Text equal to
    what the note holds is left out: writing it again would publish, under a lowered
    class, text that was written under a stricter one."""
    if "klass" in changes:
        if "class" in changes and changes["class"] != changes["klass"]:
            raise InvalidInput("Give the note's class once.")
        changes = {("class" if name == "klass" else name): v for name, v in changes.items()}
    if "text" in changes:
        text = changes["text"]
        if isinstance(text, str) and not text.strip():
            raise InvalidInput("A note needs some text.")
        if text == note.text:
            del changes["text"]
    return changes


def add_incident(ws: Workspace, case: str, title: str, **fields: Any) -> IncidentId:
    """Record an incident (dates may be uncertain: 2027-03, before 2027-03-15)."""
    case_id = CaseId(queries.resolve(ws.conn, Case, case))
    incident_id = IncidentId(new_id())
    values = {"case_id": case_id, "title": title, **_drop_none(fields)}
    _refuse_end_before_start(values.get("date_from"), values.get("date_to"))
    ws.commit(case_id, [Draft("incident", incident_id, "create", values)])
    return incident_id


def _refuse_end_before_start(date_from: object, date_to: object) -> None:
    """Refuse an incident span whose end lies before its start (storage.dates)."""
    if not (isinstance(date_from, str) and isinstance(date_to, str)):
        return
    if problem := end_before_start(date_from, date_to):
        raise InvalidInput(problem)


def add_element(ws: Workspace, case: str, charge: str, element: str, **fields: Any) -> ElementId:
    """Add a legal element of a charge to the case matrix."""
    case_id = CaseId(queries.resolve(ws.conn, Case, case))
    element_id = ElementId(new_id())
    values = {"case_id": case_id, "charge": charge, "element": element, **_drop_none(fields)}
    ws.commit(case_id, [Draft("element", element_id, "create", values)])
    return element_id


def add_link(
    ws: Workspace, evidence: str, target: str, *, strength: str = "", status: str = ""
) -> LinkId:
    """Link an evidence item to an incident, a person or a legal element of its case."""
    item = queries.get(ws.conn, Evidence, evidence)
    target_kind, target_id = _find_target(ws, target)
    link_id = LinkId(new_id())
    values = {
        "case_id": item.case_id,
        "evidence_id": item.id,
        "target_kind": target_kind,
        "target_id": target_id,
        "strength": strength,
        "status": status,
    }
    ws.commit(item.case_id, [Draft("link", link_id, "create", values)])
    return link_id


def _find_target(ws: Workspace, target: str) -> tuple[str, str]:
    for record, kind in ((Incident, "incident"), (Person, "person"), (Element, "element")):
        try:
            return kind, queries.resolve(ws.conn, record, target)
        except NotFound:
            continue
    raise NotFound("incident, person or element", target)


def add_note(
    ws: Workspace, case: str, text: str, *, klass: str = "open", subject: str = ""
) -> NoteId:
    """Add a note to a case (or to a record in it) with its class."""
    case_id = CaseId(queries.resolve(ws.conn, Case, case))
    if not text.strip():
        raise InvalidInput("A note needs some text.")
    note_id = NoteId(new_id())
    values = {"case_id": case_id, "text": text, "class": klass, "subject_id": subject}
    ws.commit(case_id, [Draft("note", note_id, "create", values)])
    return note_id


REVEAL_ACTION = "identities revealed"


def record_reveal(ws: Workspace, case: str, person_ids: list[str]) -> None:
    """Write to the audit chain that protected identities of `case` are about to be shown
    (to a person at the screen, or printed by the command line). Callers show them only
    after this returns; the entry names the persons by id, never their identities."""
    case_id = queries.resolve(ws.conn, Case, case)
    if not roles.permitted(ws, roles.REVEAL_IDENTITY):
        roles.require(ws, roles.REVEAL_IDENTITY, _reveal_words(ws, case_id, person_ids))
    detail: dict[str, object] = {"persons": len(person_ids)}
    if len(person_ids) == 1:
        detail["person"] = person_ids[0]
    ws.record(REVEAL_ACTION, case_id, detail)


def _reveal_words(ws: Workspace, case_id: str, person_ids: list[str]) -> str:
    """What a refused reveal tried: "reveal the identity of W-0003 in case VAR-…" (the
    pseudonym only, never the identity)."""
    reference = ws.conn.execute("SELECT reference FROM cases WHERE id = ?", (case_id,))
    case = f"case {reference.fetchone()[0]}"
    if len(person_ids) != 1:
        return f"reveal the identities of protected persons in {case}"
    row = ws.conn.execute("SELECT pseudonym FROM persons WHERE id = ?", (person_ids[0],))
    found = row.fetchone()
    who = found[0] if found else "a protected person"
    return f"reveal the identity of {who} in {case}"


def may_reveal(ws: Workspace) -> bool:
    """Whether the user who unlocked may reveal protected identities (the window disables
    its Reveal button otherwise; `record_reveal` refuses, audited, whoever calls it)."""
    return roles.permitted(ws, roles.REVEAL_IDENTITY)


def who_may_reveal() -> str:
    """Who may reveal, as words for a tooltip: "Only a protection officer may reveal
    identities"."""
    return roles.who_may(roles.REVEAL_IDENTITY, "reveal identities")


def note_text_class(ws: Workspace, note_id: str) -> str:
    """The class the note's present text was written (or received) under: stricter than
    the note's class now when the class was lowered since. Such text stays at this office,
    and an edit of it would send the whole text again under the lower class."""
    note = queries.get(ws.conn, Note, note_id)
    current = current_op(ws.conn, "note", note.id, "text")
    if current is None:
        return str(note.klass)
    changeset_id, _, index = current[0].rpartition(":")
    row = ws.conn.execute(
        "SELECT klass FROM sealed_values WHERE changeset_id = ? AND op_index = ?"
        " AND field = 'text'",
        (changeset_id, int(index)),
    ).fetchone()
    return strictest(str(note.klass), str(row[0])) if row else str(note.klass)
