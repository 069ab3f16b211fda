"""What the signed statements about keys mean: which keys are revoked, after which point.

Statements (entity `trust`, in changesets of no case) are revocations, rotations and
retractions. Who signed one decides what it does here:

- a **revocation** takes effect when signed by the key's own holder, by this office, or by
  an *authority* this office named (`trust_authorities`); anyone else's is an *advisory*,
  shown for a person to confirm (which signs our own revocation) or dismiss;
- a **retraction** withdraws a revocation when signed by this office (any revocation), or
  by an authority (a revocation signed by another authority, never one about itself or one
  signed by this office or by the key's holder), and only when its signer's key was not
  revoked at the point it signed it; anyone else's is an advisory;
- a **rotation** (a key's holder announcing its next key) retires the old key after the
  statement, and is honoured only when announced at or before the point where the old key
  was revoked; the new key of a rotation that is not honoured is refused altogether.

`derive` is a pure function of the statements, the authorities and our own keys: every
office that holds the same statements and names the same authorities reaches the same
answer, whatever order the statements came in. `recompute` writes its answer into the
`revocations` table, which nothing else writes.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from storage.changesets import decode_verified, op_ref
from storage.connection import Connection
from storage.identity import origin_of

REVOKE, ROTATE, RETRACT = "revoke", "rotate", "retract"
RETIRED_KEYS_META = "retired_bundle_keys"  # [[origin, x25519 private hex], ...] (sync.trust)
EVERYTHING = (0, 0)  # a revocation point before the first changeset of every epoch

Position = tuple[int, int]  # (epoch, seq)

# What a statement amounts to here (KeyTrust.status).
EFFECTIVE = "effective"
ADVISORY = "advisory"
RETRACTED = "retracted"
NOT_HONOURED = "not honoured"
IGNORED = "ignored"


@dataclass(frozen=True)
class KeyStatement:
    """One signed statement about a key, as its signer wrote it."""

    ref: str  # "changeset id:op index": the statement's name, content-addressed
    signer: str
    position: Position  # (epoch, seq) of the changeset that carries it
    hlc: str
    kind: str
    subject: str
    point: Position  # revocations: changesets of the subject after it are refused
    reason: str = ""
    office_name: str = ""
    new_signing_public: str = ""
    retracts: str = ""
    at: str = ""  # when its signer says it signed it (ISO 8601 UTC; a claim, for people)

    @property
    def new_origin(self) -> str:
        """The origin of the key a rotation announces ('' for other statements)."""
        try:
            key = bytes.fromhex(self.new_signing_public)
        except ValueError:
            return ""
        return origin_of(key) if len(key) == 32 else ""


@dataclass(frozen=True)
class Revocation:
    """Changesets of `origin` after `point` are refused, because of `statement`."""

    origin: str
    point: Position
    reason: str
    statement: str
    revoked_by: str
    kind: str = REVOKE  # ROTATE: the key was retired by its holder's own rotation


@dataclass
class KeyTrust:
    """What every statement amounts to here, and the revocations that follow."""

    revocations: dict[str, Revocation] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)  # statement ref -> EFFECTIVE, ...
    retracted_by: dict[str, str] = field(default_factory=dict)  # revocation -> retraction
    honoured_rotations: dict[str, str] = field(default_factory=dict)  # new origin -> old

    def revoked_at(self, origin: str, position: Position) -> bool:
        """True when a changeset of `origin` at `position` comes after its revocation."""
        revocation = self.revocations.get(origin)
        return revocation is not None and position > revocation.point


# Statements parsed from a changeset never change (its id is the hash of its bytes), so
# they are parsed once per process: recomputing after each arriving statement then costs a
# scan of the ids, not a decode of every statement again.
_PARSED: dict[str, tuple[KeyStatement, ...]] = {}
_PARSED_LIMIT = 100_000


def key_statements(conn: Connection) -> list[KeyStatement]:
    """Every statement about keys held here, in a fixed order: those applied, and the
    rotations among those quarantined because their signer was revoked before them (so
    that the key they announce is known as refused, whichever office forwards it)."""
    applied = [str(r[0]) for r in conn.execute("SELECT id FROM changesets WHERE case_id = ''")]
    held = [str(r[0]) for r in conn.execute("SELECT id FROM quarantined_key_statements")]
    if len(_PARSED) > _PARSED_LIMIT:
        _PARSED.clear()
    found: list[KeyStatement] = []
    for cs_id in sorted(applied):
        if cs_id not in _PARSED:
            _PARSED[cs_id] = _parse(conn, cs_id, "changesets")
        found.extend(_PARSED[cs_id])
    for cs_id in sorted(set(held) - set(applied)):
        if cs_id not in _PARSED:
            _PARSED[cs_id] = _parse(conn, cs_id, "quarantined_key_statements")
        found.extend(s for s in _PARSED[cs_id] if s.kind == ROTATE)
    return found


def hold_quarantined(
    conn: Connection, cs_id: str, origin: str, position: Position, hlc: str, body: bytes
) -> None:
    """Keep a key statement refused because its signer was revoked before it (inside the
    caller's transaction) and derive the revocations again."""
    conn.execute(
        "INSERT OR IGNORE INTO quarantined_key_statements(id, origin, epoch, seq, hlc, body)"
        " VALUES (?,?,?,?,?,?)",
        (cs_id, origin, position[0], position[1], hlc, body),
    )
    recompute(conn)


def _parse(conn: Connection, cs_id: str, table: str) -> tuple[KeyStatement, ...]:
    origin, epoch, seq, hlc, body = conn.execute(
        f"SELECT origin, epoch, seq, hlc, body FROM {table} WHERE id = ?", (cs_id,)
    ).fetchone()
    changeset = decode_verified(bytes(body))
    found: list[KeyStatement] = []
    for index, op in enumerate(changeset.ops):
        if op.entity != "trust" or op.kind != "create":
            continue
        values = op.fields
        found.append(
            KeyStatement(
                ref=op_ref(cs_id, index),
                signer=str(origin),
                position=(int(epoch), int(seq)),
                hlc=str(hlc),
                kind=str(values.get("statement", "")),
                subject=str(values.get("subject", "")),
                point=(_count(values.get("epoch")), _count(values.get("after_seq"))),
                reason=str(values.get("reason", "")),
                office_name=str(values.get("office_name", "")),
                new_signing_public=str(values.get("new_signing_public", "")),
                retracts=str(values.get("retracts", "")),
                at=str(values.get("at", "")),
            )
        )
    return tuple(found)


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def authorities(conn: Connection) -> set[str]:
    """The origins this office named as authorities over revocation."""
    return {str(row[0]) for row in conn.execute("SELECT origin FROM trust_authorities")}


def own_origins(conn: Connection) -> set[str]:
    """This installation's origin and those of the keys it replaced."""
    own = {str(row[0]) for row in conn.execute("SELECT origin FROM node_identity")}
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (RETIRED_KEYS_META,)).fetchone()
    if row:
        own.update(str(entry[0]) for entry in json.loads(row[0]))
    return own


