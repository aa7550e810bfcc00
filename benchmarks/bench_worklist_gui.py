"""GUI responsiveness while the worklist is opened and analysed (issue #13: event-loop stall p99 < 50 ms).

    python benchmarks/bench_worklist_gui.py [--n 1000] [--model FILE] [--interval 10]

Copies ``--n`` Kermany images (NORMAL and PNEUMONIA alternately: ``bench_triage.pick_kermany``) into a
temporary folder, opens a real :class:`~viewer.gui.main_window.MainWindow` (offscreen unless DISPLAY is set),
opens the folder into the worklist (walk + headers in a worker), sorts the table by probability, highest
first (rows move as results come: the proxy re-sorts; ``--sort file`` keeps them still), then runs Analyse
all. A ``QTimer`` fires
every ``--interval`` ms on the GUI thread the whole time; the lateness of each tick (actual interval minus
the nominal one) is the event-loop stall. Prints p50 / p99 / max stall for the opening and for the triage,
the time to the first result and to all results, images/s and the peak RSS of the process.

Numbers, not a test; a machine busy with other work makes them slower (the stall is what matters here).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_tmp = tempfile.TemporaryDirectory(prefix="pneumoscope-bench-")
os.environ["PNEUMOSCOPE_SETTINGS_DIR"] = str(Path(_tmp.name) / "settings")
os.environ["PNEUMOSCOPE_LOG_DIR"] = str(Path(_tmp.name) / "logs")

import numpy as np  # noqa: E402
from bench_gui import pick_model  # noqa: E402
from bench_triage import peak_rss_mb, pick_kermany, rss_mb  # noqa: E402


class StallMeter:
    """A precise timer on the GUI thread; each tick's lateness against the nominal interval, per phase."""

    def __init__(self, interval_ms: int):
        from PySide6 import QtCore

        self.interval = interval_ms / 1000.0
        self.phase = ""
        self.stalls: dict[str, list[float]] = {}
        self.when: dict[str, list[float]] = {}  # seconds since the phase began, per tick
        self._t0 = self._last = 0.0
        self.timer = QtCore.QTimer()
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)

    def start(self, phase: str) -> None:
        self.phase = phase
        self.stalls.setdefault(phase, [])
        self.when.setdefault(phase, [])
        self._t0 = self._last = time.perf_counter()
        if not self.timer.isActive():
            self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self.phase = ""

    def _tick(self) -> None:
        now = time.perf_counter()
        if self.phase:
            self.stalls[self.phase].append(max(0.0, now - self._last - self.interval) * 1000.0)
            self.when[self.phase].append(self._last - self._t0)  # the stall began after the previous tick
        self._last = now

    def report(self, phase: str) -> str:
        values = np.asarray(self.stalls.get(phase) or [0.0])
        p50, p99 = np.percentile(values, [50, 99])
        over = int((values >= 50.0).sum())
        worst = sorted(zip(values, self.when.get(phase) or [0.0], strict=False), reverse=True)[:3]
        at = ", ".join(f"{v:.0f} ms at {t:.2f} s" for v, t in worst if v > 0)
        return (
            f"stall p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   max {values.max():7.1f} ms   "
            f"({len(values)} ticks, {over} of them >= 50 ms)\n  worst: {at or 'none'}"
        )


