"""Desktop figures: launch to a usable window at 100,000 cases, and the longest stall of
the event loop while the sync centre imports a bundle carrying 1 GB of evidence.

    python -m bench.gui [--scale 1] [--evidence-mb 1024] [--repeat 3]

Launch: a fresh process (offscreen Qt) from its first line to the main window shown with
its first page of cases laid out, unlock (Argon2id) included; the workspace is the one
`./dev bench --scale S` generates and caches under bench/out/scale-S (run that first).
Search: words found in many records, searched once on the GUI thread (the baseline: how
long the window froze before searches moved to their own thread) and once through the
search box while a timer probes the loop.
Stalls: a timer asks to run every 5 ms on the GUI thread while the sync centre lists and
imports the bundle; the longest gap between two runs, beyond the 5 ms, is the stall a
person would feel. Peak RSS (VmHWM) of that process is printed beside it.

    python -m bench.gui scroll [--workspace W] [--runs 5] [--baseline main]

Scroll: the case list scrolled to its last case a screen at a time, `--runs` times in
fresh processes, and as many times the code of `--baseline` (that revision with this
bench laid over it), interleaved so both see the same machine. Per run: the load average
at start and end, the longest stall and its 99th percentile, the idle window's longest
stall (what the machine alone causes), the GUI thread's CPU for its longest screen and its
99th percentile, the screen longest on the wall clock (wall/CPU ms, voluntary+involuntary
context switches: waits for other threads, and preemptions), the GUI thread's voluntary
switches over the scroll, Python's collections (count/longest ms), the scroll's wall time
and the RSS once every case is loaded. Each child makes its application as the desktop
application does (desktop.gui), so the code measured decides how Qt paints.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.evidence import ensure_file
from bench.machine import describe
from bench.stats import heading, median, row, verdict

OUT = Path(__file__).resolve().parent / "out"
PROBE_MS = 5
TARGET_LAUNCH_S = 2.0
TARGET_STALL_MS = 50.0
IDLE_FLOOR_MS = 5000


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class LoopProbe:
    """Gaps between runs of a timer that asks to run every 5 ms on the GUI thread; a gap
    beyond the 5 ms is a stall a person would feel."""

    def __init__(self) -> None:
        from PySide6.QtCore import QElapsedTimer, QTimer

        self.clock = QElapsedTimer()
        self.gaps: list[float] = []
        self._last = 0
        self.timer = QTimer()
        self.timer.setInterval(PROBE_MS)
        self.timer.timeout.connect(self._probe)

    def _probe(self) -> None:
        now = self.clock.elapsed()
        self.gaps.append(now - self._last)
        self._last = now

    def start(self) -> None:
        """Start probing with no gaps recorded."""
        self.gaps.clear()
        self.clock.start()
        self._last = self.clock.elapsed()
        self.timer.start()

    def stop(self) -> list[float]:
        """Stop; the stalls, shortest first."""
        self.timer.stop()
        return sorted(gap - PROBE_MS for gap in self.gaps)


# -- in child processes --------------------------------------------------------------------


def _application() -> Any:
    """The application object as the desktop application makes it (desktop.gui), so the
    code measured decides how Qt paints, with the bundled font it shows."""
    from desktop import gui
    from ui.fonts import load_fonts

    app = gui._application()
    load_fonts(app)
    return app


def _child_launch(spec: dict[str, Any]) -> dict[str, Any]:
    """Import, unlock, build and show the window, wait for its first page: seconds."""
    started = float(spec["started"])
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from bench import generate
    from storage.workspace import open_workspace
    from ui.main_window import MainWindow

    app = _application()
    unlock_from = time.time()
    ws = open_workspace(Path(spec["workspace"]), generate.PASSPHRASE)
    unlocked = time.time()
    window = MainWindow(ws)
    window.resize(1200, 760)
    window.show()
    app.processEvents()
    window.table.viewport().repaint()
    ready = time.time()
    total = window.model.total if window.model else 0
    loaded = window.model.rowCount() if window.model else 0
    window.shutdown()
    return {
        "seconds": ready - started,
        "unlock": unlocked - unlock_from,
        "imports": unlock_from - started,
        "cases": total,
        "rows_loaded": loaded,
    }


def _child_stall(spec: dict[str, Any]) -> dict[str, Any]:
    """The sync centre lists and imports the bundle while a timer probes the loop."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer

    from bench.sync import PASSPHRASE
    from storage.queries import count_cases
    from storage.workspace import open_workspace
    from ui.main_window import MainWindow
    from ui.sync_center import SyncCenter

    app = _application()
    ws = open_workspace(Path(spec["receiver"]), PASSPHRASE)
    window = MainWindow(ws)
    window.show()
    window.show_sync_center()
    center = window.findChild(SyncCenter)
    assert isinstance(center, SyncCenter)
    probe = LoopProbe()
    phases: dict[str, float] = {}
    state: dict[str, Any] = {"step": "list"}

    def drive() -> None:
        """Start each step once the centre is idle (it rereads its peers on its own)."""
        if center.is_busy:
            return
        step = state["step"]
        if step == "list" and center.list_folder(Path(spec["stick"])):
            state["step"] = "listing"
        elif step == "listing":
            phases["listed"] = time.perf_counter() - t0
            if center.import_listed():
                state["step"] = "importing"
            else:
                state["step"] = "done"
        elif step == "importing":
            phases["imported"] = time.perf_counter() - t0
            state["summary"] = center.summary.toPlainText()[:300]
            state["cases_after"] = count_cases(ws.conn)
            state["cases_shown"] = window.model.total if window.model else 0
            state["step"] = "done"
        if state["step"] == "done":
            driver.stop()
            QTimer.singleShot(50, app.quit)

    driver = QTimer()
    driver.setInterval(20)
    driver.timeout.connect(drive)
    probe.start()
    t0 = time.perf_counter()
    driver.start()
    app.exec()
    stalls = probe.stop()
    window.shutdown()  # app.quit() has closed the window already (Qt 6); this is a no-op
    return {
        "max_stall_ms": max(stalls) if stalls else 0.0,
        "p99_stall_ms": stalls[int(len(stalls) * 0.99)] if stalls else 0.0,
        "probes": len(stalls),
        "listed_s": phases.get("listed", 0.0),
        "imported_s": phases.get("imported", 0.0),
        "cases_after": state.get("cases_after", 0),
        "cases_shown": state.get("cases_shown", 0),
        "summary": state.get("summary", ""),
        "vmhwm_kib": _status_kib("VmHWM"),
    }


