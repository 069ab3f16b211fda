"""The conflict queue: concurrent edits that both survived, waiting for a person.

Merging never drops what a person typed: when two offices change the same field without
seeing each other's edit, the value with the higher (hlc, origin) is shown everywhere and
the other waits here. Resolving is an ordinary edit made after seeing the shown value; it
travels like any other change and settles the conflict on every node it reaches.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from storage import canonical, cases, roles
from storage.apply import WITHDRAWAL
from storage.entities import ENTITIES, PROTECTED
from storage.errors import InvalidInput, NotFound
from storage.signers import signer_of
from storage.workspace import Draft, Workspace

# What a withheld protected value reads as (the same words `valise person list` uses).
WITHHELD = "(protected)"


@dataclass(frozen=True)
class Conflict:
    """Two values of one field (or an edit against a withdrawal) and who wrote each."""

    id: int
    case_id: str
    entity: str
    entity_id: str
    field: str
    shown_op: str
    shown_value: Any
    shown_by: str
    shown_at: str
    other_op: str
    other_value: Any
    other_by: str
    other_at: str
    status: str
    # The person's pseudonym, for a conflict about a person (how to name it without its
    # identity), and whether protected values were replaced by WITHHELD.
    person: str = ""
    withheld: bool = False

    @property
    def protected(self) -> bool:
        """True when the conflict's values are (or hold) a protected identity."""
        return bool(_protected_names(self))

    def to_json(self) -> dict[str, Any]:
        """Both values, their authors and times, for --json."""
        return {**self.__dict__, "protected": self.protected}


def _protected_names(conflict: Conflict) -> set[str]:
    """The protected fields a conflict's values are, or (an edit against a withdrawal) hold."""
    kind = ENTITIES.get(conflict.entity)
    if kind is None:
        return set()
    protected = {name for name, spec in kind.fields.items() if spec.klass == PROTECTED}
    if conflict.field == WITHDRAWAL:
        edits = conflict.other_value if isinstance(conflict.other_value, dict) else {}
        return protected & set(edits)
    return protected & {conflict.field}


def _withhold(conflict: Conflict) -> Conflict:
    """The conflict with its protected values replaced by WITHHELD."""
    names = _protected_names(conflict)
    if not names:
        return conflict
    if conflict.field == WITHDRAWAL:
        edits = {k: WITHHELD if k in names else v for k, v in conflict.other_value.items()}
        return dataclasses.replace(conflict, other_value=edits, withheld=True)
    return dataclasses.replace(conflict, shown_value=WITHHELD, other_value=WITHHELD, withheld=True)


def _pseudonym(ws: Workspace, conflict: Conflict) -> str:
    if conflict.entity != "person":
        return ""
    row = ws.conn.execute(
        "SELECT pseudonym FROM persons WHERE id = ?", (conflict.entity_id,)
    ).fetchone()
    return str(row[0] or "") if row else ""


def _decode(text: object) -> Any:
    return None if text is None else canonical.decode(str(text).encode())


def _author(ws: Workspace, op_ref: str) -> tuple[str, str]:
    """Who wrote an op: the name its author typed, and the office whose key signed it as
    this office knows that key (storage.signers), never a name a bundle introduced."""
    row = ws.conn.execute(
        "SELECT author, origin, hlc FROM changesets WHERE id = ?",
        (op_ref.split(":", 1)[0],),
    ).fetchone()
    if row is None:
        return "", ""
    author, hlc = str(row[0] or ""), str(row[2] or "")
    office = signer_of(ws.conn, str(row[1])).name
    who = f"{author} ({office})" if office and author != office else office or author
    return who, hlc


def list_conflicts(
    ws: Workspace, *, include_settled: bool = False, reveal: bool = False
) -> list[Conflict]:
    """Open conflicts (or all), oldest first. A protected identity (a legal name, an
    address...) in a conflict is withheld (WITHHELD) unless `reveal`; revealing writes
    to the audit chain first, as `valise person list --reveal` does, naming the persons
    by id only."""
    found = _read_conflicts(ws, include_settled=include_settled)
    if not reveal:
        return [_withhold(c) for c in found]
    revealed: dict[str, list[str]] = {}
    for conflict in found:
        if conflict.protected and conflict.case_id:
            revealed.setdefault(conflict.case_id, []).append(conflict.entity_id)
    for case_id, person_ids in revealed.items():
        cases.record_reveal(ws, case_id, sorted(set(person_ids)))
    return found


