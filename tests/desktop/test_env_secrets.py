"""The passphrase given in the environment leaves it before any worker or child starts.

`VALISE_PASSPHRASE` is read once by `valise` and removed: a worker process (evidence
encryption, signature checks) or any program Valise starts must not inherit it, and the
process's own /proc/PID/environ must not show it. These run the real entry point in a
process of its own, as a script would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import PASSPHRASE
from tests.desktop.clitools import ROOT, assert_ok, valise

# Runs `valise ARGS` through desktop.main.main in this process, then starts a worker the way
# sync.verify_pool and sync.evidence_parts do (multiprocessing, spawn) and a plain child, and
# reports what each of them and this process can still see of the passphrase.
PROBE = r"""
import json, multiprocessing, os, subprocess, sys
from pathlib import Path

def child_environment(_: int) -> dict:
    return {"environ": dict(os.environ),
            "proc": Path(f"/proc/{os.getpid()}/environ").read_bytes().decode("latin-1")}

if __name__ == "__main__":
    from desktop.main import main
    code = main(sys.argv[1:])
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        worker = pool.map(child_environment, [0])[0]
    child = subprocess.run(["cat", "/proc/self/environ"], capture_output=True, check=True)
    import posix
    print(json.dumps({
        "code": code,
        "environ": dict(os.environ),
        "startup_copy": [k.decode() for k in posix.environ],
        "proc": Path(f"/proc/{os.getpid()}/environ").read_bytes().decode("latin-1"),
        "worker": worker,
        "child": child.stdout.decode("latin-1"),
    }))
"""


def _probe(folder: Path, env: dict[str, str], *args: str) -> dict[str, object]:
    script = folder / "probe.py"  # a file: spawned workers import their function from it
    script.write_text(PROBE)
    result = subprocess.run(
        [sys.executable, str(script), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_the_passphrase_leaves_the_environment_of_the_process_its_workers_and_children(
    tmp_path: Path,
) -> None:
    new = "a different passphrase 42"
    env = {
        **os.environ,
        "VALISE_WORKSPACE": str(tmp_path / "ws"),
        "VALISE_PASSPHRASE": PASSPHRASE,
    }
    assert_ok(valise(env, "init", "--office", "Kabora field office"))
    seen = _probe(tmp_path, {**env, "VALISE_NEW_PASSPHRASE": new}, "passwd")
    assert seen["code"] == 0
    assert "VALISE_PASSPHRASE" not in seen["environ"]  # type: ignore[operator]
    assert "VALISE_NEW_PASSPHRASE" not in seen["environ"]  # type: ignore[operator]
    assert "VALISE_PASSPHRASE" not in seen["startup_copy"]  # type: ignore[operator]
    worker = seen["worker"]
    assert isinstance(worker, dict)
    for place in (worker["environ"], worker["proc"], seen["child"]):
        assert "VALISE_PASSPHRASE" not in place and "VALISE_NEW_PASSPHRASE" not in place
        assert PASSPHRASE not in place and new not in place
    # The process's own start-up block: the name stays, the value is overwritten.
    assert PASSPHRASE not in str(seen["proc"]) and new not in str(seen["proc"])
    # And the passphrase did its work: the new one opens the workspace.
    assert assert_ok(valise({**env, "VALISE_PASSPHRASE": new}, "audit", "verify")).startswith("ok")
