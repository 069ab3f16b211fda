"""The command forms users' scripts rely on, run as a user would: `valise ...` in a process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from storage.grants import BOUND_CASE_ID_DIGITS
from tests.conftest import OFFICER, OFFICER_PASSPHRASE, PASSPHRASE

ROOT = Path(__file__).resolve().parents[2]


def valise(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "desktop.main", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_init_then_the_documented_forms(tmp_path: Path) -> None:
    env = {**os.environ, "VALISE_WORKSPACE": str(tmp_path / "ws"), "VALISE_PASSPHRASE": PASSPHRASE}
    init = valise(env, "init", "--office", "Mirani field office", "--situation", "VAR")
    assert "Fingerprint" in init.stderr and init.stdout == ""

    identity = json.loads(valise(env, "identity", "--json").stdout)
    assert identity["office"] == "Mirani field office"
    assert len(identity["fingerprint"].split()) == 8

    case_id = valise(
        env,
        "case",
        "add",
        "--title",
        "Forced displacement from Oru",
        "--summary",
        "Villages emptied",
    ).stdout.strip()
    assert len(case_id) == BOUND_CASE_ID_DIGITS and "\n" not in case_id  # bound to its creator
    listed = json.loads(valise(env, "case", "list", "--json").stdout)
    assert [c["id"] for c in listed] == [case_id]
    assert listed[0]["reference"].startswith("VAR-MIR-")

    valise(env, "case", "update", case_id, "--title", "Forced displacement from Oru valley")
    shown = json.loads(valise(env, "case", "show", case_id, "--json").stdout)
    assert shown["title"] == "Forced displacement from Oru valley"
    assert shown["summary"] == "Villages emptied"
    short = valise(env, "case", "show", case_id[:8], "--json").stdout
    assert json.loads(short)["id"] == case_id

    person_id = valise(
        env,
        "person",
        "add",
        case_id,
        "--name",
        "Lea Morrow",
        "--role",
        "witness",
        "--protected",
        "--pseudonym",
        "W-0042",
    ).stdout.strip()
    people = json.loads(valise(env, "person", "list", case_id, "--json").stdout)
    assert people[0]["id"] == person_id and people[0]["pseudonym"] == "W-0042"
    assert "Lea Morrow" not in json.dumps(people)  # withheld without --reveal
    # Only a protection officer reveals (storage.roles): the supervisor is refused, and adds one.
    refused = valise(env, "person", "list", case_id, "--reveal", "--json", check=False)
    assert refused.returncode != 0 and "Lea Morrow" not in refused.stdout + refused.stderr
    assert "only a protection officer may reveal the identity of W-0042" in refused.stderr
    adding = {**env, "VALISE_NEW_PASSPHRASE": OFFICER_PASSPHRASE}
    valise(adding, "user", "add", OFFICER, "--role", "protection-officer")
    env["VALISE_USER"] = "Supervisor"  # two users now: each command says who unlocks
    officer = {**env, "VALISE_USER": OFFICER, "VALISE_PASSPHRASE": OFFICER_PASSPHRASE}
    revealed = json.loads(valise(officer, "person", "list", case_id, "--reveal", "--json").stdout)
    assert revealed[0]["legal_name"] == "Lea Morrow"

    sample = tmp_path / "témoin statement 証言.pdf"
    sample.write_bytes(b"%PDF-1.4\n" + os.urandom(200_000))
    evidence_id = valise(env, "evidence", "add", case_id, str(sample)).stdout.strip()
    items = json.loads(valise(env, "evidence", "list", case_id, "--json").stdout)
    assert items[0]["id"] == evidence_id and items[0]["original_name"] == sample.name
    out = tmp_path / "copy.pdf"
    valise(env, "evidence", "get", evidence_id, "--out", str(out))
    assert out.read_bytes() == sample.read_bytes()

    incident_id = valise(
        env,
        "incident",
        "add",
        case_id,
        "--title",
        "Oru village burned",
        "--from",
        "2027-03",
        "--to",
        "before 2027-03-15",
        "--acts",
        "forced displacement,destruction of property",
    ).stdout.strip()
    element_id = valise(
        env,
        "element",
        "add",
        case_id,
        "--charge",
        "Deportation",
        "--element",
        "Persons were displaced",
        "--article",
        "7(1)(d)",
    ).stdout.strip()
    valise(env, "link", evidence_id, element_id, "--strength", "strong", "--status", "undisputed")
    valise(env, "link", evidence_id, incident_id)
    valise(env, "link", evidence_id, person_id)
    valise(
        env, "note", "add", case_id, "--text", "Oru elders to interview", "--class", "privileged"
    )
    custody_id = valise(
        env, "custody", "add", evidence_id, "--event", "sealed", "--note", "envelope 7"
    ).stdout.strip()
    chain = json.loads(valise(env, "custody", "list", evidence_id, "--json").stdout)
    assert [e["event"] for e in chain] == ["collected", "exported", "sealed"]
    assert chain[-1]["id"] == custody_id

    hits = json.loads(valise(env, "search", "oru", "--json").stdout)
    assert {h["entity"] for h in hits} >= {"case", "incident", "note"}
    assert all(h["case_id"] == case_id for h in hits)

    log = json.loads(valise(env, "log", "--json", "--limit", "100").stdout)
    assert all(entry["signature_ok"] for entry in log) and len(log) >= 10
    assert (
        valise(env, "evidence", "verify").stdout.strip().endswith("1 of 1 evidence items verified.")
    )
    audit = valise(env, "audit", "verify").stdout.strip()
    assert audit.startswith("ok ") and int(audit.split()[1]) >= 12


def test_passwd_backup_and_restore_from_the_command_line(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    case_id = valise(cli_env, "case", "add", "--title", "Before backup").stdout.strip()
    backup_file = tmp_path / "office.valise-backup"
    valise(cli_env, "backup", str(backup_file))
    valise({**cli_env, "VALISE_NEW_PASSPHRASE": "a completely new passphrase"}, "passwd")
    assert valise(cli_env, "case", "list", check=False).returncode == 1
    new_env = {**cli_env, "VALISE_PASSPHRASE": "a completely new passphrase"}
    assert case_id in valise(new_env, "case", "list").stdout
    restored = {**cli_env, "VALISE_WORKSPACE": str(tmp_path / "restored")}
    said = valise(restored, "restore", str(backup_file)).stderr
    assert "valise identity rotate" in said  # the lost-laptop advice
    epoch = json.loads(valise(restored, "identity", "--json").stdout)["epoch"]
    assert epoch > 0 and f"new epoch {epoch}" in said
    assert case_id in valise(restored, "case", "list").stdout


@pytest.mark.parametrize("args", [["case"], ["case", "add"], ["bogus"], ["case", "list", "--nope"]])
def test_usage_errors_exit_2(cli_env: dict[str, str], args: list[str]) -> None:
    assert valise(cli_env, *args, check=False).returncode == 2


def test_version(cli_env: dict[str, str]) -> None:
    assert valise(cli_env, "--version").stdout.startswith("valise ")


@pytest.mark.parametrize("limit", ["0", "-1", "many"])
def test_limits_must_be_positive(cli_env: dict[str, str], limit: str) -> None:
    result = valise(cli_env, "log", "--limit", limit, check=False)
    assert result.returncode == 2 and "--limit" in result.stderr
