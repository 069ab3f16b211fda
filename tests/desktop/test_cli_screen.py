"""Text that fools the screen: refused when it enters, escaped when it is shown.

A terminal obeys the control characters it prints: ESC sequences move the cursor, clear
lines, recolour or set the window title; bidirectional overrides reorder what a person
reads. A contact card whose office name moved the cursor displayed a genuine office's
fingerprint over its own. Cards carrying them are refused; data recorded before the rule
(an older workspace) is printed with visible escapes by every listing, in text and JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import pytest

from storage import cases, entities, evidence
from storage.keyfile import FAST_INSECURE_KDF
from storage.workspace import create_workspace, open_workspace
from sync import peers
from sync.cards import ContactCard, encode_card, own_card
from tests.conftest import PASSPHRASE
from tests.desktop.clitools import assert_ok, assert_refused, valise

RAW = ("\x1b", "\x9b", "\x07", "\u202e", "\u2066")  # never on a terminal from our data
OLD_TITLE = "Oru market\x1b[2J\x1b[31m shelled"
OLD_PSEUDONYM = "W-\u202e2400"
OLD_NOTE = "Call back\x9b2J tomorrow"
OLD_OFFICE = "Mirani\x1b]0;owned\x07 field office"


def _no_raw_controls(*outputs: str) -> None:
    for output in outputs:
        for character in RAW:
            assert character not in output, f"U+{ord(character):04X} printed raw: {output!r}"


@pytest.fixture(scope="module")
def offices(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A genuine office (the liaison) and a hostile one, each a real workspace."""
    base = tmp_path_factory.mktemp("offices")
    roots = {}
    for name, office in (("genuine", "Tribunal liaison"), ("hostile", "Mirani field office")):
        roots[name] = base / name
        create_workspace(roots[name], office, PASSPHRASE, kdf=FAST_INSECURE_KDF).close()
    return roots


def test_a_card_whose_office_name_moves_the_cursor_over_a_genuine_fingerprint_is_refused(
    cli_env: dict[str, str], offices: dict[str, Path], tmp_path: Path
) -> None:
    """The attack: an office name that moves the cursor up, clears the line and prints a
    genuine office's name and fingerprint where `peer add` shows the card's own. Its
    self-signature is real (the hostile office signs it with its own key)."""
    with open_workspace(offices["genuine"], PASSPHRASE) as genuine:
        shown = f"{genuine.office_name}\nFingerprint: {genuine.fingerprint}"
    with open_workspace(offices["hostile"], PASSPHRASE) as hostile:
        disguise = f"Mirani\x1b[1A\x1b[2K\r{shown}\x1b[8m"
        card = ContactCard(
            disguise.replace("\n", "\x1b[1B\r"),
            "office",
            hostile.keys.signing_public,
            hostile.keys.encryption_public,
            dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        )
        path = tmp_path / "liaison.card"
        path.write_bytes(encode_card(hostile, card))
    result = valise(cli_env, "peer", "add", path, "--role", "liaison")
    assert_refused(
        result,
        1,
        "not a usable contact card",
        "its office name contains a control character (U+001B); such a card is refused",
    )
    _no_raw_controls(result.stdout, result.stderr)
    assert json.loads(assert_ok(valise(cli_env, "peer", "list", "--json"))) == []


@pytest.mark.parametrize("character", ["\u202e", "\u2067", "\x85", "\x7f"])
def test_a_card_whose_office_name_reorders_or_controls_the_text_is_refused(
    cli_env: dict[str, str], offices: dict[str, Path], tmp_path: Path, character: str
) -> None:
    with open_workspace(offices["hostile"], PASSPHRASE) as hostile:
        card = own_card(hostile)
        path = tmp_path / "mirani.card"
        named = ContactCard(
            f"Mirani {character}ecifo dleif",
            card.role,
            card.signing_public,
            card.encryption_public,
            card.created,
        )
        path.write_bytes(encode_card(hostile, named))
    result = valise(cli_env, "peer", "add", path, "--role", "office")
    assert_refused(result, 1, f"(U+{ord(character):04X})", "such a card is refused")
    _no_raw_controls(result.stdout, result.stderr)


