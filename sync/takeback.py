"""What an import must take back because an ungrant or a revocation came late.

Why: `sync.authority` decides from the grants held now, and the importer holds back what it
refuses. But an ungrant (or a revocation that becomes effective) can arrive after the
changesets it refuses were applied here: the grantee's changesets in the case past its cut,
a thief's changesets past the revocation point. An office that had the ungrant first held
them back; without taking them back here, the two offices would differ for good. So after
the changesets of an import are applied, and before anything is recorded:

* in every case whose grants changed in this import (or whose members' keys had a
  revocation or rotation change), each applied changeset of a signer that is not of full
  trust without a cut there is decided again by `sync.authority`; those it refuses now are
  taken back (`storage.takeback`) and held back with the very sentence and `held_for` an
  office that had the ungrant first writes, so that a later grant lifting the cut applies
  them again as it would there;
* every applied changeset of a key whose revocation is new or moved, signed after its
  revocation point, is taken back with the sentence the importer writes for a revoked key;
  its key statements first (a stolen authority key's revocations of others stop counting),
  and the revocations are derived again before the cases are looked at;
* what built on a record that disappears is parked, as the importer parks a changeset
  whose record is not known; this repeats until nothing more is refused (a grant taken
  back can cut off the members it granted).

This workspace's own changesets are never taken back here: they were accepted when they were
written (`sync.authority.check_own_commits`). When one of them built on a record that
disappears it is parked like any other, and this workspace writes from then on in a new
epoch, so that the sequence number of the parked changeset is never used twice.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from storage import grants, key_trust
from storage.apply import revoked_after
from storage.changesets import decode_verified
from storage.connection import Connection
from storage.entities import FULL_TRUST_ROLES
from storage.grants import derive_shares
from storage.takeback import Removed, take_back
from storage.workspace import Workspace
from sync.authority import NEVER, Authority, Refusal
from sync.spool import encode_reveals

T = TypeVar("T")

Position = tuple[int, int]


def revoked_sentence(after_seq: int, reason: str) -> str:
    """Why a changeset of a revoked key is refused: the same words wherever it is decided."""
    return f"signed with a key revoked after its changeset {after_seq} ({reason})"


@dataclass(frozen=True)
class Before:
    """What decides membership, as it stood before an import: grants per case and the
    revocation points. Comparing with the state after says where to look again."""

    grants: dict[str, int]
    revocations: dict[str, Position]


def before_import(conn: Connection) -> Before:
    """Note the grants and revocations before an import applies anything."""
    counts = {
        str(case_id): int(count)
        for case_id, count in conn.execute(
            "SELECT case_id, count(*) FROM case_grants GROUP BY case_id"
        )
    }
    return Before(counts, _revocation_points(conn))


def _revocation_points(conn: Connection) -> dict[str, Position]:
    return {
        str(origin): (int(epoch), int(seq))
        for origin, epoch, seq in conn.execute("SELECT origin, epoch, after_seq FROM revocations")
    }


@dataclass
class TakenBack:
    """What was taken back after an import: held back (with the authority's refusal),
    refused for good (a revoked key, with its sentence), and parked (building on a record
    that is gone, with the reason and the changesets it waits for)."""

    held: list[tuple[Removed, Refusal]] = field(default_factory=list)
    revoked: list[tuple[Removed, str]] = field(default_factory=list)
    parked: list[Removed] = field(default_factory=list)
    gone_evidence: set[str] = field(default_factory=set)

    def ids(self) -> set[str]:
        """Every changeset that left the applied history."""
        return (
            {item.cs_id for item, _ in self.held}
            | {item.cs_id for item, _ in self.revoked}
            | {item.cs_id for item in self.parked}
        )


def take_back_late_refusals(ws: Workspace, before: Before) -> TakenBack:
    """Take back what the grants and revocations held now refuse, in the caller's
    transaction (see the module docstring)."""
    from sync.trust import our_keys  # sync.trust signs statements through this module

    conn = ws.conn
    ours = {origin for origin, _ in our_keys(ws)}
    result = TakenBack()
    _take_back_key_statements(conn, before, ours, result)
    revoked = _revoked_changesets(conn, before, ours)
    cases = _cases_to_decide(conn, before) | set(revoked)
    authority = Authority(conn)
    while True:
        progressed = False
        for case_id in sorted(cases):
            refused = _refused_in_case(conn, authority, case_id, ours)
            sentences = revoked.pop(case_id, {})
            if not refused and not sentences:
                continue
            done = take_back(conn, case_id, {*refused, *sentences})
            progressed = True
            for item in done.taken:
                if item.cs_id in refused:
                    result.held.append((item, refused[item.cs_id]))
                else:
                    result.revoked.append((item, sentences[item.cs_id]))
            result.parked.extend(done.parked)
            result.gone_evidence |= {eid for entity, eid in done.gone if entity == "evidence"}
            authority.forget(case_id)
        if not progressed:
            break
    if any(item.changeset.origin in ours for item in result.parked):
        ws.start_new_epoch(
            "a changeset of this office built on a record that a late ungrant or revocation"
            " took back; it is parked, and its sequence number is not used again"
        )
    return result


def _take_back_key_statements(
    conn: Connection, before: Before, ours: set[str], result: TakenBack
) -> None:
    """Take back the key statements (revocations, retractions, rotations) that a key whose
    revocation is new or moved signed after its revocation point: an office that had the
    revocation first refused them, so here they must stop counting too. Without this, a
    thief holding a stolen authority key whose revocation by itself arrives late could go on
    revoking others here. Each is kept as the importer keeps a refused statement (its
    rotation still marks the key it announced as refused), and the revocations are derived
    again; a statement taken back can change other points, so this repeats until none is
    left."""
    while True:
        found = _revoked_changesets(conn, before, ours, statements=True).get("", {})
        if not found:
            return
        done = take_back(conn, "", found)
        for item in done.taken:
            result.revoked.append((item, found[item.cs_id]))
            cs = item.changeset
            key_trust.hold_quarantined(
                conn, item.cs_id, cs.origin, (cs.epoch, cs.seq), cs.hlc, item.body
            )
        result.parked.extend(done.parked)
        subjects = {
            str(op.fields.get("subject", "")) for item in done.taken for op in item.changeset.ops
        }
        trust = key_trust.recompute(conn)
        rotated = {new for new, old in trust.honoured_rotations.items() if old in subjects}
        for origin in sorted(subjects | rotated):
            for case_id in grants.cases_of(conn, origin):
                derive_shares(conn, case_id)


def _cases_to_decide(conn: Connection, before: Before) -> set[str]:
    """Cases whose grants changed, and cases of keys whose revocation or rotation did."""
    cases = {
        str(case_id)
        for case_id, count in conn.execute(
            "SELECT case_id, count(*) FROM case_grants GROUP BY case_id"
        )
        if before.grants.get(str(case_id), 0) != int(count)
    }
    now = _revocation_points(conn)
    changed = {
        o for o in set(now) | set(before.revocations) if now.get(o) != before.revocations.get(o)
    }
    rotations = grants.rotated_from(conn) if changed else {}
    keys = changed | {new for new, old in rotations.items() if old in changed}
    for origin in sorted(keys):
        cases.update(grants.cases_of(conn, origin))
        cases.update(
            str(r[0])
            for r in conn.execute(
                "SELECT DISTINCT case_id FROM changesets WHERE origin = ? AND case_id != ''",
                (origin,),
            )
        )
    return cases


def _refused_in_case(
    conn: Connection, authority: Authority, case_id: str, ours: set[str]
) -> dict[str, Refusal]:
    """The applied changesets of the case that the authority refuses now (a refusal for
    good is left alone: it could not have been applied anywhere either)."""
    owner = grants.case_owner(conn, case_id)
    if owner is None:
        return {}
    refused: dict[str, Refusal] = {}
    origins = [
        str(r[0])
        for r in conn.execute(
            "SELECT DISTINCT origin FROM changesets WHERE case_id = ?", (case_id,)
        )
    ]
    for origin in origins:
        if origin in ours or origin == owner:
            continue
        member = grants.membership(conn, case_id, origin)
        if member is not None and member.cut is None and member.role in FULL_TRUST_ROLES:
            continue
        rows = conn.execute(
            "SELECT id, body FROM changesets WHERE case_id = ? AND origin = ?",
            (case_id, origin),
        )
        for cs_id, body in rows:
            refusal = authority.refusal(decode_verified(bytes(body)))
            if refusal is not None and refusal.held_for != NEVER:
                refused[str(cs_id)] = refusal
    return refused


def _revoked_changesets(
    conn: Connection, before: Before, ours: set[str], *, statements: bool = False
) -> dict[str, dict[str, str]]:
    """{case id: {changeset id: sentence}} for applied changesets of keys whose revocation
    is new or moved, signed after the revocation point: those in cases, or (`statements`)
    the key statements, under the case id ""."""
    found: dict[str, dict[str, str]] = {}
    for origin, point in _revocation_points(conn).items():
        if origin in ours or before.revocations.get(origin) == point:
            continue
        revoked = revoked_after(conn, origin)
        if revoked is None:
            continue
        sentence = revoked_sentence(revoked[1], revoked[2])
        rows = conn.execute(
            "SELECT id, case_id, epoch, seq FROM changesets WHERE origin = ?"
            f" AND case_id {'=' if statements else '!='} ''",
            (origin,),
        )
        for cs_id, case_id, epoch, seq in rows:
            if (int(epoch), int(seq)) > point:
                found.setdefault(str(case_id), {})[str(cs_id)] = sentence
    return found


def record_taken_back(conn: Connection, taken: TakenBack, bundle_id: str = "") -> None:
    """Write what was taken back outside an import (after a statement signed here): held
    back with its sentence, parked with what it waits for. An import records it with the
    rest of its outcome instead."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    held = [(item, refusal.sentence, refusal.held_for) for item, refusal in taken.held]
    held += [(item, sentence, "") for item, sentence in taken.revoked]
    for item, sentence, held_for in held:
        conn.execute(
            "INSERT OR REPLACE INTO quarantine(id, origin, body, sig, reason, bundle_id, at,"
            " held_for, reveals) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                item.cs_id,
                item.changeset.origin,
                item.body,
                item.sig,
                sentence,
                bundle_id,
                now,
                held_for,
                encode_reveals(item.reveals),
            ),
        )
    for item in taken.parked:
        conn.execute(
            "INSERT OR IGNORE INTO parked_changesets(id, body, sig, reveals, needs, reason,"
            " bundle_id, parked_at) VALUES (?,?,?,?,?,?,?,?)",
            (
                item.cs_id,
                item.body,
                item.sig,
                encode_reveals(item.reveals),
                json.dumps({"case_prev": "", "changesets": list(item.needs)}),
                item.missing or "waits for earlier changesets",
                bundle_id,
                now,
            ),
        )


def commit_taking_back(ws: Workspace, commit: Callable[[], T]) -> T:
    """Run a local commit that may cut rights (an ungrant, a revocation signed here, whose
    point a person may set before changesets already applied) and take back, in the same
    transaction, what it refuses, as an import that brought the statement would."""
    with ws.transaction() as conn:
        before = before_import(conn)
        result = commit()
        record_taken_back(conn, take_back_late_refusals(ws, before))
    return result
