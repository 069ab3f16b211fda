"""Consent per person and audience: whom a person agreed to be identified to.

A person's consent is recorded as append-only, signed statements (entity `consent`): for
one audience (prosecution, tribunal, partners, public) the decision (given, refused,
unknown), the date it was given and who took it. The statement with the latest clock stamp
stands (ties broken by id, so every office reads the same). A later statement never erases
an earlier one: the history of a person's consent is kept, as a court may ask for it.

Consent fails closed: no statement, or one saying `unknown`, counts as refused. A release
of evidence to partners (NGO and defence peers) that would identify a person who has not
given consent for `partners` is refused with the reason (storage.releases). Suspects and
accused persons are not asked: their identification to partners is not theirs to consent
to; every other role (victim, witness, insider, expert, intermediary, other) is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from storage import queries
from storage.connection import Connection
from storage.entities import CONSENT_AUDIENCES, CONSENT_DECISIONS
from storage.errors import InvalidInput
from storage.records import CaseId, Person
from storage.workspace import Draft, Workspace, new_id

GIVEN = "given"
REFUSED = "refused"
UNKNOWN = "unknown"
PARTNERS = "partners"
# Roles whose identification to partners is decided without asking them.
NOT_ASKED_ROLES = ("suspect", "accused")
# The audience each restricted peer role belongs to.
AUDIENCE_OF_ROLE = {"ngo": PARTNERS, "defence": PARTNERS}


@dataclass(frozen=True)
class ConsentStatement:
    """One recorded decision of a person for one audience."""

    id: str
    person_id: str
    audience: str
    decision: str
    decided_on: str
    decided_by: str
    created_hlc: str

    @property
    def given(self) -> bool:
        """True only for an explicit "given": unknown counts as refused (fail closed)."""
        return self.decision == GIVEN

    def when_and_by(self) -> str:
        """ "recorded 2027-03-20 by N. Tesh": when the decision was taken and by whom."""
        words = "recorded"
        if self.decided_on:
            words += f" {self.decided_on}"
        if self.decided_by:
            words += f" by {self.decided_by}"
        return words


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def record_consent(
    ws: Workspace,
    person: str,
    audience: str,
    decision: str,
    *,
    decided_on: str | None = None,
    decided_by: str | None = None,
    note: str = "",
) -> str:
    """Record a person's decision for one audience (a signed, audited statement); returns
    its id. `decided_on` defaults to today, `decided_by` to this workspace's author."""
    if audience not in CONSENT_AUDIENCES:
        raise InvalidInput(
            f"The audience must be one of {', '.join(CONSENT_AUDIENCES)}; got {audience!r}."
        )
    if decision not in CONSENT_DECISIONS:
        raise InvalidInput(
            f"The decision must be one of {', '.join(CONSENT_DECISIONS)}; got {decision!r}."
        )
    found = queries.get(ws.conn, Person, person)
    if found.withdrawn:
        raise InvalidInput("This person was withdrawn, so their consent can no longer be recorded.")
    statement_id = new_id()
    values = {
        "case_id": found.case_id,
        "person_id": found.id,
        "audience": audience,
        "decision": decision,
        "decided_on": decided_on or _today(),
        "decided_by": ws.author if decided_by is None else decided_by,
        "note": note,
    }
    ws.commit(
        found.case_id,
        [Draft("consent", statement_id, "create", values)],
        audit_action="consent recorded",
        audit_detail={"person": found.id, "audience": audience, "decision": decision},
    )
    return statement_id


_COLUMNS = "id, person_id, audience, decision, decided_on, decided_by, created_hlc"


