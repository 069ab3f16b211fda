"""Who may do what in a case: the one place that decides, from signed history only.

A changeset is about one case (or about keys, case id ""). Whether its signer may do what it
does follows from the grants in the case's history (storage.grants) and the changeset
itself, never from the order bundles arrived in nor from the role a person gave a peer
locally, so every office holding the same history decides the same:

* the case's owner (the origin whose changeset created it) and members granted `office` or
  `liaison` may do anything in the case: full trust;
* an `ngo` member may create its own records (evidence, custody of its own evidence,
  notes, persons, incidents) and update or withdraw only records whose create op it
  signed; it may not touch the case record, grants, legal elements or links;
* a `defence` member writes nothing into a case it does not own;
* either may record that it received an item released to it or to its role (the custody
  event "received in bundle" its importer writes: its receipt is part of the chain, and
  an office that held it back would be sent it again with every bundle), decided from the
  signed release records, withdrawn or not, so arrival order does not matter; any other
  custody event on an item it did not add stays held back;
* only the owner, or a member granted `office` or `liaison`, may grant or ungrant, and
  the owner cannot be ungranted;
* an ungrant's cut point applies to the grantee's changesets after it;
* a changeset that creates a case not known here makes its signer the owner, when the
  case id is bound to the signer's key (`storage.grants.new_case_id`): a stranger who
  learns a case id cannot claim it first at an office that does not hold it yet. Such a
  claim is refused for good (`NEVER`). The one exception is a partner's copy: a changeset
  signed by a peer this workspace knows as an office or liaison that opens the case and
  grants it to this workspace as `ngo` or `defence` is the projection an office sharing
  the case made for it (signed by that office, not by the case's creator).
  A case created before ids were bound (20 hex digits) has no such proof; its create is
  accepted, as before, only from a peer this office knows as an office or liaison, else
  held back until a person adds the peer so.

A refusal is a `Refusal`: a sentence saying who (office name and short fingerprint), what
and why, and what would make it valid (`held_for`): `NO_GRANT` when its signer holds no
grant in the case (or was cut off), `NOT_PERMITTED` when its role does not allow it. Both
wait in quarantine and are offered again on later imports, because a grant arriving later
(a first grant, or a role of full trust) makes them valid.

`Authority` remembers what it looked up per case and per (origin, case) for one import, so
importing many changesets costs dictionary look-ups, not queries: only an `ngo` member's
changes of existing records ask who created them.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage import grants
from storage.changesets import Changeset, Op
from storage.connection import Connection
from storage.entities import FULL_TRUST_ROLES, GRANT, RESTRICTED_ROLES
from storage.grants import OWNER, Membership
from storage.identity import fingerprint
from storage.workspace import Workspace

NO_GRANT = "no grant"
NOT_PERMITTED = "not permitted"
NEVER = ""  # held for good: no later grant can make it valid
# What an ngo member may create in a case granted to it.
NGO_CREATES = ("evidence", "custody", "note", "person", "incident")
# The custody event an importer records for an item whose file arrived in a bundle.
RECEIPT_EVENT = "received in bundle"
_NOUNS = {
    "case": "the case record",
    "person": "a person",
    "incident": "an incident",
    "element": "a legal element",
    "evidence": "an evidence item",
    "link": "a link",
    "note": "a note",
    "custody": "a custody event",
    GRANT: "who may access the case",
    "release": "an evidence release",
    "consent": "a person's consent",
}


@dataclass(frozen=True)
class Refusal:
    """Why a changeset is held back, in a sentence, and what would make it valid."""

    sentence: str
    held_for: str  # NO_GRANT or NOT_PERMITTED (offered again later), or NEVER


class Authority:
    """Decides for changesets whether their signers may do what they do. Make one per
    import (or per local check); call `forget` when grants, cases or keys may have changed
    under it (a grant applied, a batch rolled back)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._owners: dict[str, str] = {}
        self._members: dict[tuple[str, str], Membership | None] = {}
        self._rotations: dict[str, str] | None = None

    def forget(self, case_id: str | None = None) -> None:
        """Drop what was looked up about one case (its grants changed), or about all."""
        if case_id is None:
            self._owners.clear()
            self._members.clear()
            self._rotations = None
            return
        self._owners.pop(case_id, None)
        for key in [key for key in self._members if key[1] == case_id]:
            del self._members[key]

    def after_applied(self, cs: Changeset) -> None:
        """Keep the look-ups true after `cs` was applied: its grants and key statements
        change who is a member."""
        if cs.case_id == "":
            self.forget()
        elif any(op.entity == GRANT for op in cs.ops):
            self.forget(cs.case_id)

    def trusts_fully(self, cs: Changeset) -> bool:
        """True when the signer of `cs` may write anything in its case but grants: its
        owner, or a member granted `office` or `liaison` and not cut off before `cs`.
        `refusal` says None for such a changeset without grant ops, and without reading
        the records it creates (an ngo's changes are decided by who created what)."""
        if cs.case_id == "" or self._owner(cs.case_id) is None:
            return False
        member = self._member(cs.case_id, cs.origin)
        return (
            member is not None
            and member.accepts(cs.epoch, cs.seq)
            and (member.role == OWNER or member.role in FULL_TRUST_ROLES)
        )

    def refusal(self, cs: Changeset) -> Refusal | None:
        """None when the signer of `cs` may do all it does, else why not."""
        if cs.case_id == "":
            return None  # statements about keys: sync.trust decides who may make them
        owner = self._owner(cs.case_id)
        if owner is None:
            # A new case makes its creator the owner; anything else about a case not known
            # here waits for the case (apply parks it) and is decided when it lands.
            return self._claim_refusal(cs)
        member = self._member(cs.case_id, cs.origin)
        if member is None:
            return self._refuse(
                cs, None, NO_GRANT, "write", "no member of the case granted it access"
            )
        if not member.accepts(cs.epoch, cs.seq):
            cut = member.cut or (0, 0)
            return self._refuse(
                cs,
                member,
                NO_GRANT,
                "write",
                f"its access was removed after its changeset {cut[1]}",
            )
        if member.role == "defence":
            if self._only_custody_of_released(cs, member):
                return None
            return self._refuse(
                cs,
                member,
                NOT_PERMITTED,
                "change records",
                "defence writes nothing into a case it does not own",
            )
        for op in cs.ops:
            if op.entity == GRANT and (reason := self._grant_problem(op, member, owner)):
                return self._refuse(cs, member, NOT_PERMITTED, reason[0], reason[1])
        if member.role == OWNER or member.role in FULL_TRUST_ROLES:
            return None
        if member.role == "ngo":
            return self._ngo_refusal(cs, member)
        return self._refuse(
            cs, member, NOT_PERMITTED, "write", f"the role {member.role!r} is not known"
        )

    # -- the rules ---------------------------------------------------------------------------

    def _claim_refusal(self, cs: Changeset) -> Refusal | None:
        """A case create for a case not held here: its id must be bound to the signer."""
        for op in cs.ops:
            if op.entity != "case" or op.kind != "create":
                continue
            bound = grants.case_id_binding(op.entity_id, cs.origin)
            if (
                op.entity_id == cs.case_id
                and bound is not True
                and self._copy_for_us(cs)
                and self._known_as_office(cs.origin)
            ):
                continue
            if bound is False or op.entity_id != cs.case_id:
                return self._claim_refused(
                    cs,
                    NEVER,
                    "its id was made by another office's key, so only that office can have"
                    " opened it",
                )
            if bound is None and not self._known_as_office(cs.origin):
                return self._claim_refused(
                    cs,
                    NOT_PERMITTED,
                    "a case from before case ids were bound to their creator is accepted"
                    " only from a peer this office knows as an office or liaison",
                )
        return None

    def _copy_for_us(self, cs: Changeset) -> bool:
        """True when `cs` also grants this workspace the case in a restricted role: the
        copy (projection) an office that shares the case makes for a partner, signed by
        that office, not by the case's creator. Offices never take a case this way: they
        receive the creator's own signed history."""
        row = self._conn.execute("SELECT origin FROM node_identity WHERE id = 1").fetchone()
        here = str(row[0]) if row else ""
        return any(
            op.entity == GRANT
            and op.kind == "create"
            and op.fields.get("kind") == "grant"
            and op.fields.get("grantee") == here
            and op.fields.get("role") in RESTRICTED_ROLES
            for op in cs.ops
        )

    def _claim_refused(self, cs: Changeset, held_for: str, why: str) -> Refusal:
        who = signer_words(self._conn, cs.origin, "no grant")
        return Refusal(f"Held back: {who} may not open case {cs.case_id[:8]}; {why}.", held_for)

    def _known_as_office(self, origin: str) -> bool:
        """The one local fact the authority consults, and only for cases created before ids
        were bound: whether a person here added `origin` (or a key it replaced) as an
        office or liaison. Our own key counts."""
        keys = grants.earlier_keys(origin, self._rotations_now())
        marks = ",".join("?" * len(keys))
        row = self._conn.execute(
            f"SELECT 1 FROM peers WHERE origin IN ({marks}) AND role IN ('office', 'liaison')"
            f" UNION ALL SELECT 1 FROM node_identity WHERE origin IN ({marks})",
            (*keys, *keys),
        ).fetchone()
        return row is not None

    @staticmethod
    def _grant_problem(op: Op, member: Membership, owner: str) -> tuple[str, str] | None:
        if member.role != OWNER and member.role not in FULL_TRUST_ROLES:
            return (
                "grant or remove access",
                "only the case's owner or an office or liaison it was shared with may",
            )
        if op.fields.get("kind") == "ungrant" and op.fields.get("grantee") == owner:
            return ("remove the case's owner", "the office that created a case keeps it")
        return None

    def _ngo_refusal(self, cs: Changeset, member: Membership) -> Refusal | None:
        """An ngo creates its own records and changes only those it created."""
        created_here = {(op.entity, op.entity_id) for op in cs.ops if op.kind == "create"}
        for op in cs.ops:
            noun = _NOUNS.get(op.entity, op.entity)
            if op.entity not in NGO_CREATES:
                verb = "add" if op.kind == "create" else "change"
                return self._refuse(
                    cs,
                    member,
                    NOT_PERMITTED,
                    f"{verb} {noun}",
                    "a partner organisation adds only evidence, custody of its own evidence,"
                    " notes, persons and incidents",
                )
            creator = grants.record_creator(self._conn, op.entity, op.entity_id)
            if creator is None:
                if (
                    op.entity == "custody"
                    and not self._own_evidence(cs, op, created_here)
                    and not self._released_to(cs, member, op)
                ):
                    return self._refuse(
                        cs,
                        member,
                        NOT_PERMITTED,
                        "record custody of an evidence item",
                        "a partner organisation records custody only of evidence it added,"
                        " and of an item released to it only its receipt",
                    )
                continue  # a new record of its own (or one that has not arrived: it waits)
            if not self._is_signer(creator, cs.origin):
                return self._refuse(
                    cs,
                    member,
                    NOT_PERMITTED,
                    f"change {noun} it did not create",
                    "a partner organisation changes only the records it added",
                )
        return None

    def _only_custody_of_released(self, cs: Changeset, member: Membership) -> bool:
        """True when every op of `cs` records the receipt of an item released to the signer
        or its role: all a defence member may write into a case."""
        return all(
            op.entity == "custody"
            and op.kind == "create"
            and grants.record_creator(self._conn, op.entity, op.entity_id) is None
            and self._released_to(cs, member, op)
            for op in cs.ops
        )

    def _released_to(self, cs: Changeset, member: Membership, op: Op) -> bool:
        """True when the custody op is a receipt ("received in bundle") of an item ever
        released (by a signed release record, withdrawn or not, so arrival order does not
        matter) to the signer, a key it replaced, or its role, in the changeset's case."""
        if op.fields.get("event") != RECEIPT_EVENT:
            return False
        evidence_id = str(op.fields.get("evidence_id", ""))
        keys = grants.earlier_keys(cs.origin, self._rotations_now())
        marks = ",".join("?" * len(keys))
        row = self._conn.execute(
            "SELECT 1 FROM evidence_releases WHERE evidence_id = ? AND case_id = ?"
            f" AND (grantee_origin IN ({marks}) OR (grantee_origin = '' AND grantee_role = ?))"
            " LIMIT 1",
            (evidence_id, cs.case_id, *keys, member.role),
        ).fetchone()
        return row is not None

    def _own_evidence(self, cs: Changeset, op: Op, created_here: set[tuple[str, str]]) -> bool:
        evidence_id = str(op.fields.get("evidence_id", ""))
        if ("evidence", evidence_id) in created_here:
            return True
        creator = grants.record_creator(self._conn, "evidence", evidence_id)
        return creator is None or self._is_signer(creator, cs.origin)

    def _is_signer(self, creator: str, origin: str) -> bool:
        """True when `creator` is `origin` or a key `origin` replaced by rotation."""
        return creator in grants.earlier_keys(origin, self._rotations_now())

    # -- look-ups, remembered ------------------------------------------------------------------

    def _rotations_now(self) -> dict[str, str]:
        if self._rotations is None:
            self._rotations = grants.rotated_from(self._conn)
        return self._rotations

    def _owner(self, case_id: str) -> str | None:
        owner = self._owners.get(case_id)
        if owner is None:
            owner = grants.case_owner(self._conn, case_id)
            if owner is not None:
                self._owners[case_id] = owner
        return owner

    def _member(self, case_id: str, origin: str) -> Membership | None:
        key = (origin, case_id)
        if key not in self._members:
            self._members[key] = grants.membership(
                self._conn, case_id, origin, self._rotations_now()
            )
        return self._members[key]

    # -- words ---------------------------------------------------------------------------------

    def _refuse(
        self, cs: Changeset, member: Membership | None, held_for: str, what: str, why: str
    ) -> Refusal:
        role = "no grant" if member is None else member.role
        who = signer_words(self._conn, cs.origin, role)
        case = case_words(self._conn, cs.case_id)
        return Refusal(f"Held back: {who} may not {what} in case {case}; {why}.", held_for)


