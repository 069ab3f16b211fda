"""Make the small workspace kept under tests/data/schema-N/ for the schema in force.

Run once per released schema (`python tests/data/make_fixture_workspace.py`); commit the
folder and never regenerate an old one: tests open these folders to prove that a workspace
written by an earlier Valise still opens and migrates.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from storage import cases, evidence, migrations  # noqa: E402
from storage.keyfile import FAST_INSECURE_KDF  # noqa: E402
from storage.workspace import create_workspace  # noqa: E402

PASSPHRASE = "fixture passphrase for schema tests"


def main() -> None:
    """Write tests/data/schema-<latest>/ with a case, a protected witness and evidence."""
    target = Path(__file__).parent / f"schema-{migrations.latest_version()}"
    if target.exists():
        sys.exit(f"{target} exists; fixtures of released schemas are never regenerated")
    work = target.with_name(target.name + ".tmp")
    shutil.rmtree(work, ignore_errors=True)
    with create_workspace(
        work,
        "Kabora field office",
        PASSPHRASE,
        office_code="KAB",
        situation="VAR",
        kdf=FAST_INSECURE_KDF,
    ) as ws:
        case_id = cases.add_case(ws, "Shelling of Kabora market", "Fixture case")
        cases.add_person(ws, case_id, "witness", name="Fixture Name", protected=True)
        sample = work.parent / "fixture-evidence.txt"
        sample.write_text("Statement of W-0001, fixture text.\n" * 100, "utf-8")
        evidence.add_evidence(ws, case_id, sample, title="Fixture statement")
        sample.unlink()
    (work / ".lock").unlink()
    (work / "audit.anchor").unlink()
    work.rename(target)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