def run_until(cond, timeout: float) -> None:
    """Run the event loop (a real one: it sleeps when idle, as the application does) until ``cond()``."""
    from PySide6 import QtCore

    loop = QtCore.QEventLoop()
    end = time.perf_counter() + timeout
    poll = QtCore.QTimer()
    poll.setInterval(20)

    def check():
        if cond():
            loop.quit()
        elif time.perf_counter() > end:
            loop.exit(1)

    poll.timeout.connect(check)
    poll.start()
    QtCore.QTimer.singleShot(0, check)
    failed = loop.exec()
    poll.stop()
    if failed:
        raise TimeoutError("benchmark step timed out")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="Kermany images (default 1000)")
    ap.add_argument("--model", default=None, help="model file (default: the shipped one)")
    ap.add_argument("--interval", type=int, default=10, help="timer interval in ms (default 10)")
    ap.add_argument("--timeout", type=float, default=3600.0, help="give up after this many seconds")
    ap.add_argument("--sort", choices=("probability", "file"), default="probability", help="table order")
    ap.add_argument("--profile", action="store_true", help="cProfile the GUI thread; print the top functions")
    args = ap.parse_args()

    folder = Path(_tmp.name) / "kermany"
    folder.mkdir()
    for i, src in enumerate(pick_kermany(args.n)):
        shutil.copyfile(src, folder / f"{i:04d}_{src.parent.name}_{src.name}")

    from viewer.gui.app import create_app
    from viewer.gui.main_window import MainWindow

    app = create_app()
    model_path, model_note = pick_model(args.model)
    print(f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"Qt platform: {app.platformName()}   model: {model_note}")
    win = MainWindow(model_path=model_path)
    win.resize(1600, 1000)
    win.show()
    run_until(lambda: not win.model_loading, args.timeout)
    if win.model is None:
        print(f"model failed to load: {win.model_error}")
        return 1
    print(
        f"model {win.model.info.name} {win.model.info.version} on {win.model.provider}; RSS {rss_mb():.0f} MB"
    )

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()  # the GUI thread only (cProfile follows the thread that enables it)
    meter = StallMeter(args.interval)
    wl = win.worklist
    opened: list[int] = []
    wl.opened.connect(opened.append)

    # -- open the folder into the worklist (walk and headers in a worker) --------------------------------
    shown: list[float] = []
    win.study_shown.connect(lambda _eid: shown.append(time.perf_counter() - t0))
    t0 = time.perf_counter()
    meter.start("open")
    if profiler is not None:
        profiler.enable()
    win.open_any([str(folder)])
    run_until(lambda: bool(opened), args.timeout)
    t_open = time.perf_counter() - t0
    # the first row becomes the current study: let its decode and single-study analysis finish first
    run_until(lambda: win.current is not None and win.current.ai_state in ("done", "failed"), args.timeout)
    t_first_study = time.perf_counter() - t0
    t_shown = shown[0] if shown else float("nan")
    print(f"\nopen folder of {args.n} images: worklist of {opened[0]} rows at {t_open:.2f} s")
    print(f"  its first study on screen at {t_shown:.2f} s, analysed at {t_first_study:.2f} s")
    print(f"  {meter.report('open')}")

    # -- the background thumbnail pass that follows the opening (no analysis yet) ------------------------
    meter.start("thumbnails")
    run_until(lambda: wl.thumbnailing is None, args.timeout)
    t_thumbs = time.perf_counter() - t0
    with_thumb = sum(r.thumbnail is not None for r in wl.view.model.rows())
    print(
        f"\nthumbnail pass: {with_thumb} of {wl.view.model.rowCount()} rows at {t_thumbs:.2f} s after opening began"
    )
    print(f"  {meter.report('thumbnails')}")

    # -- Analyse all ---------------------------------------------------------------------------------
    marks: dict[str, float] = {}
    finished: list[int] = []
    wl.triage_finished.connect(finished.append)

    rows = wl.view.model.rows()
    analysed_before = sum(r.source is not None and r.source.result is not None for r in rows)

    def first_result(top_left, bottom_right, *_):
        if "first" in marks or "triage" not in marks:
            return
        model = wl.view.model
        for i in range(top_left.row(), bottom_right.row() + 1):  # only the rows that changed
            r = model.row(i)
            if r.source is not None and r.source.result is not None and wl.analysing is not None:
                marks["first"] = time.perf_counter()
                return

    wl.view.model.dataChanged.connect(first_result)
    from PySide6 import QtCore

    from viewer.gui.widgets.worklist import COL_FILE, COL_PROBABILITY

    column = COL_PROBABILITY if args.sort == "probability" else COL_FILE
    order = (
        QtCore.Qt.SortOrder.DescendingOrder
        if args.sort == "probability"
        else QtCore.Qt.SortOrder.AscendingOrder
    )
    wl.view.table.sortByColumn(column, order)
    meter.start("triage")
    marks["triage"] = time.perf_counter()
    win.actions_["analyse_all"].trigger()
    run_until(lambda: bool(finished), args.timeout)
    t_all = time.perf_counter() - marks["triage"]
    meter.stop()
    n = finished[0]
    t_first = marks.get("first", float("nan")) - marks["triage"]
    rows = wl.view.model.rows()
    states: dict[str, int] = {}
    for r in rows:
        states[r.state] = states.get(r.state, 0) + 1
    thumbs = sum(r.thumbnail is not None for r in rows)
    print(f"\nAnalyse all: {n} rows analysed ({analysed_before} had a result already), table sorted by "
          f"{args.sort}, states {states}")  # fmt: skip
    print(f"  first result   {t_first * 1000:8.0f} ms after Analyse all")
    print(f"  all results    {t_all:8.2f} s  -> {n / t_all:.1f} images/s")
    print(f"  thumbnails     {thumbs} of {len(rows)} rows")
    print(f"  {meter.report('triage')}")
    if profiler is not None:
        import pstats

        profiler.disable()
        print("\nGUI thread, open + triage, by own time:")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    print(f"\npeak RSS {peak_rss_mb():.0f} MB (whole process, model included); now {rss_mb():.0f} MB")
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