def derive(
    statements: Iterable[KeyStatement], named: Collection[str], own: Collection[str]
) -> KeyTrust:
    """What the statements mean for an office with authorities `named` and keys `own`."""
    statements = sorted(statements, key=lambda s: s.ref)
    by_ref = {s.ref: s for s in statements}
    trust = KeyTrust()
    standing: list[KeyStatement] = []  # revocations that count here unless retracted
    for s in statements:
        if s.kind == REVOKE:
            counts = s.signer == s.subject or s.signer in own or s.signer in named
            trust.status[s.ref] = EFFECTIVE if counts else ADVISORY
            if counts:
                standing.append(s)
        elif s.kind == ROTATE:
            trust.status[s.ref] = IGNORED if s.signer != s.subject else EFFECTIVE
    retirements = [s for s in statements if s.kind == ROTATE and s.signer == s.subject]
    retractions = [s for s in statements if s.kind == RETRACT]
    for s in retractions:
        trust.status[s.ref] = _retraction_standing(s, by_ref.get(s.retracts), named, own)
    candidates = [s for s in retractions if trust.status[s.ref] == EFFECTIVE]
    # The fewest retractions that are consistent: start with none, add those whose signer
    # was not revoked when it signed, until nothing changes. Each round can only add (fewer
    # revocations stand), so this ends, and the order of arrival plays no part.
    accepted: dict[str, KeyStatement] = {}
    while True:
        points = _points(standing, retirements, accepted)
        more = {
            s.retracts: s
            for s in candidates
            if s.retracts not in accepted and not _after(points, s.signer, s.position)
        }
        if not more:
            break
        for retracted, retraction in sorted(more.items()):
            accepted.setdefault(retracted, retraction)
    for s in candidates:
        if s.retracts not in accepted or accepted[s.retracts].ref != s.ref:
            trust.status[s.ref] = IGNORED if s.retracts in accepted else NOT_HONOURED
    for retracted, retraction in accepted.items():
        trust.status[retracted] = RETRACTED
        trust.retracted_by[retracted] = retraction.ref
    trust.revocations = _points(standing, retirements, accepted)
    _honour_rotations(trust, retirements)
    return trust