@pytest.fixture
def older_workspace(
    workspace_dir: Path, offices: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """A workspace holding text recorded before control characters were refused: the
    rule is switched off while the records are written, as an older Valise had none."""
    with open_workspace(offices["hostile"], PASSPHRASE) as hostile:
        card = own_card(hostile)
    source = tmp_path / "statement.txt"
    source.write_bytes(b"Statement of W-2400.\n")
    with monkeypatch.context() as patched:
        patched.setattr(entities, "text_problem", lambda *args, **kwargs: "")
        patched.setattr(peers, "text_problem", lambda *args, **kwargs: "")
        with open_workspace(workspace_dir, PASSPHRASE) as ws:
            case_id = cases.add_case(ws, OLD_TITLE, "Market\x1b[1A hit at noon")
            cases.add_person(ws, case_id, "witness", pseudonym=OLD_PSEUDONYM)
            cases.add_note(ws, case_id, OLD_NOTE)
            item = evidence.add_evidence(ws, case_id, source, title="Statement\x1b[5m")
            evidence.add_custody(ws, item, "sealed", note="envelope\x1b[2K 7")
            peers.add_peer(
                ws,
                ContactCard(
                    OLD_OFFICE,
                    card.role,
                    card.signing_public,
                    card.encryption_public,
                    card.created,
                ),
                "office",
            )
    return {"case": case_id, "evidence": item}


def test_text_recorded_by_an_older_valise_is_printed_escaped(
    cli_env: dict[str, str], older_workspace: dict[str, str]
) -> None:
    case_id, item = older_workspace["case"], older_workspace["evidence"]
    listings = {
        ("case", "list"): "Oru market\\x1b[2J\\x1b[31m shelled",
        ("case", "show", case_id): "Market\\x1b[1A hit at noon",
        ("search", "market"): "\\x1b",
        ("person", "list", case_id): "W-\\u202e2400",
        ("note", "list", case_id): "Call back\\x9b2J tomorrow",
        ("log",): "create case",
        ("custody", "list", item): "envelope\\x1b[2K 7",
        ("evidence", "show", item): "Statement\\x1b[5m",
        ("peer", "list"): "Mirani\\x1b]0;owned\\x07 field office",
        ("audit", "list"): "workspace created",
    }
    for command, escaped in listings.items():
        result = valise(cli_env, *command)
        output = assert_ok(result)
        _no_raw_controls(output, result.stderr)
        assert escaped in output, (command, output)


@pytest.mark.parametrize(
    ("command", "value"),
    [
        (("case", "list", "--json"), OLD_TITLE),
        (("peer", "list", "--json"), OLD_OFFICE),
        (("note", "list", "CASE", "--json"), OLD_NOTE),
        (("person", "list", "CASE", "--json"), OLD_PSEUDONYM),
    ],
)
def test_json_output_escapes_controls_and_still_decodes_to_the_stored_text(
    cli_env: dict[str, str], older_workspace: dict[str, str], command: tuple[str, ...], value: str
) -> None:
    args = [older_workspace["case"] if part == "CASE" else part for part in command]
    result = valise(cli_env, *args)
    output = assert_ok(result)
    _no_raw_controls(output)
    assert value in _strings(json.loads(output))


def _strings(value: object) -> list[str]:
    """Every string in a decoded JSON value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def test_a_workspace_created_with_a_control_character_in_its_office_name_is_refused(
    tmp_path: Path,
) -> None:
    env = {"VALISE_WORKSPACE": str(tmp_path / "ws"), "VALISE_PASSPHRASE": PASSPHRASE}
    result = valise({**os.environ, **env}, "init", "--office", "Kabora\x1b[2J office")
    assert_refused(result, 1, "The office name contains a control character (U+001B)")
    _no_raw_controls(result.stdout, result.stderr)
    assert not (tmp_path / "ws" / "workspace.db").exists()
    shutil.rmtree(tmp_path / "ws", ignore_errors=True)