SEARCH_WORDS = ("the", "witness soldiers", "village attack night")


def _child_search(spec: dict[str, Any]) -> dict[str, Any]:
    """Words found in many records: each searched once on the GUI thread (as the window
    used to, the baseline) and once through the search box while a timer probes."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from bench import generate
    from storage.search import search_results
    from storage.workspace import open_workspace
    from ui.case_filters import SEARCH_LIMIT
    from ui.main_window import MainWindow

    app = _application()
    ws = open_workspace(Path(spec["workspace"]), generate.PASSPHRASE)
    window = MainWindow(ws)
    window.show()
    app.processEvents()
    results: list[dict[str, Any]] = []
    probe = LoopProbe()
    for words in SEARCH_WORDS:
        start = time.perf_counter()
        found = search_results(ws.conn, words, SEARCH_LIMIT)
        on_gui_thread_ms = (time.perf_counter() - start) * 1000
        probe.start()
        window.search.box.setText(words)
        start = time.perf_counter()
        window.search.run()
        while window.search.searching:
            app.processEvents()
            time.sleep(0.001)
        through_box_ms = (time.perf_counter() - start) * 1000
        stalls = probe.stop()
        results.append(
            {
                "words": words,
                "matches": found.matches,
                "gui_thread_ms": on_gui_thread_ms,
                "box_ms": through_box_ms,
                "hits": window.search.hits.count(),
                "max_stall_ms": max(stalls, default=0.0),
            }
        )
    window.shutdown()
    return {"searches": results}


def _deepest_page(ws: Any) -> dict[str, float]:
    """The last page of the list by title, read the way the list reads it (after the last
    case of the page before) and, as the baseline, by OFFSET (the way it read before)."""
    from storage.queries import case_sort_key, count_cases, list_cases

    total = count_cases(ws.conn)
    [before] = list_cases(ws.conn, sort="title", descending=False, offset=total - 201, limit=1)
    timings: dict[str, float] = {}
    ways: list[tuple[str, Callable[[], list[Any]]]] = [
        ("offset", lambda: list_cases(ws.conn, sort="title", descending=False, offset=total - 200)),
        (
            "after",
            lambda: list_cases(
                ws.conn, sort="title", descending=False, after=case_sort_key(before, "title")
            ),
        ),
    ]
    for name, page in ways:
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            rows = page()
            best = min(best, (time.perf_counter() - start) * 1000)
        assert len(rows) == 200
        timings[name] = best
    return timings


def _thread_switches() -> tuple[int, int]:
    """Context switches of the calling thread so far: (voluntary, involuntary). A voluntary
    one is a wait (for a lock, a semaphore, another thread); an involuntary one is the
    scheduler giving the core to someone else."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_THREAD)
    return usage.ru_nvcsw, usage.ru_nivcsw