def signer_words(conn: Connection, origin: str, role: str) -> str:
    """'Varosa Documentation Project (ngo, 12345…)': the office name from our peer card
    (else the grant naming it, else its introduction), its role, a short fingerprint."""
    row = conn.execute(
        "SELECT office_name, signing_public, encryption_public FROM peers WHERE origin = ?",
        (origin,),
    ).fetchone()
    if row is not None:
        short = fingerprint(bytes(row[1]), bytes(row[2])).split()[0]
        return f"{row[0]} ({role}, {short}…)"
    row = conn.execute(
        "SELECT office_name, signing_public, encryption_public FROM case_grants"
        " WHERE grantee = ? AND kind = 'grant' ORDER BY created_hlc LIMIT 1",
        (origin,),
    ).fetchone()
    if row is not None:
        short = fingerprint(bytes.fromhex(str(row[1])), bytes.fromhex(str(row[2]))).split()[0]
        return f"{row[0]} ({role}, {short}…)"
    row = conn.execute("SELECT office_name FROM origins WHERE origin = ?", (origin,)).fetchone()
    name = str(row[0]) if row and row[0] else "An unknown office"
    return f"{name} ({role}, key {origin[:8]}…)"


def case_words(conn: Connection, case_id: str) -> str:
    """The case's reference, else the start of its id."""
    row = conn.execute("SELECT reference FROM cases WHERE id = ?", (case_id,)).fetchone()
    return str(row[0]) if row and row[0] else case_id[:8]


