"""Restoring a withdrawn case: an ordinary signed edit that syncs like any change.

Why: a case withdrawn by mistake (or by a peer) left every list and search, and nothing
could bring it back. `case restore` writes the `withdrawn` field back to 0 with the
withdrawal it undoes in its `prev`, so every office applies it the same way, and the edits
flagged against that withdrawal are settled by it at every office.
"""

from __future__ import annotations

import json

import pytest

from storage import cases, history, queries
from storage.digest import state_digest
from storage.errors import InvalidInput, NotFound
from storage.queries import CaseFilter
from storage.records import Case
from storage.workspace import Workspace
from sync import conflicts
from sync.conflicts import list_conflicts
from tests.desktop.clitools import assert_ok, valise
from tests.sync.conftest import Network


def _listed(ws: Workspace, *, withdrawn: bool = False) -> list[str]:
    return [c.id for c in queries.list_cases(ws.conn, where=CaseFilter(withdrawn=withdrawn))]


def test_a_withdrawn_case_is_restored_locally(ws: Workspace) -> None:
    case_id = cases.add_case(ws, "Shelling of the Varosa market", "Three witnesses")
    cases.withdraw(ws, Case, case_id)
    assert case_id not in _listed(ws) and _listed(ws, withdrawn=True) == [case_id]
    assert cases.restore_case(ws, case_id) == case_id
    assert _listed(ws) == [case_id] and _listed(ws, withdrawn=True) == []
    restored = queries.get(ws.conn, Case, case_id)
    assert (restored.withdrawn, restored.title) == (0, "Shelling of the Varosa market")
    [newest] = history.incoming(ws.conn, "nobody", limit=1)  # every origin is "other"
    assert newest.changes == ("restored case",)
    assert (
        ws.conn.execute("SELECT count(*) FROM audit WHERE action = 'case restored'").fetchone()[0]
        == 1
    )
    cases.update_case(ws, case_id, summary="Four witnesses")  # an ordinary case again


def test_restoring_a_case_that_is_not_withdrawn_says_so(ws: Workspace) -> None:
    case_id = cases.add_case(ws, "Shelling of the Varosa market")
    reference = queries.get(ws.conn, Case, case_id).reference
    before = state_digest(ws.conn)
    with pytest.raises(InvalidInput) as refused:
        cases.restore_case(ws, case_id)
    assert str(refused.value) == (
        f"Case {reference} is not withdrawn, so there is nothing to restore; it is in the"
        " case list as it is."
    )
    assert state_digest(ws.conn) == before


@pytest.mark.parametrize(
    "garbage", ["", "   ", "no-such-case", "KAB-9999-0001", "x" * 300, "\udcff"]
)
def test_restoring_a_garbage_id_says_no_such_case(ws: Workspace, garbage: str) -> None:
    cases.add_case(ws, "Shelling of the Varosa market")
    before = state_digest(ws.conn)
    with pytest.raises(NotFound) as refused:
        cases.restore_case(ws, garbage)
    assert str(refused.value).startswith("No case with id ")
    assert str(refused.value).endswith(" in this workspace.")
    assert state_digest(ws.conn) == before


def test_case_restore_on_the_command_line(cli_env: dict[str, str]) -> None:
    case_id = assert_ok(valise(cli_env, "case", "add", "--title", "Shelling of the Varosa market"))
    assert_ok(valise(cli_env, "case", "withdraw", case_id))
    listed = json.loads(assert_ok(valise(cli_env, "case", "list", "--withdrawn", "--json")))
    assert [c["id"] for c in listed] == [case_id]
    assert json.loads(assert_ok(valise(cli_env, "case", "list", "--json"))) == []
    result = valise(cli_env, "case", "restore", case_id)
    assert assert_ok(result) == case_id
    assert "is back in the case list; it reaches its peers with the next sync." in result.stderr
    assert [c["id"] for c in json.loads(assert_ok(valise(cli_env, "case", "list", "--json")))] == [
        case_id
    ]
    again = valise(cli_env, "case", "restore", case_id)
    assert again.returncode != 0
    assert "is not withdrawn, so there is nothing to restore" in again.stderr
    garbage = valise(cli_env, "case", "restore", "no-such-case")
    assert garbage.returncode != 0
    assert "No case with id 'no-such-case' in this workspace." in garbage.stderr