def consent_history(conn: Connection, person_id: str) -> list[ConsentStatement]:
    """Every statement about a person, oldest first."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM person_consents WHERE person_id = ? ORDER BY created_hlc, id",
        (person_id,),
    )
    return [ConsentStatement(*(str(value) for value in row)) for row in rows]


def current_consent(conn: Connection, person_id: str) -> dict[str, ConsentStatement]:
    """The statement standing per audience (audiences never decided are absent)."""
    standing: dict[str, ConsentStatement] = {}
    for statement in consent_history(conn, person_id):
        standing[statement.audience] = statement  # later stamps come later
    return standing


def person_label(person: Person) -> str:
    """How a refusal names a person: the pseudonym (never a protected name)."""
    return person.pseudonym.strip() or f"person {person.id[:8]}"


class CaseConsent:
    """A case's persons, the consent standing for each and the persons each item is linked
    to, read once (three queries), so that judging many items of the case (a projection of
    a hundred released items) costs one more query per item, not one per person."""

    def __init__(self, conn: Connection, case_id: str) -> None:
        self._conn = conn
        self.persons = queries.in_case(conn, Person, CaseId(case_id))  # withdrawn left out
        self._standing: dict[str, dict[str, ConsentStatement]] = {}
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM person_consents WHERE case_id = ? ORDER BY created_hlc, id",
            (case_id,),
        )
        for row in rows:
            statement = ConsentStatement(*(str(value) for value in row))
            self._standing.setdefault(statement.person_id, {})[statement.audience] = statement
        self._linked: dict[str, set[str]] = {}
        rows = conn.execute(
            "SELECT evidence_id, target_id FROM links WHERE case_id = ?"
            " AND target_kind = 'person' AND withdrawn = 0",
            (case_id,),
        )
        for evidence_id, person_id in rows:
            self._linked.setdefault(str(evidence_id), set()).add(str(person_id))

    def identified(self, evidence_id: str, source: str) -> list[Person]:
        """The persons the item may identify: those it is linked to, and those its source
        names (a statement's source is the witness's pseudonym), in a fixed order."""
        linked = self._linked.get(evidence_id, set())
        wanted = source.strip().casefold()

        def named(person: Person) -> bool:
            names = (person.pseudonym.strip().casefold(), person.legal_name.strip().casefold())
            return bool(wanted) and wanted in names

        return [p for p in self.persons if p.id in linked or named(p)]

    def problem(self, evidence_id: str, audience: str) -> str:
        """Why releasing the item to `audience` would go against someone's consent, as a
        sentence ('' when nothing stands in the way). An item flagged as identifying a
        witness that names no person is refused too: whose consent counts is not known."""
        row = self._conn.execute(
            "SELECT source, sensitivity FROM evidence WHERE id = ?", (evidence_id,)
        ).fetchone()
        if row is None:
            return "The item is not known here."
        persons = self.identified(evidence_id, str(row[0]))
        for person in persons:
            if person.role in NOT_ASKED_ROLES:
                continue
            statement = self._standing.get(person.id, {}).get(audience)
            label = person_label(person)
            if statement is None or statement.decision == UNKNOWN:
                return (
                    f"{label} has not consented to be identified to {audience}; ask the"
                    " protection officer, and record the decision with `valise person"
                    " consent` or in the person's form."
                )
            if statement.decision == REFUSED:
                return (
                    f"{label} has refused to be identified to {audience}"
                    f" ({statement.when_and_by()}); ask the protection officer."
                )
        if not persons and "identifies a witness" in str(row[1]):
            return (
                "The item is flagged as identifying a witness but is linked to no person,"
                " so nobody's consent can be checked; link it to the witness first."
            )
        return ""


def _case_of(conn: Connection, evidence_id: str) -> str:
    row = conn.execute("SELECT case_id FROM evidence WHERE id = ?", (evidence_id,)).fetchone()
    return str(row[0]) if row else ""


def consent_problem(conn: Connection, evidence_id: str, audience: str) -> str:
    """Why releasing one item to `audience` would go against someone's consent, as a
    sentence ('' when nothing stands in the way; see `CaseConsent.problem`)."""
    return CaseConsent(conn, _case_of(conn, evidence_id)).problem(evidence_id, audience)