def _read_conflicts(ws: Workspace, *, include_settled: bool) -> list[Conflict]:
    """Every conflict with its values as stored."""
    where = "" if include_settled else " WHERE status = 'open'"
    rows = ws.conn.execute(
        "SELECT id, case_id, entity, entity_id, field, shown_op, shown_value, other_op,"
        f" other_value, status FROM conflicts{where} ORDER BY id"
    ).fetchall()
    out = []
    for cid, case_id, entity, entity_id, name, shown_op, shown, other_op, other, status in rows:
        shown_by, shown_at = _author(ws, str(shown_op))
        other_by, other_at = _author(ws, str(other_op))
        out.append(
            Conflict(
                int(cid),
                str(case_id),
                str(entity),
                str(entity_id),
                str(name),
                str(shown_op),
                _decode(shown),
                shown_by,
                shown_at,
                str(other_op),
                _decode(other),
                other_by,
                other_at,
                str(status),
            )
        )
    return [dataclasses.replace(c, person=_pseudonym(ws, c)) for c in out]


def reveal_conflict(ws: Workspace, conflict_id: int) -> Conflict:
    """One conflict with its protected values, after recording the reveal in the audit
    chain (the same entry `valise person list --reveal` writes, naming the person by id)."""
    conflict = get_conflict(ws, conflict_id)
    if conflict.protected and conflict.case_id:
        cases.record_reveal(ws, conflict.case_id, [conflict.entity_id])
    return conflict


def get_conflict(ws: Workspace, conflict_id: int) -> Conflict:
    """One conflict by its number, its values as stored (for settling it: callers show
    them to nobody)."""
    for conflict in _read_conflicts(ws, include_settled=True):
        if conflict.id == conflict_id:
            return conflict
    raise NotFound("conflict", str(conflict_id))


def resolve(
    ws: Workspace, conflict_id: int, *, keep: str | None = None, value: str | None = None
) -> str:
    """Settle a conflict by keeping one of its two values (`keep` is "shown", "other", or
    the value itself) or by writing a new one; returns the changeset id."""
    conflict = get_conflict(ws, conflict_id)
    if conflict.status != "open":
        raise InvalidInput(f"Conflict {conflict_id} is already settled.")
    if (keep is None) == (value is None):
        raise InvalidInput("Say which value to keep (--keep) or give a new one (--value).")
    if conflict.field == WITHDRAWAL:
        return _settle(ws, conflict, "withdrawn", _withdrawal_choice(keep, value))
    if value is None and conflict.protected and keep not in ("shown", "other"):
        # Matching a typed value against protected ones would confirm a guessed name.
        raise InvalidInput(
            "The values of this conflict are a protected identity: keep one with --keep"
            " shown or --keep other, or write another with --value."
        )
    chosen = value if value is not None else _pick(conflict, str(keep))
    if conflict.field not in ENTITIES[conflict.entity].fields:
        raise InvalidInput(f"A {conflict.entity} has no field {conflict.field!r}.")
    if conflict.entity == "person" and conflict.field == "protection":
        what = f"settle conflict {conflict.id} over a person's protection"
        roles.require(ws, roles.CHANGE_PROTECTION, what)
    return _settle(ws, conflict, conflict.field, chosen)


def _settle(ws: Workspace, conflict: Conflict, name: str, chosen: object) -> str:
    """The resolution: an ordinary edit that names every waiting value in `prev`."""
    draft = Draft(conflict.entity, conflict.entity_id, "update", {name: chosen}, resolves=True)
    return ws.commit(
        conflict.case_id,
        [draft],
        audit_action="conflict resolved",
        audit_detail={"conflict": conflict.id},
    )


def _pick(conflict: Conflict, keep: str) -> object:
    if keep == "shown":
        return conflict.shown_value
    if keep == "other":
        return conflict.other_value
    matches = [v for v in (conflict.shown_value, conflict.other_value) if str(v) == keep]
    if not matches:
        raise InvalidInput(
            f"{keep!r} is neither of the two values; use --keep shown, --keep other, or"
            " --value TEXT."
        )
    return matches[0]


def _withdrawal_choice(keep: str | None, value: str | None) -> int:
    """Keep the record withdrawn (1) or restore it (0); the edit's values stay either way."""
    if value is not None or keep not in ("shown", "other", "withdrawn", "restored"):
        raise InvalidInput(
            "An edit made against a withdrawal is settled with --keep withdrawn (or shown)"
            " or --keep restored (or other)."
        )
    return 1 if keep in ("shown", "withdrawn") else 0
