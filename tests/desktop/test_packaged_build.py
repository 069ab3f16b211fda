"""The packaged (PyInstaller) build works: built from build.spec, then run as users run it.

One build per session into a temporary folder (`--distpath`/`--workpath`, so a developer's
`build/` and `dist/` are left alone), then: `valise --version`, `valise self-test` offscreen,
a command-line round trip against a temporary workspace, and checks that the slimming kept
what the app needs and dropped what it does not.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "packaged build test passphrase"

if importlib.util.find_spec("PyInstaller") is None:
    pytest.skip(
        "PyInstaller is not installed (pip install -e '.[dev]'); the packaged build is untested",
        allow_module_level=True,
    )

# The build takes ~30 s here; leave room for a slow CI machine. The timeout covers the
# module fixture too, so every test gets it.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

BUILD_TIMEOUT = 1200
RUN_TIMEOUT = 120
# Measured 152 MB after slimming (188 MB only stripped, 228 MB neither); importing QtPdf,
# QtPdfWidgets and QtPrintSupport will add about 9 MB. A bound that catches a slimming step
# that stops working, not normal growth.
MAX_FOLDER_MB = 180


def project_version() -> str:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return str(tomllib.load(f)["project"]["version"])


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Build once with build.spec; the folder holding the `valise` executable."""
    if shutil.which("objdump") is None:
        pytest.fail("PyInstaller needs objdump and strip on Linux: install Debian's binutils")
    base = tmp_path_factory.mktemp("pyinstaller")
    dist, work = base / "dist", base / "work"
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--distpath",
            str(dist),
            "--workpath",
            str(work),
            str(ROOT / "build.spec"),
        ],
        cwd=base,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=BUILD_TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    elapsed = time.monotonic() - started
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"PyInstaller failed after {elapsed:.0f} s:\n{log[-6000:]}"
    print(f"\npackaged build: {elapsed:.1f} s")
    shutil.rmtree(work, ignore_errors=True)  # intermediate files only
    folder = dist / "valise"
    assert (folder / "valise").is_file(), f"no executable in {folder}:\n{log[-3000:]}"
    yield folder
    shutil.rmtree(base, ignore_errors=True)  # 150 MB a run; pytest would keep three


def frozen_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The caller's environment without Valise or Qt settings, with HOME in `tmp_path`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VALISE_", "QT_", "PYTHON")) and k != "LD_LIBRARY_PATH"
    }
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), **extra)
    return env


def run(
    app_dir: Path, env: dict[str, str], *args: str, cwd: Path
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(app_dir / "valise"), *args],
        cwd=cwd,  # not the source tree: nothing may be picked up from it
        env=env,
        capture_output=True,
        encoding="utf-8",
        errors="replace",
        timeout=RUN_TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 0, (
        f"valise {' '.join(args)}: exit {result.returncode}\n"
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_version(app_dir: Path, tmp_path: Path) -> None:
    result = run(app_dir, frozen_env(tmp_path), "--version", cwd=tmp_path)
    assert result.stdout.strip() == f"valise {project_version()}"


def test_self_test_passes_offscreen(app_dir: Path, tmp_path: Path) -> None:
    env = frozen_env(tmp_path, QT_QPA_PLATFORM="offscreen")
    out = run(app_dir, env, "self-test", cwd=tmp_path).stdout
    assert "(packaged build," in out, out
    assert "FAIL" not in out, out
    assert "ok    bundled files" in out, out
    assert "ok    start Qt offscreen" in out, out
    assert out.rstrip().endswith("self-test passed"), out


def test_cli_round_trip(app_dir: Path, tmp_path: Path) -> None:
    env = frozen_env(
        tmp_path,
        VALISE_WORKSPACE=str(tmp_path / "ws"),
        VALISE_PASSPHRASE=PASSPHRASE,
        VALISE_KDF_PROFILE="fast-insecure-test",
    )
    init = run(
        app_dir, env, "init", "--office", "Kabora field office", "--situation", "VAR", cwd=tmp_path
    )
    assert "Fingerprint" in init.stderr, init.stderr

    title = "Témoin protégé – شاهد"  # accents and Arabic through argv, SQLCipher and JSON
    added = run(app_dir, env, "case", "add", "--title", title, cwd=tmp_path)
    case_id = added.stdout.strip()
    assert case_id, added.stderr

    listed = json.loads(run(app_dir, env, "case", "list", "--json", cwd=tmp_path).stdout)
    assert [(c["id"], c["title"], c["status"]) for c in listed] == [(case_id, title, "open")]


def test_folder_is_slim_and_complete(app_dir: Path) -> None:
    internal = app_dir / "_internal"
    files = [p for p in app_dir.rglob("*") if p.is_file() and not p.is_symlink()]
    names = {p.name for p in app_dir.rglob("*")}
    rel = {p.relative_to(internal).as_posix() for p in internal.rglob("*")}

    dangling = [str(p) for p in app_dir.rglob("*") if p.is_symlink() and not p.exists()]
    assert not dangling, f"dangling links: {dangling}"

    for needed in (
        "resources/fonts/DejaVuSans.ttf",
        "resources/fonts/DejaVuSans-Bold.ttf",
        "resources/fonts/LICENSE-DejaVu.txt",
        "storage/migrations/0001_initial.sql",
        "storage/data/common-passwords.txt",
        "PySide6/Qt/plugins/platforms/libqxcb.so",
        "PySide6/Qt/plugins/platforms/libqoffscreen.so",
        "PySide6/Qt/plugins/tls/libqopensslbackend.so",
    ):
        assert needed in rel, f"{needed} is missing from the build"
    # Qt's TLS backend loads OpenSSL with dlopen
    assert any(n.startswith("libssl.so") for n in names), "libssl was dropped"
    assert any(n.startswith("libcrypto.so") for n in names), "libcrypto was dropped"

    unwanted = [
        n
        for n in names
        if n.startswith(("libQt6Quick", "libQt6Qml", "libQt6WebEngine", "libQt63D"))
        or n.startswith(("libQt6Multimedia", "libQt6Sql", "libQt6Test", "libQt6Designer"))
        or n.startswith(("QtQuick", "QtQml", "QtWebEngine", "QtMultimedia", "QtSql", "QtTest"))
        or n in ("tkinter", "_tkinter", "libtk8.6.so", "screenshots", "translations")
    ]
    assert not unwanted, f"left in the build: {sorted(unwanted)}"

    size_mb = sum(p.stat().st_size for p in files) / 1e6
    print(f"\npackaged folder: {size_mb:.1f} MB")
    assert size_mb < MAX_FOLDER_MB, f"the build grew to {size_mb:.0f} MB"
