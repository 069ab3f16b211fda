"""Releases: the signed, audited act that lets one evidence item go to a restricted peer.

NGO and defence peers receive only what was released to them (the projection sent to them
is built from `released_items`). A release names one item and either one peer (by origin,
with its office name and role as they were) or every peer of a role, and says whether the
original file name goes too (by default it does not: a file name often names a witness or
a place). It travels as a `release` record together with a "released" custody event in
the item's chain, in one changeset, so every office sees who released what to whom.

A release cannot be taken back for what was already sent. Withdrawing it stops future
sends: the next projection for that peer leaves the item out. A person's consent is
checked when an item is released and again whenever a projection is made, so a consent
refused after a release stops future sends too (storage.consent).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from storage import queries, roles
from storage.connection import Connection
from storage.consent import AUDIENCE_OF_ROLE, CaseConsent, consent_problem
from storage.entities import RESTRICTED_ROLES
from storage.errors import InvalidInput
from storage.records import Evidence
from storage.workspace import Draft, Workspace, new_id

ROLE_WORDS = {"ngo": "NGO", "defence": "defence", "office": "office", "liaison": "liaison"}


class ReleaseRefused(InvalidInput):
    """A release that would go against a person's consent, or that means nothing."""


@dataclass(frozen=True)
class Release:
    """One release of an evidence item to a peer, or to every peer of a role."""

    id: str
    case_id: str
    evidence_id: str
    grantee_origin: str
    grantee_role: str
    grantee_name: str
    with_file_name: int
    at: str
    withdrawn: int
    created_hlc: str
    updated_hlc: str

    @property
    def grantee(self) -> str:
        """Whom it was released to, in words: "Varosa Documentation Project (ngo)"."""
        return grantee_words(self.grantee_origin, self.grantee_role, self.grantee_name)


def grantee_words(origin: str, role: str, name: str) -> str:
    """ "Varosa Documentation Project (ngo)" for a peer, "every NGO peer" for a role."""
    if not origin:
        return f"every {ROLE_WORDS.get(role, role)} peer"
    return f"{name or 'peer ' + origin[:16]} ({role})"


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


_COLUMNS = (
    "id, case_id, evidence_id, grantee_origin, grantee_role, grantee_name, with_file_name,"
    " at, withdrawn, created_hlc, updated_hlc"
)


def _release(row: tuple[object, ...]) -> Release:
    return Release(
        str(row[0]),
        str(row[1]),
        str(row[2]),
        str(row[3]),
        str(row[4]),
        str(row[5]),
        int(str(row[6])),
        str(row[7]),
        int(str(row[8])),
        str(row[9]),
        str(row[10]),
    )


