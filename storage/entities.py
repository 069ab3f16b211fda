"""The registry of replicated record kinds: their tables, fields, field classes and checks.

Every op names an entity and fields from this registry; the apply path builds SQL only from
these names, never from anything on the wire. Each field has a class that later decides
redaction at export: `open`, `protected` (identity of protected persons) or `privileged`
(work product that never leaves the office).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from storage.dates import normalize_timestamp, normalize_uncertain_date
from storage.errors import InvalidInput
from storage.text_rules import refused_character, text_problem

OPEN = "open"
PROTECTED = "protected"
PRIVILEGED = "privileged"

MAX_TEXT = 100_000
MAX_SHORT = 1_000

CASE_STATUSES = ("open", "under review", "closed")
ROLES = (
    "victim",
    "witness",
    "suspect",
    "accused",
    "insider",
    "expert",
    "intermediary",
    "other",
)
PROTECTION_LEVELS = ("none", "partial", "full")
ACT_TYPES = (
    "killing",
    "torture",
    "sexual violence",
    "enforced disappearance",
    "pillage",
    "destruction of property",
    "attack on civilians",
    "forced displacement",
    "child recruitment",
    "other",
)
INCIDENT_STATUSES = ("open", "corroborated", "unverified", "discarded")
EVIDENCE_TYPES = (
    "document",
    "photo",
    "video",
    "audio",
    "physical",
    "digital extraction",
    "web capture",
    "statement",
)
COLLECTION_METHODS = (
    "",
    "handed over",
    "field capture",
    "forensic image",
    "open-source download",
    "imported from a capture app",
)
CLASSIFICATIONS = ("public", "confidential", "strictly confidential")
SENSITIVITY_FLAGS = ("graphic", "sexual violence", "child", "identifies a witness")
NOTE_CLASSES = (OPEN, PROTECTED, PRIVILEGED)
LINK_TARGETS = ("incident", "person", "element")
STRENGTHS = ("", "strong", "moderate", "weak")
LINK_STATUSES = ("", "undisputed", "disputed", "prospective")
CUSTODY_EVENTS = (
    "collected",
    "ingested",
    "hashed",
    "verified",
    "sealed",
    "examined",
    "working copy made",
    "copied",
    "redacted",
    "exported",
    "sent in bundle",
    "received in bundle",
    "receipt acknowledged",
    "transferred",
    "returned",
    "destroyed",
)
TRUST_STATEMENTS = ("revoke", "rotate", "retract")
# The roles a peer may be granted in a case (sync.authority says what each may do).
GRANT_ROLES = ("office", "liaison", "ngo", "defence")
FULL_TRUST_ROLES = ("office", "liaison")
GRANT_KINDS = ("grant", "ungrant")
CUSTODY_MEDIA = ("", "usb", "network", "hand carried", "in office")
# Custody events that only a release records (storage.releases), never typed by hand; the
# roles that receive only what is released to them; the audiences a person consents to.
RELEASE_EVENTS = ("released", "release withdrawn")
RESTRICTED_ROLES = ("ngo", "defence")
CONSENT_AUDIENCES = ("prosecution", "tribunal", "partners", "public")
CONSENT_DECISIONS = ("given", "refused", "unknown")

Check = Callable[[str, object], object]


def is_utf8(value: str) -> bool:
    """False for text holding lone surrogates: bytes that were not UTF-8 where they came
    from (command-line arguments, file names), which the database cannot store."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class TextCheck:
    """A free-text field up to `max_len` characters that passes the one rule for entering
    text (storage.text_rules): no control characters (newline and tab only in `multiline`
    fields), no bidirectional overrides, no broken characters."""

    max_len: int
    multiline: bool = False

    def __call__(self, name: str, value: object) -> object:
        if not isinstance(value, str):
            raise InvalidInput(f"{name} must be text.")
        if len(value) > self.max_len:
            raise InvalidInput(f"{name} is longer than {self.max_len} characters.")
        if problem := text_problem(f"The {name}", value, multiline=self.multiline):
            raise InvalidInput(problem)
        return value


def text(max_len: int = MAX_SHORT) -> Check:
    """A one-line free-text field up to `max_len` characters (see TextCheck)."""
    return TextCheck(max_len)


def long_text(max_len: int = MAX_TEXT) -> Check:
    """Text that may run over several lines and hold tabs: notes, summaries, descriptions."""
    return TextCheck(max_len, multiline=True)


def choice(options: tuple[str, ...]) -> Check:
    """One value from a fixed list (case-insensitive on input)."""

    def check(name: str, value: object) -> object:
        if not isinstance(value, str) or value.strip().lower() not in options:
            shown = ", ".join(repr(o) for o in options if o)
            raise InvalidInput(f"{name} must be one of {shown}; got {value!r}.")
        return value.strip().lower()

    return check


