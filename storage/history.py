"""The signed history: list changesets, and check every signature against its origin."""

from __future__ import annotations

from dataclasses import dataclass

from storage import changesets
from storage.connection import Connection
from storage.identity import verify_changeset


@dataclass(frozen=True)
class LogEntry:
    """One changeset as shown by `valise log`."""

    id: str
    origin: str
    office: str
    epoch: int
    seq: int
    hlc: str
    author: str
    case_id: str
    case_reference: str
    ops: list[str]
    signature_ok: bool

    def to_json(self) -> dict[str, object]:
        """JSON-ready form."""
        return dict(self.__dict__)


def log(
    conn: Connection, case_id: str | None = None, limit: int = 50, offset: int = 0
) -> list[LogEntry]:
    """Newest changesets first, with their ops summarized and their signatures checked."""
    sql = (
        "SELECT cs.id, cs.origin, o.office_name, o.signing_public, cs.epoch, cs.seq, cs.hlc,"
        " cs.author, cs.case_id, coalesce(c.reference, ''), cs.body, cs.sig"
        " FROM changesets cs JOIN origins o ON o.origin = cs.origin"
        " LEFT JOIN cases c ON c.id = cs.case_id"
    )
    params: list[object] = []
    if case_id:
        sql += " WHERE cs.case_id = ?"
        params.append(case_id)
    sql += " ORDER BY cs.hlc DESC, cs.id LIMIT ? OFFSET ?"
    params += [limit, offset]
    entries = []
    for row in conn.execute(sql, params):
        body, sig = bytes(row[10]), bytes(row[11])
        decoded = changesets.decode(body)
        summary = [
            f"{op.kind} {op.entity} {op.entity_id}"
            + (f" ({', '.join(sorted(op.fields))})" if op.kind == "update" else "")
            for op in decoded.ops
        ]
        entries.append(
            LogEntry(
                id=row[0],
                origin=row[1],
                office=row[2],
                epoch=row[4],
                seq=row[5],
                hlc=row[6],
                author=row[7],
                case_id=row[8],
                case_reference=row[9],
                ops=summary,
                signature_ok=verify_changeset(bytes(row[3]), body, sig)
                and changesets.changeset_id(body) == row[0],
            )
        )
    return entries