def _retraction_standing(
    s: KeyStatement, revocation: KeyStatement | None, named: Collection[str], own: Collection[str]
) -> str:
    """Whether a retraction may count here (before asking if its signer was revoked)."""
    if revocation is None or revocation.kind != REVOKE or revocation.subject != s.subject:
        return IGNORED
    if s.signer in own:
        return EFFECTIVE
    if s.signer == revocation.signer != revocation.subject and s.signer not in named:
        return EFFECTIVE  # an advisory withdrawn by whoever gave it: nothing left to decide
    if s.signer not in named:
        return ADVISORY
    about_itself = revocation.subject == s.signer
    if about_itself or revocation.signer in own or revocation.signer == revocation.subject:
        return IGNORED
    return EFFECTIVE


def _points(
    standing: list[KeyStatement],
    retirements: list[KeyStatement],
    retracted: Collection[str],
) -> dict[str, Revocation]:
    """The earliest point of each key's revocations that stand (rotations retire the old
    key after the statement that announces the new one)."""
    points: dict[str, Revocation] = {}

    def offer(candidate: Revocation) -> None:
        known = points.get(candidate.origin)
        if known is None or (candidate.point, candidate.statement) < (
            known.point,
            known.statement,
        ):
            points[candidate.origin] = candidate

    for s in standing:
        if s.ref not in retracted:
            offer(Revocation(s.subject, s.point, s.reason or "key revoked", s.ref, s.signer))
    for s in retirements:
        offer(
            Revocation(s.subject, s.position, "key replaced by a new one", s.ref, s.signer, ROTATE)
        )
    return points


def _after(points: dict[str, Revocation], origin: str, position: Position) -> bool:
    revocation = points.get(origin)
    return revocation is not None and position > revocation.point


def _honour_rotations(trust: KeyTrust, retirements: list[KeyStatement]) -> None:
    """A rotation counts when announced at or before the old key's revocation point; the
    new key of one that does not is refused from its first changeset."""
    refused: dict[str, KeyStatement] = {}
    for s in retirements:
        new = s.new_origin
        if not new:
            trust.status[s.ref] = IGNORED
            continue
        if trust.revoked_at(s.subject, s.position):
            trust.status[s.ref] = NOT_HONOURED
            refused.setdefault(new, s)
        else:
            trust.honoured_rotations.setdefault(new, s.subject)
    for new, s in refused.items():
        if new in trust.honoured_rotations:
            continue
        trust.revocations[new] = Revocation(
            new,
            EVERYTHING,
            "announced as a replacement key after the old key was revoked",
            s.ref,
            s.signer,
        )


def current(conn: Connection) -> KeyTrust:
    """What the statements held here mean for this office now."""
    return derive(key_statements(conn), authorities(conn), own_origins(conn))


def recompute(conn: Connection) -> KeyTrust:
    """Rewrite the `revocations` table from every statement held (inside the caller's
    transaction); returns the whole answer."""
    trust = current(conn)
    conn.execute("DELETE FROM revocations")
    conn.executemany(
        "INSERT INTO revocations(origin, epoch, after_seq, reason, statement_id, revoked_by)"
        " VALUES (?,?,?,?,?,?)",
        [
            (r.origin, r.point[0], r.point[1], r.reason, r.statement, r.revoked_by)
            for r in trust.revocations.values()
        ],
    )
    return trust
