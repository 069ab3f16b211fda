"""What an installation holds, as ranges of sequence numbers per origin and epoch.

A peer sees only the cases shared with it, so what it holds of an origin has gaps; ranges
keep that small. Every bundle carries its sender's holdings, which doubles as the
acknowledgement of everything the sender has received: we stop sending what it holds.
"""

from __future__ import annotations

from collections.abc import Iterable

from storage.changesets import decode
from storage.connection import Connection
from sync.errors import BundleRefused

Holdings = dict[str, list[list[int]]]  # origin -> [[epoch, first seq, last seq], ...]
MAX_RANGES = 1_000_000


def compress(slots: Iterable[tuple[str, int, int]]) -> Holdings:
    """Ranges from (origin, epoch, seq) triples sorted by origin, epoch, seq."""
    out: Holdings = {}
    for origin, epoch, seq in slots:
        ranges = out.setdefault(origin, [])
        if ranges and ranges[-1][0] == epoch and ranges[-1][2] + 1 == seq:
            ranges[-1][2] = seq
        elif not (ranges and ranges[-1][0] == epoch and ranges[-1][1] <= seq <= ranges[-1][2]):
            ranges.append([epoch, seq, seq])
    return out


def held_here(conn: Connection) -> Holdings:
    """Every changeset this workspace holds: applied, and held back to be tried again here
    (a missing grant, a clock ahead). The second kind is kept with its body and tried at
    every import, so a peer need not send it again; counting it as held stops a partner
    from resending it, with its evidence and a new custody event, in every bundle.
    Changesets refused for good (a revoked key, a fork) are not counted: a retraction may
    make them welcome when a peer sends them again."""
    rows = conn.execute("SELECT origin, epoch, seq FROM changesets").fetchall()
    slots = {(str(r[0]), int(r[1]), int(r[2])) for r in rows}
    slots.update(held_back_to_retry(conn))
    return compress(sorted(slots))


def held_back_to_retry(conn: Connection, origin: str | None = None) -> set[tuple[str, int, int]]:
    """(origin, epoch, seq) of the changesets held back here that are tried again at every
    import (of `origin` only, when given): they count as held in what we tell peers."""
    query = "SELECT body FROM quarantine WHERE held_for != ''"
    args: tuple[str, ...] = ()
    if origin is not None:
        query, args = query + " AND origin = ?", (origin,)
    slots = set()
    for (body,) in conn.execute(query, args):
        held = decode(bytes(body))
        slots.add((held.origin, held.epoch, held.seq))
    return slots


def lacks_any_of(conn: Connection, holdings: Holdings, origins: Iterable[str]) -> bool:
    """True when `holdings` (a peer's) name a changeset of one of `origins` that is not
    here: after a restore from a backup, whether that peer still has our own work to give
    back. One indexed count per range."""
    for origin in origins:
        for epoch, first, last in holdings.get(origin, []):
            count = conn.execute(
                "SELECT count(*) FROM changesets WHERE origin = ? AND epoch = ?"
                " AND seq BETWEEN ? AND ?",
                (origin, epoch, first, last),
            ).fetchone()[0]
            if int(count) < last - first + 1:
                return True
    return False


class HoldingsIndex:
    """Fast membership tests against a peer's holdings."""

    def __init__(self, holdings: Holdings) -> None:
        self._by_slot: dict[tuple[str, int], list[tuple[int, int]]] = {}
        for origin, ranges in holdings.items():
            for epoch, first, last in ranges:
                self._by_slot.setdefault((origin, epoch), []).append((first, last))

    def holds(self, origin: str, epoch: int, seq: int) -> bool:
        """True when the peer said it holds this changeset."""
        return any(a <= seq <= b for a, b in self._by_slot.get((origin, epoch), ()))


def check(value: object) -> Holdings:
    """Shape-check holdings that arrived in a bundle."""
    if not isinstance(value, dict):
        raise BundleRefused("malformed", "The bundle's record of what its sender holds is damaged.")
    count = 0
    for origin, ranges in value.items():
        good_origin = len(origin) == 64 and all(c in "0123456789abcdef" for c in origin)
        if not good_origin or not isinstance(ranges, list):
            raise BundleRefused("malformed", "The bundle names an origin that is not valid.")
        for item in ranges:
            count += 1
            ok = (
                isinstance(item, list)
                and len(item) == 3
                and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in item)
                and item[1] <= item[2]
            )
            if not ok or count > MAX_RANGES:
                raise BundleRefused("malformed", "The bundle's holdings are malformed.")
    return value