def releases_of(conn: Connection, evidence_id: str) -> list[Release]:
    """Every release of an item, withdrawn ones included, oldest first."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM evidence_releases WHERE evidence_id = ? ORDER BY created_hlc, id",
        (evidence_id,),
    )
    return [_release(row) for row in rows]


def _standing(conn: Connection, evidence_id: str, origin: str, role: str) -> list[Release]:
    """Releases of the item to exactly this grantee that are not withdrawn."""
    return [
        release
        for release in releases_of(conn, evidence_id)
        if not release.withdrawn
        and release.grantee_origin == origin
        and (origin or release.grantee_role == role)
    ]


def refuse_pointless(role: str, name: str) -> None:
    """Offices and liaisons receive every item of the cases shared with them, file names
    included: a release to them would record a permission that means nothing."""
    if role not in RESTRICTED_ROLES:
        who = f"{name} ({role}) receives" if name else f"Every {role} peer receives"
        raise ReleaseRefused(
            f"{who} every item of the cases shared with it, with its file name, so there is"
            " nothing to release to it; releases are for NGO and defence peers. Nothing was"
            " recorded."
        )


def release_evidence(
    ws: Workspace,
    evidence: str,
    *,
    grantee_origin: str,
    grantee_role: str,
    grantee_name: str,
    with_file_name: bool = False,
) -> str:
    """Release an item to a peer (`grantee_origin`) or to every peer of `grantee_role`
    (origin ''); returns the release's id. Refused, with the reason and an audit entry,
    when someone the item identifies has not consented to be identified to that audience."""
    item = queries.get(ws.conn, Evidence, evidence)
    label = grantee_words(grantee_origin, grantee_role, grantee_name)
    roles.require(ws, roles.APPROVE_RELEASE, f"release {item.ern} to {label}")
    refuse_pointless(grantee_role, grantee_name)
    if item.withdrawn:
        raise InvalidInput(f"{item.ern} was withdrawn, so it cannot be released.")
    problem = consent_problem(ws.conn, item.id, AUDIENCE_OF_ROLE[grantee_role])
    if problem:
        ws.record(
            "release refused",
            item.case_id,
            {"evidence": item.id, "to": grantee_origin[:16] or grantee_role, "why": "consent"},
        )
        raise ReleaseRefused(f"{item.ern} was not released to {label}: {problem}")
    with ws.transaction():
        standing = _standing(ws.conn, item.id, grantee_origin, grantee_role)
        if any(r.with_file_name >= int(with_file_name) for r in standing):
            raise InvalidInput(f"{item.ern} is already released to {label}; nothing was recorded.")
        return _record_release(ws, item, grantee_origin, grantee_role, grantee_name, with_file_name)


def _record_release(
    ws: Workspace,
    item: Evidence,
    grantee_origin: str,
    grantee_role: str,
    grantee_name: str,
    with_file_name: bool,
) -> str:
    """One changeset: the release record and the "released" custody event; audited."""
    at = _utc_now()
    release_id = new_id()
    label = grantee_words(grantee_origin, grantee_role, grantee_name)
    name_words = "with" if with_file_name else "without"
    values = {
        "case_id": item.case_id,
        "evidence_id": item.id,
        "grantee_origin": grantee_origin,
        "grantee_role": grantee_role,
        "grantee_name": grantee_name,
        "with_file_name": int(with_file_name),
        "at": at,
    }
    note = f"released to {label}, {name_words} the original file name"
    ws.commit(
        item.case_id,
        [
            Draft("release", release_id, "create", values),
            _custody(ws, item, "released", at, note, label),
        ],
        audit_action="evidence released",
        audit_detail={
            "evidence": item.id,
            "ern": item.ern,
            "to": grantee_origin[:16] or grantee_role,
            "role": grantee_role,
            "with_file_name": bool(with_file_name),
        },
    )
    return release_id


def withdraw_release(
    ws: Workspace, evidence: str, *, grantee_origin: str, grantee_role: str
) -> int:
    """Withdraw the item's standing releases to this grantee; returns how many. What the
    grantee already received stays with it: only future sends stop."""
    item = queries.get(ws.conn, Evidence, evidence)
    label = grantee_words(grantee_origin, grantee_role, "")
    roles.require(ws, roles.APPROVE_RELEASE, f"withdraw the release of {item.ern} to {label}")
    with ws.transaction():
        standing = _standing(ws.conn, item.id, grantee_origin, grantee_role)
        if not standing:
            raise InvalidInput(f"{item.ern} is not released to {label}; nothing was changed.")
        label = standing[-1].grantee
        drafts = [Draft("release", release.id, "withdraw") for release in standing]
        drafts.append(
            _custody(
                ws,
                item,
                "release withdrawn",
                _utc_now(),
                f"release to {label} withdrawn: nothing more is sent; what was sent stays sent",
                "",
            )
        )
        ws.commit(
            item.case_id,
            drafts,
            audit_action="evidence release withdrawn",
            audit_detail={"evidence": item.id, "to": grantee_origin[:16] or grantee_role},
        )
    return len(standing)


def _custody(ws: Workspace, item: Evidence, event: str, at: str, note: str, to: str) -> Draft:
    """The custody event that records a release (or its withdrawal) in the item's chain."""
    return Draft(
        "custody",
        new_id(),
        "create",
        {
            "case_id": item.case_id,
            "evidence_id": item.id,
            "event": event,
            "at": at,
            "actor": ws.author,
            "office": ws.office_name,
            "from_holder": ws.office_name,
            "to_holder": to,
            "note": note,
        },
    )


def released_items(conn: Connection, case_id: str, peer_origin: str, role: str) -> dict[str, bool]:
    """Evidence id -> whether its original file name goes too, for the items of a case
    released to this peer or to its role and not withdrawn, and whose release stands with
    everyone's consent now (a consent refused since stops future sends)."""
    rows = conn.execute(
        "SELECT evidence_id, max(with_file_name) FROM evidence_releases"
        " WHERE case_id = ? AND withdrawn = 0"
        " AND (grantee_origin = ? OR (grantee_origin = '' AND grantee_role = ?))"
        " GROUP BY evidence_id ORDER BY evidence_id",
        (case_id, peer_origin, role),
    ).fetchall()
    audience = AUDIENCE_OF_ROLE.get(role)
    judge = CaseConsent(conn, case_id) if audience and rows else None
    released: dict[str, bool] = {}
    for evidence_id, with_name in rows:
        if judge is not None and audience and judge.problem(str(evidence_id), audience):
            continue
        released[str(evidence_id)] = bool(with_name)
    return released