def choices(options: tuple[str, ...]) -> Check:
    """A comma-separated set of values from a fixed list, stored in the list's order."""

    def check(name: str, value: object) -> object:
        if not isinstance(value, str):
            raise InvalidInput(f"{name} must be text.")
        picked = {part.strip().lower() for part in value.split(",") if part.strip()}
        unknown = picked - set(options)
        if unknown:
            shown = ", ".join(repr(o) for o in options)
            raise InvalidInput(f"{name}: {sorted(unknown)!r} not among {shown}.")
        return ", ".join(o for o in options if o in picked)

    return check


def uncertain_date(name: str, value: object) -> object:
    """A date that may be partial or qualified (see storage.dates)."""
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text.")
    return normalize_uncertain_date(value, name)


def timestamp(name: str, value: object) -> object:
    """An ISO timestamp with zone, or an uncertain date."""
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text.")
    return normalize_timestamp(value, name)


def sha256_hex(name: str, value: object) -> object:
    """A lower-case hex SHA-256 digest (or empty where not known)."""
    if not isinstance(value, str) or (
        value and (len(value) != 64 or any(c not in "0123456789abcdef" for c in value))
    ):
        raise InvalidInput(f"{name} must be a SHA-256 digest in hex.")
    return value


def op_reference(name: str, value: object) -> object:
    """The name of one op, "changeset id:op index" (or empty where none is named)."""
    cs_id, _, index = value.partition(":") if isinstance(value, str) else ("", "", "")
    if not isinstance(value, str) or (
        value
        and not (
            len(cs_id) == 64
            and all(c in "0123456789abcdef" for c in cs_id)
            and index.isdigit()
            and index.isascii()
            and len(index) <= 6
        )
    ):
        raise InvalidInput(f"{name} must name an op as 'changeset id:index'.")
    return value