class CollectorWatch:
    """Python's garbage collections while it is on: how many and the longest pause."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []  # (generation, ms)
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((info["generation"], (time.perf_counter() - self._started) * 1000))

    def __enter__(self) -> CollectorWatch:
        import gc

        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        import gc

        gc.callbacks.remove(self._callback)


def _child_scroll(spec: dict[str, Any]) -> dict[str, Any]:
    """Scroll the case list to its last case, a screen at a time, then sort and filter it,
    while a timer probes the loop; each page of cases is read on the GUI thread.

    Each screen is timed on the wall clock and on the GUI thread's own CPU clock, with the
    thread's context switches: the longest screen's wall time minus its CPU is time the
    thread waited (for a core, or for another thread)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    from bench import generate
    from storage.queries import CaseFilter
    from storage.workspace import open_workspace
    from ui.main_window import MainWindow
    from ui.models.case_table import CaseTableModel

    app = _application()
    ws = open_workspace(Path(spec["workspace"]), generate.PASSPHRASE)
    window = MainWindow(ws)
    window.resize(1200, 760)
    window.show()
    app.processEvents()
    model = window.model
    assert model is not None
    bar = window.table.verticalScrollBar()
    probe = LoopProbe()
    # The floor: the same probe on an idle window, so the gaps the machine's other work
    # causes (a busy machine delays even a loop with nothing to do) are told apart.
    # (A loop of its own: app.quit() would close the window, as it does in Qt 6.)
    probe.start()
    idle = QEventLoop()
    QTimer.singleShot(IDLE_FLOOR_MS, idle.quit)
    idle.exec()
    idle_stalls = probe.stop()
    load_before = os.getloadavg()[0]
    probe.start()
    started = time.perf_counter()
    process_cpu = time.process_time()
    switches_before = _thread_switches()
    step_cpu: list[float] = []  # the window's own work per screen, whatever else runs
    # The longest screen on the wall clock: (wall ms, CPU ms, voluntary, involuntary).
    longest: tuple[float, float, int, int] = (0.0, 0.0, 0, 0)

    def more() -> bool:
        return bar.value() < bar.maximum() or model.canFetchMore()

    def one_screen() -> None:
        nonlocal longest
        wall, cpu, (voluntary, involuntary) = (
            time.perf_counter(),
            time.thread_time(),
            _thread_switches(),
        )
        bar.setValue(bar.value() + bar.pageStep())
        app.processEvents()
        cpu_ms = (time.thread_time() - cpu) * 1000
        wall_ms = (time.perf_counter() - wall) * 1000
        step_cpu.append(cpu_ms)
        if wall_ms > longest[0]:
            after_voluntary, after_involuntary = _thread_switches()
            longest = (
                wall_ms,
                cpu_ms,
                after_voluntary - voluntary,
                after_involuntary - involuntary,
            )

    pace_ms = int(spec.get("pace_ms") or 0)
    with CollectorWatch() as collections:
        if pace_ms:
            # A screen every `pace_ms` from a timer, the event loop idle in between, as
            # when a person holds Page Down (key repeat: 25-33 a second).
            paced, driver = QEventLoop(), QTimer()
            driver.setTimerType(Qt.TimerType.PreciseTimer)
            driver.setInterval(pace_ms)
            driver.timeout.connect(lambda: one_screen() if more() else paced.quit())
            driver.start()
            paced.exec()
            driver.stop()
        else:
            # As fast as the window goes: the GUI thread never sleeps.
            while more():
                one_screen()
    steps = len(step_cpu)
    scrolled_s = time.perf_counter() - started
    scroll_stalls = probe.stop()
    switches_after = _thread_switches()
    process_cpu_s = time.process_time() - process_cpu
    load_after = os.getloadavg()[0]
    rss_after_scroll_kib = _status_kib("VmRSS")
    step_cpu.sort()
    actions: dict[str, float] = {}
    timed: list[tuple[str, Callable[[], object]]] = [
        (
            "sort by title",
            lambda: window.table.sortByColumn(CaseTableModel.TITLE, Qt.SortOrder.AscendingOrder),
        ),
        (
            "sort by status",
            lambda: window.table.sortByColumn(CaseTableModel.STATUS, Qt.SortOrder.DescendingOrder),
        ),
        ("filter: closed cases", lambda: model.set_filter(CaseFilter(status="closed"))),
        ("filter: none", lambda: model.set_filter(CaseFilter())),
    ]
    for name, act in timed:
        start = time.perf_counter()
        act()
        app.processEvents()
        actions[name] = (time.perf_counter() - start) * 1000
    deepest = _deepest_page(ws) if spec.get("deepest", True) else {}
    window.shutdown()
    return {
        "deepest_page_ms": deepest,
        "cases": model.total,
        "loaded": model.rowCount(),
        "screens": steps,
        "scrolled_s": scrolled_s,
        "max_stall_ms": max(scroll_stalls, default=0.0),
        "p99_stall_ms": scroll_stalls[int(len(scroll_stalls) * 0.99)] if scroll_stalls else 0.0,
        "idle_max_stall_ms": max(idle_stalls, default=0.0),
        "max_step_cpu_ms": step_cpu[-1] if step_cpu else 0.0,
        "p99_step_cpu_ms": step_cpu[int(len(step_cpu) * 0.99)] if step_cpu else 0.0,
        "median_step_cpu_ms": step_cpu[len(step_cpu) // 2] if step_cpu else 0.0,
        "longest_screen": {
            "wall_ms": longest[0],
            "cpu_ms": longest[1],
            "voluntary_switches": longest[2],
            "involuntary_switches": longest[3],
        },
        "gui_thread_switches": {
            "voluntary": switches_after[0] - switches_before[0],
            "involuntary": switches_after[1] - switches_before[1],
        },
        "process_cpu_s": process_cpu_s,
        "collections": {
            "count": len(collections.pauses),
            "full": sum(1 for generation, _ in collections.pauses if generation == 2),
            "longest_ms": max((ms for _, ms in collections.pauses), default=0.0),
        },
        "pace_ms": pace_ms,
        "paint_pool": "off" if os.environ.get("QT_NO_GUI_THREADPOOL") is not None else "on",
        "rss_after_scroll_mb": rss_after_scroll_kib * 1024 / 1e6,
        "load_average": load_before,
        "load_after": load_after,
        "actions_ms": actions,
    }


CHILDREN = {
    "launch": _child_launch,
    "stall": _child_stall,
    "search": _child_search,
    "scroll": _child_scroll,
}


ROOT = Path(__file__).resolve().parent.parent
NO_PAINT_POOL_ENV = "QT_NO_GUI_THREADPOOL"  # ui.paint_threads; absent from older code


def _child(step: str, spec: dict[str, Any], tree: Path = ROOT) -> dict[str, Any]:
    """Run one child measurement in a fresh process on the code in `tree`.

    The child's environment holds nothing that decides how Qt paints: the code measured
    decides that, as the application does when it starts."""
    spec = {**spec, "started": time.time()}
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(tree)}
    env.pop(NO_PAINT_POOL_ENV, None)
    proc = subprocess.run(
        [sys.executable, "-m", "bench.gui", "--child", step, json.dumps(spec)],
        capture_output=True,
        text=True,
        cwd=tree,
        check=False,
        env=env,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the {step} child failed:\n{proc.stderr}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _baseline_tree(revision: str, into: Path) -> Path:
    """The code at `revision` with this tree's bench/ laid over it: the older code measured
    by exactly the same child."""
    tree = into / "baseline"
    tree.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    shutil.rmtree(tree / "bench", ignore_errors=True)
    shutil.copytree(
        ROOT / "bench",
        tree / "bench",
        ignore=shutil.ignore_patterns("out", "results", "__pycache__"),
    )
    return tree


def _revision(revision: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", revision],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or revision


SCROLL_COLUMNS = (
    ("run", 10),
    ("load", 9),
    ("stall", 6),
    ("p99", 5),
    ("idle", 5),
    ("CPU max", 8),
    ("CPU p99", 8),
    ("longest screen", 22),
    ("waits", 7),
    ("GC", 9),
    ("scroll", 7),
    ("RSS", 7),
)


def _scroll_line(label: str, item: dict[str, Any]) -> str:
    longest = item["longest_screen"]
    cells = (
        label,
        f"{item['load_average']:.1f}/{item['load_after']:.1f}",
        f"{item['max_stall_ms']:.0f}",
        f"{item['p99_stall_ms']:.0f}",
        f"{item['idle_max_stall_ms']:.0f}",
        f"{item['max_step_cpu_ms']:.1f}",
        f"{item['p99_step_cpu_ms']:.1f}",
        f"{longest['wall_ms']:.0f}/{longest['cpu_ms']:.1f} ms, {longest['voluntary_switches']}+"
        f"{longest['involuntary_switches']}",
        f"{item['gui_thread_switches']['voluntary']:,}",
        f"{item['collections']['count']}/{item['collections']['longest_ms']:.1f}",
        f"{item['scrolled_s']:.0f} s",
        f"{item['rss_after_scroll_mb']:.0f} MB",
    )
    return "  ".join(
        f"{cell:<{width}}" for cell, (_, width) in zip(cells, SCROLL_COLUMNS, strict=True)
    )


def scroll_main(argv: list[str]) -> int:
    """Scroll the case list to its end several times, this tree's code and (with
    --baseline) an older revision's, interleaved, and print each run as it ends."""
    parser = argparse.ArgumentParser(prog="python -m bench.gui scroll")
    parser.add_argument(
        "--workspace",
        type=Path,
        help="a workspace of many cases (default: the one ./dev bench --scale 1 caches)",
    )
    parser.add_argument("--runs", type=int, default=5, help="scrolls to the end per code")
    parser.add_argument("--baseline", help="a git revision to compare with, e.g. main")
    parser.add_argument(
        "--pace",
        type=int,
        default=0,
        metavar="MS",
        help="a screen every MS milliseconds, the loop idle between (default: as fast as it goes)",
    )
    args = parser.parse_args(argv)
    from bench import generate

    workspace = args.workspace or generate.folder_for(OUT, 1.0) / "workspace"
    if not (workspace / "workspace.db").exists():
        print(f"  no workspace at {workspace}: run ./dev bench --scale 1 or pass --workspace")
        return 1
    pace = f"a screen every {args.pace} ms" if args.pace else "as fast as the window goes"
    print(f"Scrolling the case list to its last case, a screen at a time, {pace}")
    print(f"  command: python -m bench.gui scroll {' '.join(argv)}")
    for label, value in describe(OUT):
        row(label, value)
    with tempfile.TemporaryDirectory(prefix="valise-scroll-") as scratch:
        codes: list[tuple[str, Path]] = [(f"this {_revision('HEAD')}", ROOT)]
        if args.baseline:
            base = _baseline_tree(args.baseline, Path(scratch))
            codes.insert(0, (f"{args.baseline} {_revision(args.baseline)}", base))
        print()
        print("  " + "  ".join(f"{name:<{width}}" for name, width in SCROLL_COLUMNS))
        results: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in codes}
        for number in range(1, args.runs + 1):
            # Alternate which code goes first, so neither always follows the other.
            for name, tree in codes if number % 2 else codes[::-1]:
                spec = {"workspace": str(workspace), "deepest": False, "pace_ms": args.pace}
                item = _child("scroll", spec, tree)
                results[name].append(item)
                print("  " + _scroll_line(f"{name.split()[0]} {number}", item), flush=True)
    heading("Per code, all runs")
    for name, items in results.items():
        stalls = [item["max_stall_ms"] for item in items]
        under = sum(1 for stall in stalls if stall <= TARGET_STALL_MS)
        row(
            f"{name}: longest stall (runs at or under {TARGET_STALL_MS:g} ms)",
            f"{min(stalls):.0f}-{max(stalls):.0f} ms ({under} of {len(items)})",
            f"paint pool {items[0]['paint_pool']}",
        )
        row(
            f"{name}: p99 stall / CPU of the longest screen",
            f"{min(i['p99_stall_ms'] for i in items):.0f}-"
            f"{max(i['p99_stall_ms'] for i in items):.0f} ms / "
            f"{min(i['max_step_cpu_ms'] for i in items):.1f}-"
            f"{max(i['max_step_cpu_ms'] for i in items):.1f} ms",
        )
        row(
            f"{name}: load average during the runs",
            f"{min(i['load_average'] for i in items):.1f}-"
            f"{max(i['load_after'] for i in items):.1f}",
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run both measurements and print the figures (`scroll`: only the scroll, repeated)."""
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["scroll"]:
        return scroll_main(arguments[1:])
    parser = argparse.ArgumentParser(prog="python -m bench.gui", description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--evidence-mb", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(CHILDREN[args.child[0]](json.loads(args.child[1]))))
        return 0

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    print("Valise desktop benchmarks")
    print(f"  command: python -m bench.gui {' '.join(sys.argv[1:])}")
    for label, value in describe(OUT):
        row(label, value)

    from bench import generate

    folder = generate.folder_for(OUT, args.scale)
    if not (folder / "workspace" / "workspace.db").exists():
        print(f"  no cached workspace at {folder}: run ./dev bench --scale {args.scale:g} first")
        return 1
    launches = []
    for number in range(1, args.repeat + 1):
        log(f"launch {number}/{args.repeat}")
        launches.append(_child("launch", {"workspace": str(folder / "workspace")}))
    heading(f"Launch to a usable main window ({launches[0]['cases']:,} cases)")
    for item in launches:
        row(
            "launch (imports / unlock / total)",
            f"{item['imports']:.2f} / {item['unlock']:.2f} / {item['seconds']:.2f} s",
            f"{item['rows_loaded']} rows loaded",
        )
    launch = median([item["seconds"] for item in launches])
    row("median", f"{launch:.2f} s", f"≤ {TARGET_LAUNCH_S:g} s: {verdict(launch <= 2.0)}")

    log("scrolling the list to its end, then sorting and filtering it")
    scroll = _child("scroll", {"workspace": str(folder / "workspace")})
    heading(f"Scrolling {scroll['cases']:,} cases to the last, a screen at a time")
    row(
        "screens / time / cases loaded",
        f"{scroll['screens']:,} / {scroll['scrolled_s']:.1f} s / {scroll['loaded']:,}",
    )
    row(
        "longest stall / 99th percentile",
        f"{scroll['max_stall_ms']:.0f} / {scroll['p99_stall_ms']:.0f} ms",
        f"load average {scroll['load_average']:.1f} on {os.cpu_count()} cores",
    )
    row(
        "idle window, same probe: longest stall",
        f"{scroll['idle_max_stall_ms']:.0f} ms",
        f"{IDLE_FLOOR_MS / 1000:g} s before scrolling: what the machine alone causes",
    )
    row(
        "CPU of the longest screen / 99th percentile",
        f"{scroll['max_step_cpu_ms']:.0f} / {scroll['p99_step_cpu_ms']:.0f} ms",
        "the window's own work, without the waits of a busy machine",
    )
    for name, ms in scroll["actions_ms"].items():
        row(name, f"{ms:.0f} ms")
    deepest = scroll["deepest_page_ms"]
    row(
        "last page by title: after the last case / OFFSET (before)",
        f"{deepest['after']:.1f} / {deepest['offset']:.1f} ms",
        "best of 5",
    )

    log("searches for common words, on the GUI thread and through the search box")
    searches = _child("search", {"workspace": str(folder / "workspace")})["searches"]
    heading("Search for words found in many records (the box searches on its own thread)")
    for item in searches:
        row(
            f"'{item['words']}' ({item['matches']:,} matches, {item['hits']} shown)",
            f"{item['gui_thread_ms']:.0f} ms on the GUI thread",
            f"box: {item['box_ms']:.0f} ms, longest stall {item['max_stall_ms']:.0f} ms",
        )

    from bench import sync as bench_sync

    source = OUT / f"evidence-{args.evidence_mb}MiB.bin"
    ensure_file(source, args.evidence_mb * 2**20, log)
    spec = bench_sync._fresh("gui")
    spec["evidence"] = str(source)
    log("two workspaces and a bundle with the evidence (not timed)")
    spec.update(bench_sync._child("setup", spec))
    bench_sync._child("export", spec)
    os.sync()
    log("the sync centre lists and imports it while the probe runs")
    stall = _child("stall", spec)
    shutil.rmtree(bench_sync.OUT / "gui", ignore_errors=True)
    heading(f"Event loop while the sync centre imports {source.stat().st_size / 1e6:,.0f} MB")
    row(
        "listing (decrypt and verify) / import",
        f"{stall['listed_s']:.1f} / {stall['imported_s']:.1f} s",
    )
    row("probes (every 5 ms)", f"{stall['probes']:,}")
    first_line = (stall["summary"].splitlines() or ["(no summary)"])[0]
    row("what the sync centre said", first_line[:70])
    row(
        "cases in the receiving workspace / in its list",
        f"{stall['cases_after']:,} / {stall['cases_shown']:,}",
    )
    row(
        "longest stall / 99th percentile",
        f"{stall['max_stall_ms']:.0f} / {stall['p99_stall_ms']:.0f} ms",
    )
    row("peak RSS of the application (VmHWM)", f"{stall['vmhwm_kib'] * 1024 / 1e6:,.1f} MB")
    heading("Targets from the issue")
    row(
        "launch at 100,000 cases", f"{launch:.2f} s", f"≤ 2 s: {verdict(launch <= TARGET_LAUNCH_S)}"
    )
    ok = stall["max_stall_ms"] <= TARGET_STALL_MS
    row(
        "longest UI stall while importing",
        f"{stall['max_stall_ms']:.0f} ms",
        f"≤ 50 ms: {verdict(ok)}",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