def test_a_restore_syncs_to_another_office_through_a_real_bundle(network: Network) -> None:
    kabora, dressa = network.ws["kabora"], network.ws["dressa"]
    case_id = cases.add_case(kabora, "Shelling of the Varosa market", "Three witnesses")
    network.share("kabora", case_id, "dressa")
    assert network.send("kabora", "dressa").status == "imported"
    cases.withdraw(kabora, Case, case_id)
    assert network.send("kabora", "dressa").changesets == 1
    assert _listed(dressa, withdrawn=True) == [case_id]
    cases.restore_case(kabora, case_id)
    report = network.send("kabora", "dressa")
    assert (report.changesets, report.conflicts, report.quarantined) == (1, 0, 0)
    assert _listed(dressa) == [case_id] and _listed(dressa, withdrawn=True) == []
    assert state_digest(dressa.conn) == state_digest(kabora.conn)


def test_a_restore_settles_an_edit_made_against_the_withdrawal_everywhere(
    network: Network,
) -> None:
    """Dressa edits the case while Kabora withdraws it: the edit is flagged against the
    withdrawal at both. Kabora restores the case having seen both: the flag is settled at
    Kabora and, when the restore arrives, at Dressa, and the edit's value stands."""
    kabora, dressa = network.ws["kabora"], network.ws["dressa"]
    case_id = cases.add_case(kabora, "Shelling of the Varosa market", "Three witnesses")
    network.share("kabora", case_id, "dressa")
    assert network.send("kabora", "dressa").status == "imported"
    cases.update_case(dressa, case_id, summary="Four witnesses")
    cases.withdraw(kabora, Case, case_id)
    assert network.send("dressa", "kabora").conflicts == 1
    assert network.send("kabora", "dressa").conflicts == 1
    for ws in (kabora, dressa):
        [flag] = list_conflicts(ws)
        assert flag.field == "(withdrawal)"
    cases.restore_case(kabora, case_id)
    assert list_conflicts(kabora) == []
    assert network.send("kabora", "dressa").quarantined == 0
    assert list_conflicts(dressa) == []
    for ws in (kabora, dressa):
        case = queries.get(ws.conn, Case, case_id)
        assert (case.withdrawn, case.summary) == (0, "Four witnesses")
    assert state_digest(dressa.conn) == state_digest(kabora.conn)


def _withdrawn_at_both_then_restored_by_kabora(network: Network) -> str:
    """A case of Kabora's, shared with Dressa, withdrawn at both; then Kabora restores it
    (not sent yet). Returns its id."""
    kabora = network.ws["kabora"]
    case_id = cases.add_case(kabora, "Shelling of the Varosa market")
    network.share("kabora", case_id, "dressa")
    cases.withdraw(kabora, Case, case_id)
    assert network.send("kabora", "dressa").status == "imported"
    cases.restore_case(kabora, case_id)
    return case_id


def test_a_restore_and_a_new_withdrawal_made_at_once_stay_a_conflict(network: Network) -> None:
    """Honest conflicts: Kabora restores while Dressa, having seen the withdrawal too,
    withdraws again for its own reasons. Neither saw the other: both offices show the same
    value (the later stamp) and keep the other waiting in the conflict queue."""
    kabora, dressa = network.ws["kabora"], network.ws["dressa"]
    case_id = _withdrawn_at_both_then_restored_by_kabora(network)
    cases.update_record(dressa, Case, case_id, withdrawn=1)
    network.send("kabora", "dressa")
    network.send("dressa", "kabora")
    for ws in (kabora, dressa):
        [conflict] = list_conflicts(ws)
        assert conflict.field == "withdrawn"
    assert state_digest(dressa.conn) == state_digest(kabora.conn)


def test_a_decision_on_two_restores_made_beside_a_new_withdrawal_is_flagged_nowhere(
    network: Network,
) -> None:
    """Found by the convergence machine: Kabora and Dressa both restore a withdrawn case
    (two values of `withdrawn`, a conflict). Dressa settles that conflict while Kabora,
    not having seen it, withdraws the case again. Dressa's decision only sets `withdrawn`:
    it competes with the new withdrawal on that field, at both offices, and is never an
    edit waiting against it, whichever of the two arrives first."""
    kabora, dressa = network.ws["kabora"], network.ws["dressa"]
    case_id = _withdrawn_at_both_then_restored_by_kabora(network)
    cases.restore_case(dressa, case_id)
    network.send("kabora", "dressa")
    network.send("dressa", "kabora")
    [two_restores] = list_conflicts(dressa)
    assert two_restores.field == "withdrawn"
    conflicts.resolve(dressa, two_restores.id, keep="other")
    cases.withdraw(kabora, Case, case_id)
    network.send("kabora", "dressa")
    network.send("dressa", "kabora")
    for ws in (kabora, dressa):
        assert [c.field for c in list_conflicts(ws)] == ["withdrawn"]
    assert state_digest(dressa.conn) == state_digest(kabora.conn)
