"""Settling a conflict over a person's protection is a protection officer's decision too.

Two offices' protection officers change a witness's protection while apart; at Kabora the
conflict waits. Keeping either value is a change of protection (storage.roles), so its
supervisor is refused with the sentence and an audit entry, and nothing is settled; its
protection officer settles it.
"""

from __future__ import annotations

import json

import pytest

from storage import cases, roles
from storage.audit import entries
from storage.digest import state_digest
from storage.records import Person
from storage.workspace import FIRST_USER, open_workspace
from sync import conflicts
from tests.conftest import OFFICER, OFFICER_PASSPHRASE, PASSPHRASE
from tests.sync.conftest import Network


def protection_conflict(network: Network) -> int:
    """Kabora's officer lowers the protection to partial, Dressa's lifts it; Kabora
    receives Dressa's change. Returns the conflict's number at Kabora."""
    kabora = network.ws["kabora"]
    case_id = cases.add_case(kabora, "Shelling of the Oru market")
    person_id = cases.add_person(kabora, case_id, "witness", name="A. Haddad", protected=True)
    network.share("kabora", case_id, "dressa")
    assert network.send("kabora", "dressa").status == "imported"
    network.share("dressa", case_id, "kabora")
    kabora, dressa = network.as_officer("kabora"), network.as_officer("dressa")
    cases.update_record(kabora, Person, person_id, protection="partial")
    cases.update_record(dressa, Person, person_id, protection="none")
    report = network.send("dressa", "kabora")
    assert report.status == "imported" and report.conflicts == 1, report.message
    [conflict] = conflicts.list_conflicts(kabora)
    assert conflict.field == "protection"
    return conflict.id


def test_a_supervisor_cannot_settle_a_conflict_over_protection(network: Network) -> None:
    number = protection_conflict(network)
    root = network.ws["kabora"].paths.root
    network.ws["kabora"].close()
    with open_workspace(root, PASSPHRASE, user=FIRST_USER) as ws:
        before = state_digest(ws.conn)
        with pytest.raises(roles.NotPermitted) as refused:
            conflicts.resolve(ws, number, keep="other")
        what = f"settle conflict {number} over a person's protection"
        assert str(refused.value) == (
            f"{FIRST_USER} is a supervisor here; only a protection officer may {what}."
            " Nothing changed, and the attempt is recorded in the audit log."
        )
        assert state_digest(ws.conn) == before
        entry = entries(ws.conn, limit=1)[0]
        assert (entry.actor, entry.action, entry.subject) == (FIRST_USER, "refused", what)
        assert json.loads(entry.detail) == {"action": "change protection"}
        assert [c.status for c in conflicts.list_conflicts(ws)] == ["open"]
    with open_workspace(root, OFFICER_PASSPHRASE, user=OFFICER) as ws:
        conflicts.resolve(ws, number, keep="shown")
        assert conflicts.list_conflicts(ws) == []
