"""Who signed a changeset, as a person may rely on it: the office on the signer's contact card.

A changeset names its author in free text ("Kabora evidence officer"), and a bundle may
introduce an origin under any office name it likes. Neither proves anything: only the key
that signed the changeset does. So history, custody and the quarantine name a signer by what
this office itself holds about that key: our own office for our keys, the office name, role
and fingerprint on the contact card a person added for a peer (`peers`), and otherwise
"an unknown origin" with the start of its id. The free-text author is shown beside it, never
instead of it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from storage.connection import Connection
from storage.identity import fingerprint

# The meta key sync.trust keeps this installation's replaced keys under (storage reads it,
# sync writes it; the name is part of the workspace's format).
RETIRED_KEYS_META = "retired_bundle_keys"
SHORT_FINGERPRINT_GROUPS = 2  # of the eight groups of five digits a person compares
SHORT_ORIGIN = 12


@dataclass(frozen=True)
class Signer:
    """The holder of the key that signed something, as this office knows it."""

    origin: str
    office: str  # the office name on its card (ours for our keys); "" when not known
    role: str  # the role we gave it ("" for ourselves and for unknown origins)
    fingerprint: str  # the digits on its card; "" when not known (or an earlier own key)
    own: bool = False

    @property
    def known(self) -> bool:
        """True for our own keys and for keys on a contact card a person added."""
        return self.own or bool(self.office)

    @property
    def short_fingerprint(self) -> str:
        """The first groups of the fingerprint, enough to tell offices apart at a glance."""
        groups = self.fingerprint.split()
        if not groups:
            return ""
        return " ".join(groups[:SHORT_FINGERPRINT_GROUPS]) + "…"

    @property
    def name(self) -> str:
        """The office name alone, or "an unknown origin (…)" when there is no card."""
        if self.known:
            return self.office
        return f"an unknown origin ({self.origin[:SHORT_ORIGIN]})"

    @property
    def label(self) -> str:
        """Office, role and short fingerprint: "Dressa field office (office, 48213 09124…)"."""
        if not self.known:
            return self.name
        details = ["this office" if self.own else self.role]
        details.append(self.short_fingerprint or ("an earlier key" if self.own else ""))
        shown = ", ".join(part for part in details if part)
        return f"{self.office} ({shown})" if shown else self.office

    def to_json(self) -> dict[str, object]:
        """A plain object for --json output."""
        return {
            "origin": self.origin,
            "office": self.name,
            "role": self.role,
            "fingerprint": self.fingerprint,
            "own": self.own,
            "known": self.known,
        }


class Signers:
    """Looks signers up by origin, each once (make one per listing)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._known: dict[str, Signer] = {}
        row = conn.execute(
            "SELECT origin, signing_public, encryption_public FROM node_identity"
        ).fetchone()
        office = conn.execute("SELECT value FROM meta WHERE key = 'office_name'").fetchone()
        self._office = str(office[0]) if office else ""
        self._own = str(row[0]) if row else ""
        if row is not None:
            own_print = fingerprint(bytes(row[1]), bytes(row[2]))
            self._known[self._own] = Signer(self._own, self._office, "", own_print, own=True)
        retired = conn.execute(
            "SELECT value FROM meta WHERE key = ?", (RETIRED_KEYS_META,)
        ).fetchone()
        for entry in json.loads(str(retired[0])) if retired else []:
            origin = str(entry[0])
            self._known.setdefault(origin, Signer(origin, self._office, "", "", own=True))

    def of(self, origin: str) -> Signer:
        """The signer behind `origin`."""
        found = self._known.get(origin)
        if found is None:
            row = self._conn.execute(
                "SELECT office_name, role, signing_public, encryption_public FROM peers"
                " WHERE origin = ?",
                (origin,),
            ).fetchone()
            if row is None:
                found = Signer(origin, "", "", "")
            else:
                digits = fingerprint(bytes(row[2]), bytes(row[3]))
                found = Signer(origin, str(row[0]), str(row[1]), digits)
            self._known[origin] = found
        return found


def signer_of(conn: Connection, origin: str) -> Signer:
    """The signer behind one origin (use `Signers` for many)."""
    return Signers(conn).of(origin)