def size(name: str, value: object) -> object:
    """A byte count."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**53:
        raise InvalidInput(f"{name} must be a byte count.")
    return value


def ident(name: str, value: object) -> object:
    """The id of another record (checked for existence by the caller)."""
    if not isinstance(value, str) or not value or len(value) > 64 or not value.isascii():
        raise InvalidInput(f"{name} must be a record id.")
    return value


def flag(name: str, value: object) -> object:
    """0 or 1."""
    if value not in (0, 1) or isinstance(value, bool):
        raise InvalidInput(f"{name} must be 0 or 1.")
    return value


@dataclass(frozen=True)
class Field:
    """One replicated field: its check, its class, and whether it may change after creation."""

    check: Check
    klass: str = OPEN
    mutable: bool = True
    default: object = ""


@dataclass(frozen=True)
class Entity:
    """A replicated record kind stored in `table`."""

    name: str
    table: str
    fields: dict[str, Field]
    search_title: tuple[str, ...] = ()
    search_body: tuple[str, ...] = ()
    append_only: bool = False
    required: tuple[str, ...] = field(default=())


WITHDRAWN = Field(flag, mutable=True, default=0)

ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        Entity(
            "case",
            "cases",
            {
                "reference": Field(text(64)),
                "title": Field(text()),
                "summary": Field(long_text()),
                "status": Field(choice(CASE_STATUSES), default="open"),
                "categories": Field(choices(ACT_TYPES)),
                "jurisdiction": Field(text()),
                "location": Field(text()),
                "opened_on": Field(uncertain_date),
                "lead_office": Field(text()),
                "withdrawn": WITHDRAWN,
            },
            search_title=("reference", "title"),
            search_body=("summary", "location"),
            required=("reference", "title"),
        ),
        Entity(
            "person",
            "persons",
            {
                "case_id": Field(ident, mutable=False),
                "role": Field(choice(ROLES)),
                "pseudonym": Field(text(128)),
                "protection": Field(choice(PROTECTION_LEVELS), default="none"),
                "languages": Field(text()),
                "consent": Field(text()),
                "legal_name": Field(text(), klass=PROTECTED),
                "aliases": Field(text(), klass=PROTECTED),
                "birth_date": Field(uncertain_date, klass=PROTECTED),
                "contact": Field(text(), klass=PROTECTED),
                "home_location": Field(text(), klass=PROTECTED),
                "withdrawn": WITHDRAWN,
            },
            search_title=("pseudonym", "legal_name"),
            search_body=("aliases", "role"),
            required=("case_id", "role"),
        ),
        Entity(
            "incident",
            "incidents",
            {
                "case_id": Field(ident, mutable=False),
                "title": Field(text()),
                "description": Field(long_text()),
                "date_from": Field(uncertain_date),
                "date_to": Field(uncertain_date),
                "location": Field(text()),
                "coordinates": Field(text(128)),
                "act_types": Field(choices(ACT_TYPES)),
                "status": Field(choice(INCIDENT_STATUSES), default="open"),
                "withdrawn": WITHDRAWN,
            },
            search_title=("title",),
            search_body=("description", "location"),
            required=("case_id", "title"),
        ),
        Entity(
            "element",
            "elements",
            {
                "case_id": Field(ident, mutable=False),
                "charge": Field(text()),
                "article": Field(text(128)),
                "element": Field(long_text()),
                "mode_of_liability": Field(text()),
                "withdrawn": WITHDRAWN,
            },
            search_title=("charge",),
            search_body=("element", "mode_of_liability"),
            required=("case_id", "charge", "element"),
        ),
        Entity(
            "evidence",
            "evidence",
            {
                "case_id": Field(ident, mutable=False),
                "ern": Field(text(64)),
                "title": Field(text()),
                "type": Field(choice(EVIDENCE_TYPES), default="document"),
                "description": Field(long_text()),
                "created_at": Field(timestamp),
                "collected_at": Field(timestamp),
                "collected_by": Field(text()),
                "collection_method": Field(choice(COLLECTION_METHODS)),
                "collection_location": Field(text()),
                "source": Field(text()),
                "original_name": Field(text(), mutable=False),
                "media_type": Field(text(128), mutable=False),
                "size": Field(size, mutable=False, default=0),
                "sha256": Field(sha256_hex, mutable=False),
                "classification": Field(choice(CLASSIFICATIONS), default="confidential"),
                "sensitivity": Field(choices(SENSITIVITY_FLAGS)),
                "custody_status": Field(text(128), default="in custody"),
                "current_holder": Field(text()),
                "withdrawn": WITHDRAWN,
            },
            search_title=("ern", "title"),
            search_body=("description", "original_name", "source"),
            required=("case_id", "ern", "sha256", "size"),
        ),
        Entity(
            "link",
            "links",
            {
                "case_id": Field(ident, mutable=False),
                "evidence_id": Field(ident, mutable=False),
                "target_kind": Field(choice(LINK_TARGETS), mutable=False),
                "target_id": Field(ident, mutable=False),
                "strength": Field(choice(STRENGTHS)),
                "status": Field(choice(LINK_STATUSES)),
                "withdrawn": WITHDRAWN,
            },
            required=("case_id", "evidence_id", "target_kind", "target_id"),
        ),
        Entity(
            "note",
            "notes",
            {
                "case_id": Field(ident, mutable=False),
                "subject_id": Field(text(64), mutable=False),
                # The note's own class decides whether its text may leave the office.
                "text": Field(long_text(), klass="by record"),
                "class": Field(choice(NOTE_CLASSES), default=OPEN),
                "withdrawn": WITHDRAWN,
            },
            search_body=("text",),
            required=("case_id", "text"),
        ),
        Entity(
            "custody",
            "custody_events",
            {
                "case_id": Field(ident, mutable=False),
                "evidence_id": Field(ident, mutable=False),
                "event": Field(choice(CUSTODY_EVENTS + RELEASE_EVENTS), mutable=False),
                "at": Field(timestamp, mutable=False),
                "actor": Field(text(), mutable=False),
                "office": Field(text(), mutable=False),
                "location": Field(text(), mutable=False),
                "from_holder": Field(text(), mutable=False),
                "to_holder": Field(text(), mutable=False),
                "medium": Field(choice(CUSTODY_MEDIA), mutable=False),
                "note": Field(long_text(), mutable=False),
                "hash_seen": Field(sha256_hex, mutable=False),
                "hash_expected": Field(sha256_hex, mutable=False),
                "result": Field(text(128), mutable=False),
            },
            append_only=True,
            required=("case_id", "evidence_id", "event", "at"),
        ),
        # Releases and consent (storage.releases, storage.consent).
        Entity(
            "release",
            "evidence_releases",
            {
                "case_id": Field(ident, mutable=False),
                "evidence_id": Field(ident, mutable=False),
                "grantee_origin": Field(sha256_hex, mutable=False),
                "grantee_role": Field(choice(RESTRICTED_ROLES), mutable=False),
                "grantee_name": Field(text(), mutable=False),
                "with_file_name": Field(flag, mutable=False, default=0),
                "at": Field(timestamp, mutable=False),
                "withdrawn": WITHDRAWN,
            },
            required=("case_id", "evidence_id", "grantee_role", "at"),
        ),
        Entity(
            "consent",
            "person_consents",
            {
                "case_id": Field(ident, mutable=False),
                "person_id": Field(ident, mutable=False),
                "audience": Field(choice(CONSENT_AUDIENCES), mutable=False),
                "decision": Field(choice(CONSENT_DECISIONS), mutable=False),
                "decided_on": Field(uncertain_date, mutable=False),
                "decided_by": Field(text(), mutable=False),
                "note": Field(long_text(), klass=PROTECTED, mutable=False),
            },
            append_only=True,
            required=("case_id", "person_id", "audience", "decision"),
        ),
        # Statements about keys, not about a case: a peer's key revoked after a sequence
        # number (a lost laptop), our own key replaced by a new one announced under the
        # old, or a revocation retracted (`retracts` names it). Their changesets carry the
        # empty case id and go to every peer; storage.key_trust says which of them count.
        Entity(
            "trust",
            "trust_statements",
            {
                "statement": Field(choice(TRUST_STATEMENTS), mutable=False),
                "subject": Field(sha256_hex, mutable=False),
                "epoch": Field(size, mutable=False, default=0),
                "after_seq": Field(size, mutable=False, default=0),
                "new_signing_public": Field(sha256_hex, mutable=False),
                "new_encryption_public": Field(sha256_hex, mutable=False),
                "office_name": Field(text(), mutable=False),
                "reason": Field(text(), mutable=False),
                "at": Field(timestamp, mutable=False),
                "retracts": Field(op_reference, mutable=False),
            },
            append_only=True,
            required=("statement", "subject", "at"),
        ),
        # Who is a member of a case and in which role: a grant names a peer origin, its
        # keys and office name and the role it is granted in this case; an ungrant names
        # the grantee's (epoch, after_seq) after which its changes in this case are no
        # longer accepted. They travel in the case's own changesets (sync.authority).
        Entity(
            "grant",
            "case_grants",
            {
                "case_id": Field(ident, mutable=False),
                "kind": Field(choice(GRANT_KINDS), mutable=False, default="grant"),
                "grantee": Field(sha256_hex, mutable=False),
                "signing_public": Field(sha256_hex, mutable=False),
                "encryption_public": Field(sha256_hex, mutable=False),
                "office_name": Field(text(), mutable=False),
                "role": Field(choice(("", *GRANT_ROLES)), mutable=False),
                "epoch": Field(size, mutable=False, default=0),
                "after_seq": Field(size, mutable=False, default=0),
                "at": Field(timestamp, mutable=False),
            },
            append_only=True,
            required=("case_id", "kind", "grantee", "at"),
        ),
    )
}
TRUST = "trust"
GRANT = "grant"


def entity(name: str) -> Entity:
    """Look up an entity kind, refusing names outside the registry."""
    try:
        return ENTITIES[name]
    except KeyError:
        raise InvalidInput(f"Unknown record kind {name!r}.") from None


def field_text_problem(kind_name: str, name: str, value: object, *, advice: str = "") -> str:
    """Why a string value for `name` of a `kind_name` record breaks the one rule for text
    ('' when it does not, or is no string): checked on what arrives from a peer before
    anything is applied, for every field, named or not in the registry."""
    if not isinstance(value, str):
        return ""
    kind = ENTITIES.get(kind_name)
    spec = kind.fields.get(name) if kind else None
    multiline = spec is not None and isinstance(spec.check, TextCheck) and spec.check.multiline
    if refused_character(value, multiline=multiline) is None:
        return ""  # the common case, without building a sentence
    label = f"The {kind_name} {name.replace('_', ' ')}"
    return text_problem(label, value, multiline=multiline, advice=advice or None)


def clean_fields(
    kind: Entity,
    values: dict[str, object],
    *,
    creating: bool,
    present: Collection[str] = (),
) -> dict[str, object]:
    """Check and normalize field values for an op on `kind`; refuse unknown or frozen fields.
    `present` names fields known to be given although their value is withheld (sealed)."""
    cleaned: dict[str, object] = {}
    for name, value in values.items():
        spec = kind.fields.get(name)
        if spec is None:
            raise InvalidInput(f"A {kind.name} has no field {name!r}.")
        if not creating and (not spec.mutable or kind.append_only):
            raise InvalidInput(f"The {kind.name} field {name!r} cannot change once recorded.")
        cleaned[name] = spec.check(name.replace("_", " "), value)
    if creating:
        missing = [
            name
            for name in kind.required
            if cleaned.get(name) in (None, "") and name not in present
        ]
        if missing:
            raise InvalidInput(f"A new {kind.name} needs {', '.join(missing)}.")
    return cleaned