def may_grant(conn: Connection, origin: str, case_id: str) -> str | None:
    """None when `origin` may grant or ungrant access to the case now, else the sentence
    every other office would hold such a grant back with."""
    if grants.case_owner(conn, case_id) in (None, origin):
        return None
    member = grants.membership(conn, case_id, origin)
    if member is not None and member.cut is None and member.role in FULL_TRUST_ROLES:
        return None
    role = "no grant" if member is None else member.role
    return (
        f"Held back: {signer_words(conn, origin, role)} may not grant or remove access in"
        f" case {case_words(conn, case_id)}; only the case's owner or an office or liaison"
        " it was shared with may."
    )


def own_commit_problem(conn: Connection, cs: Changeset) -> str | None:
    """None when the offices would accept this workspace's own changeset `cs`, else the
    sentence for the person who tried to make it: the same rule, decided before signing,
    so that a partner's or defence team's edit is refused at once rather than held back
    at every office later (and sent back and forth)."""
    if cs.case_id == "":
        return None
    refusal = Authority(conn).refusal(cs)
    if refusal is None:
        return None
    rule = refusal.sentence.removeprefix("Held back: ")
    return (
        f"Not saved: {rule} The offices would hold this change back, so it was not made;"
        " ask the office that shares the case with you to make it."
    )


def check_own_commits(ws: Workspace) -> None:
    """Refuse, from now on, every change to this workspace that the offices would hold
    back (set when a person opens a workspace in the window or on the command line)."""
    ws.commit_check = own_commit_problem


def may_record_custody(ws: Workspace, case_id: str, evidence_id: str, event: str) -> bool:
    """True when the offices would accept a custody event this workspace adds to the item
    now (asked before recording what arrived or left in a bundle)."""
    probe = Changeset(
        origin=ws.origin,
        epoch=ws.epoch,
        seq=2**62,  # after any cut: a member cut off records nothing more
        prev_hash="",
        hlc="",
        author=ws.author,
        case_id=case_id,
        ops=(Op("custody", "", "create", {"evidence_id": evidence_id, "event": event}, {}),),
    )
    return Authority(ws.conn).refusal(probe) is None
