"""Evidence import and export of one big file, beside cp, sha256sum and age on the same file.

The file is written once (random bytes, so nothing compresses) and read once before any
timing, so every tool starts from a warm page cache. Each repetition runs every tool in turn
(round-robin), and the best and the median of the repetitions are reported.

The Valise import and the export each run in a child process (`python -m bench.evidence
--child import|export`). The import child creates a small scratch workspace (fast KDF, so
Argon2's 64 MiB are not counted as import memory) and adds the file; the export child unlocks
it and writes the plain copy. Each reports its RSS before the work and its peak (VmHWM), and
the parent reads the child's ru_maxrss from wait4() (which on Linux also counts the parent's
size at fork, so VmHWM is the figure to use). A scratch workspace per repetition keeps the
cached big workspace from growing by the file's size on every run; an import does not read
or write anything whose size depends on the number of cases or notes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.stats import median

CHUNK = 8 << 20


def ensure_file(path: Path, size: int, log: Any) -> float:
    """Write `size` random bytes to `path` unless it is already there; returns seconds spent."""
    if path.exists() and path.stat().st_size == size:
        return 0.0
    log(f"writing the {size / 2**20:,.0f} MiB test file {path} (once)")
    path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    temp = path.with_suffix(".part")
    with temp.open("wb") as out:
        left = size
        while left:
            n = min(CHUNK, left)
            out.write(os.urandom(n))
            left -= n
        out.flush()
        os.fsync(out.fileno())
    temp.replace(path)
    return time.perf_counter() - t0


def warm(path: Path) -> float:
    t0 = time.perf_counter()
    with path.open("rb", buffering=0) as handle:
        while handle.read(CHUNK):
            pass
    return time.perf_counter() - t0


def fsync_file(path: Path) -> float:
    t0 = time.perf_counter()
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return time.perf_counter() - t0


def run_timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


SCRATCH_PASSPHRASE = "bench: scratch workspace for one import"  # noqa: S105


def _child(step: str, spec: dict[str, str]) -> dict[str, Any]:
    """Run one step (import or export) in a fresh Python process; returns its report with
    the ru_maxrss the kernel gives the parent for that child."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.evidence", "--child", step, json.dumps(spec)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"the {step} child failed (exit {proc.returncode})")
    report = dict(json.loads(output))
    report["ru_maxrss_kib"] = usage.ru_maxrss
    return report


def run_valise(source: Path, work: Path) -> dict[str, Any]:
    """One import, then one export, each in its own child process."""
    scratch = work / "scratch-workspace"
    export_to = work / "exported.bin"
    shutil.rmtree(scratch, ignore_errors=True)
    export_to.unlink(missing_ok=True)
    try:
        spec = {"source": str(source), "scratch": str(scratch), "out": str(export_to)}
        imported = _child("import", spec)
        spec["evidence_id"] = imported["evidence_id"]
        exported = _child("export", spec)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        export_to.unlink(missing_ok=True)
    return {"import": imported, "export": exported}


def measure(source: Path, work: Path, repeat: int, log: Any) -> dict[str, Any]:
    """Round-robin `repeat` times over every tool and the Valise import/export."""
    size = source.stat().st_size
    work.mkdir(parents=True, exist_ok=True)
    keydir = Path(tempfile.mkdtemp(prefix="age-key-", dir=work))
    key = keydir / "key.txt"
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    recipient = subprocess.run(
        ["age-keygen", "-y", str(key)], check=True, capture_output=True, text=True
    ).stdout.strip()
    copy, sealed, opened = work / "cp.out", work / "age.out", work / "age-decrypted.out"
    warm_seconds = warm(source)
    times: dict[str, list[float]] = {
        k: []
        for k in (
            "cp",
            "cp_fsync",
            "sha256sum",
            "age_encrypt",
            "age_encrypt_fsync",
            "age_decrypt",
            "age_decrypt_fsync",
        )
    }
    valise: list[dict[str, Any]] = []
    for rep in range(repeat):
        log(f"  evidence round {rep + 1}/{repeat}")
        copy.unlink(missing_ok=True)
        times["cp"].append(run_timed(["cp", str(source), str(copy)]))
        times["cp_fsync"].append(times["cp"][-1] + fsync_file(copy))
        copy.unlink()
        times["sha256sum"].append(run_timed(["sha256sum", str(source)]))
        sealed.unlink(missing_ok=True)
        times["age_encrypt"].append(
            run_timed(["age", "-r", recipient, "-o", str(sealed), str(source)])
        )
        times["age_encrypt_fsync"].append(times["age_encrypt"][-1] + fsync_file(sealed))
        opened.unlink(missing_ok=True)
        times["age_decrypt"].append(
            run_timed(["age", "-d", "-i", str(key), "-o", str(opened), str(sealed)])
        )
        times["age_decrypt_fsync"].append(times["age_decrypt"][-1] + fsync_file(opened))
        opened.unlink()
        valise.append(run_valise(source, work))
    for leftover in (sealed, opened, copy):
        leftover.unlink(missing_ok=True)
    shutil.rmtree(keydir, ignore_errors=True)
    return {
        "size": size,
        "warm_seconds": warm_seconds,
        "tools": {k: {"best": min(v), "median": median(v), "runs": v} for k, v in times.items()},
        "valise": valise,
    }


# -- the child process ---------------------------------------------------------------------


def status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return -1


def child_main(step: str, spec: dict[str, str]) -> None:
    """In the child: `import` creates the scratch workspace and adds the file; `export`
    unlocks it and writes the plain copy. Prints a JSON report on stdout."""
    import resource

    from storage.cases import add_case
    from storage.evidence import add_evidence, export_evidence
    from storage.keyfile import FAST_INSECURE_KDF
    from storage.records import EvidenceId
    from storage.workspace import create_workspace, open_workspace

    scratch = Path(spec["scratch"])
    if step == "import":
        ws = create_workspace(scratch, "Scratch Office", SCRATCH_PASSPHRASE, kdf=FAST_INSECURE_KDF)
        case_id = add_case(ws, "Import benchmark")
    else:
        ws = open_workspace(scratch, SCRATCH_PASSPHRASE)
    marks: dict[str, float] = {}

    def progress(done: int, total: int) -> None:
        if done >= total and "loop_done" not in marks:
            marks["loop_done"] = time.perf_counter()

    rss_before = status_kib("VmRSS")
    t0 = time.perf_counter()
    if step == "import":
        evidence_id = add_evidence(ws, case_id, Path(spec["source"]), progress=progress)
    else:
        evidence_id = EvidenceId(spec["evidence_id"])
        export_evidence(ws, evidence_id, Path(spec["out"]), progress=progress)
    t1 = time.perf_counter()
    report = {
        "evidence_id": evidence_id,
        "seconds": t1 - t0,
        "loop_seconds": marks.get("loop_done", t1) - t0,
        "rss_before_kib": rss_before,
        "vm_hwm_kib": status_kib("VmHWM"),
        "self_ru_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    ws.close()
    print(json.dumps(report))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child" and sys.argv[2] in ("import", "export"):
        child_main(sys.argv[2], json.loads(sys.argv[3]))
    else:
        sys.exit("usage: python -m bench.evidence --child import|export JSON (run by bench.run)")
