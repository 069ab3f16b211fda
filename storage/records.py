"""Typed ids and frozen records that cross from storage to the UI and the command line."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, NewType

CaseId = NewType("CaseId", str)
PersonId = NewType("PersonId", str)
IncidentId = NewType("IncidentId", str)
ElementId = NewType("ElementId", str)
EvidenceId = NewType("EvidenceId", str)
LinkId = NewType("LinkId", str)
NoteId = NewType("NoteId", str)
CustodyEventId = NewType("CustodyEventId", str)


class Record:
    """Mixin: a record as a plain dict, for `--json` output."""

    def to_json(self) -> dict[str, Any]:
        """Every field, JSON-ready."""
        return asdict(self)  # type: ignore[call-overload, no-any-return]


@dataclass(frozen=True)
class Case(Record):
    """A case file."""

    id: CaseId
    reference: str
    title: str
    summary: str
    status: str
    categories: str
    jurisdiction: str
    location: str
    opened_on: str
    lead_office: str
    withdrawn: int
    created_hlc: str
    updated_hlc: str


@dataclass(frozen=True)
class Person(Record):
    """A person in a case; the identity fields are protected."""

    id: PersonId
    case_id: CaseId
    role: str
    pseudonym: str
    protection: str
    languages: str
    consent: str
    legal_name: str
    aliases: str
    birth_date: str
    contact: str
    home_location: str
    withdrawn: int
    created_hlc: str
    updated_hlc: str

    @property
    def is_protected(self) -> bool:
        """True when the identity must be shown only on an explicit reveal."""
        return self.protection != "none"

    @property
    def display_name(self) -> str:
        """What to show by default: the pseudonym for a protected person."""
        return self.pseudonym if self.is_protected else (self.legal_name or self.pseudonym)


@dataclass(frozen=True)
class Incident(Record):
    """Who did what to whom, when and where (dates may be uncertain)."""

    id: IncidentId
    case_id: CaseId
    title: str
    description: str
    date_from: str
    date_to: str
    location: str
    coordinates: str
    act_types: str
    status: str
    withdrawn: int
    created_hlc: str
    updated_hlc: str


@dataclass(frozen=True)
class Element(Record):
    """One legal element of a charge, with its mode of liability."""

    id: ElementId
    case_id: CaseId
    charge: str
    article: str
    element: str
    mode_of_liability: str
    withdrawn: int
    created_hlc: str
    updated_hlc: str


@dataclass(frozen=True)
class Evidence(Record):
    """One row of the evidence register."""

    id: EvidenceId
    case_id: CaseId
    ern: str
    title: str
    type: str
    description: str
    created_at: str
    collected_at: str
    collected_by: str
    collection_method: str
    collection_location: str
    source: str
    original_name: str
    media_type: str
    size: int
    sha256: str
    classification: str
    sensitivity: str
    custody_status: str
    current_holder: str
    withdrawn: int
    created_hlc: str
    updated_hlc: str


@dataclass(frozen=True)
class Link(Record):
    """Evidence supporting an incident, a person or a legal element."""

    id: LinkId
    case_id: CaseId
    evidence_id: EvidenceId
    target_kind: str
    target_id: str
    strength: str
    status: str
    withdrawn: int
    created_hlc: str
    updated_hlc: str


@dataclass(frozen=True)
class Note(Record):
    """A note with its class (open, protected, privileged)."""

    id: NoteId
    case_id: CaseId
    subject_id: str
    text: str
    klass: str
    withdrawn: int
    created_hlc: str
    updated_hlc: str


@dataclass(frozen=True)
class CustodyEvent(Record):
    """One append-only step in an evidence item's chain of custody."""

    id: CustodyEventId
    case_id: CaseId
    evidence_id: EvidenceId
    event: str
    at: str
    actor: str
    office: str
    location: str
    from_holder: str
    to_holder: str
    medium: str
    note: str
    hash_seen: str
    hash_expected: str
    result: str
    withdrawn: int
    created_hlc: str
    updated_hlc: str
    # Who signed it, as this office knows the key (storage.signers): not stored in the row
    # but looked up, because `actor` and `office` are free text anyone may type.
    signer: str = ""
