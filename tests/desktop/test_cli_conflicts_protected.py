"""A conflict about a protected identity shows the person by pseudonym and withholds both
values; `conflicts list --reveal` shows them and records that in the audit log.

Kabora and Dressa (the sync tests' real installations) both change a protected witness's
legal name while apart; Kabora then receives Dressa's edit, so the conflict is real.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from storage import audit, cases, queries
from storage.cases import REVEAL_ACTION
from storage.records import Person
from storage.workspace import open_workspace
from sync import conflicts
from tests.conftest import OFFICER, OFFICER_PASSPHRASE, add_officer
from tests.desktop.clitools import assert_ok, assert_refused, valise
from tests.sync import conftest as sync_fixtures
from tests.sync.conftest import Network

installation_templates = sync_fixtures.installation_templates
network = sync_fixtures.network

NAMES = ("Amina Haddad", "Amina K. Haddad")  # Kabora's and Dressa's spelling
PSEUDONYM = "W-0042"


def name_conflict(net: Network) -> tuple[str, str]:
    """A protected witness whose legal name both offices changed; returns (case, person)."""
    kabora, dressa = net.ws["kabora"], net.ws["dressa"]
    case_id = cases.add_case(kabora, "Shelling of the Oru market")
    person_id = cases.add_person(
        kabora, case_id, "witness", name="A. Haddad", protected=True, pseudonym=PSEUDONYM
    )
    net.share("kabora", case_id, "dressa")
    assert net.send("kabora", "dressa").status == "imported"
    net.share("dressa", case_id, "kabora")
    cases.update_record(kabora, Person, person_id, legal_name=NAMES[0])
    cases.update_record(dressa, Person, person_id, legal_name=NAMES[1])
    report = net.send("dressa", "kabora")
    assert report.status == "imported" and report.conflicts == 1, report.message
    return case_id, person_id


@pytest.fixture
def kabora_cli(network: Network) -> tuple[dict[str, str], str, str, Path]:
    """The conflict, and the command line's environment for Kabora's protection officer
    (who may reveal; its workspace closed, so the command can open it)."""
    case_id, person_id = name_conflict(network)
    add_officer(network.ws["kabora"])
    root = network.ws["kabora"].paths.root
    network.ws["kabora"].close()
    env = {
        **os.environ,
        "VALISE_WORKSPACE": str(root),
        "VALISE_USER": OFFICER,
        "VALISE_PASSPHRASE": OFFICER_PASSPHRASE,
    }
    return env, case_id, person_id, root


def _reveals(root: Path) -> list[audit.AuditEntry]:
    with open_workspace(root, OFFICER_PASSPHRASE, user=OFFICER) as ws:
        return [e for e in audit.entries(ws.conn, limit=1000) if e.action == REVEAL_ACTION]


def test_a_protected_name_conflict_is_listed_by_pseudonym_with_both_names_withheld(
    kabora_cli: tuple[dict[str, str], str, str, Path],
) -> None:
    env, _, _, root = kabora_cli
    result = valise(env, "conflicts", "list")
    output = assert_ok(result)
    assert f"person {PSEUDONYM}" in output and "legal_name" in output
    assert output.count("(protected — use --reveal)") == 2
    assert "--reveal" in result.stderr
    for name in (*NAMES, "Haddad"):
        assert name not in output and name not in result.stderr
    [listed] = json.loads(assert_ok(valise(env, "conflicts", "list", "--json")))
    assert (listed["person"], listed["protected"], listed["withheld"]) == (PSEUDONYM, True, True)
    assert listed["shown_value"] == listed["other_value"] == conflicts.WITHHELD
    assert _reveals(root) == []  # withholding is not a reveal


def test_conflicts_list_reveal_shows_both_names_and_audits_it(
    kabora_cli: tuple[dict[str, str], str, str, Path],
) -> None:
    env, case_id, person_id, root = kabora_cli
    output = assert_ok(valise(env, "conflicts", "list", "--reveal"))
    assert NAMES[0] in output and NAMES[1] in output
    [entry] = _reveals(root)
    assert entry.subject == case_id
    assert json.loads(entry.detail) == {"persons": 1, "person": person_id}
    assert "Haddad" not in entry.detail  # the entry names the person by id only
    [listed] = json.loads(assert_ok(valise(env, "conflicts", "list", "--reveal", "--json")))
    assert {listed["shown_value"], listed["other_value"]} == set(NAMES)
    assert len(_reveals(root)) == 2


def test_keep_settles_a_protected_conflict_without_revealing_it(
    kabora_cli: tuple[dict[str, str], str, str, Path],
) -> None:
    env, _, person_id, root = kabora_cli
    with open_workspace(root, OFFICER_PASSPHRASE, user=OFFICER) as ws:
        shown = queries.get(ws.conn, Person, person_id).legal_name
    [other] = set(NAMES) - {shown}
    [listed] = json.loads(assert_ok(valise(env, "conflicts", "list", "--json")))
    # Matching a typed name would confirm a guess without an audited reveal.
    assert_refused(
        valise(env, "conflicts", "resolve", str(listed["id"]), "--keep", NAMES[0]),
        1,
        "protected identity",
    )
    assert_ok(valise(env, "conflicts", "resolve", str(listed["id"]), "--keep", "other"))
    assert json.loads(assert_ok(valise(env, "conflicts", "list", "--json"))) == []
    with open_workspace(root, OFFICER_PASSPHRASE, user=OFFICER) as ws:
        assert queries.get(ws.conn, Person, person_id).legal_name == other
    assert _reveals(root) == []
