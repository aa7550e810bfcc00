"""GUI benchmark: open -> image on screen -> heatmap on screen, opacity-slider step, memory.

    python benchmarks/bench_gui.py [--shared PATH] [--model FILE] [--repeat N] [--no-reveal] [--open-only]
                                   [--only NAME-PART]

Prints numbers, asserts nothing. Every chest file of shared/data/dicom/chest is opened ``--repeat`` times
(round robin), each time closed again; per file: the time from ``open_paths`` until the image and until the
heatmap are painted (p50 and max over the repeats), then p50 and max over all opens. A withheld result has
no heatmap until "Show anyway": the benchmark presses it as soon as the result is in (``--no-reveal``: it
does not, and those files have no heatmap time).

Uses the shipped model (assets/models) when present, else the tiny test model (built with ``onnx`` from
tests/fixtures_models.py) and says so. Runs on the offscreen Qt platform unless DISPLAY is set (then the
real window system, e.g. Xvfb).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_tmp = tempfile.TemporaryDirectory(prefix="pneumoscope-bench-")
os.environ["PNEUMOSCOPE_SETTINGS_DIR"] = str(Path(_tmp.name) / "settings")
os.environ["PNEUMOSCOPE_LOG_DIR"] = str(Path(_tmp.name) / "logs")

import numpy as np  # noqa: E402


def rss_mb() -> float:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def pick_model(explicit: str | None) -> tuple[str, str]:
    from viewer.core.assets import default_model_path

    if explicit:
        return explicit, f"model given on the command line: {explicit}"
    shipped = default_model_path()
    if shipped.exists():
        return str(shipped), f"shipped model {shipped}"
    sys.path.insert(0, str(ROOT / "tests"))
    from fixtures_models import write_tiny_model

    path = write_tiny_model(Path(_tmp.name) / "tiny.onnx")
    return str(path), (
        f"shipped model not found ({shipped}): using the TINY TEST MODEL instead "
        "(inference times are not representative)"
    )


def wait(app, cond, timeout=120.0):
    from PySide6 import QtCore

    end = time.perf_counter() + timeout
    while not cond():
        if time.perf_counter() > end:
            raise TimeoutError("benchmark step timed out")
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 5)


class PaintCounter:
    """Counts paint events of a widget (an event filter)."""

    def __init__(self, widget):
        from PySide6 import QtCore

        class _Filter(QtCore.QObject):
            count = 0

            def eventFilter(self, obj, ev):
                if ev.type() == QtCore.QEvent.Type.Paint:
                    type(self).count += 1
                return False

        self._filter = _Filter()
        widget.installEventFilter(self._filter)

    @property
    def count(self) -> int:
        return type(self._filter).count


def until_painted(app, paints, max_rounds: int = 200) -> None:
    start = paints.count
    for _ in range(max_rounds):
        app.processEvents()
        if paints.count > start:
            return


def pct(values, q):
    return float(np.percentile(np.asarray(values), q))


def open_once(app, win, path: Path, reveal: bool = True) -> dict:
    """Open one file, wait until its image and heatmap were painted (and its full decode, if any), close it.
    Times in ms from ``open_paths``; NaN when there was none."""
    from PySide6 import QtCore

    marks: dict[str, float] = {}
    t0 = time.perf_counter()

    def shown(eid):
        win.view.viewport().repaint()  # synchronous paint: the pixels are on screen now
        marks.setdefault("image", time.perf_counter())

    def painted():
        # after the event that put the map in the layer (the controller shows the layer after it)
        if "heatmap" not in marks:
            marks["heatmap_visible"] = win.view.heatmap.isVisible()
            win.view.viewport().repaint()
            marks["heatmap"] = time.perf_counter()

    def heat(eid):
        QtCore.QTimer.singleShot(0, painted)

    def analysed(task, value):  # in the worker thread, as the analysis reports back
        study = task.args[1] if task.args and len(task.args) > 1 else None
        if getattr(value, "prediction", None) is not None and getattr(study, "path", None) == str(path):
            marks.setdefault("result", time.perf_counter())

    def updated(e):
        # "Show anyway" as soon as a withheld result is in (what a reader does to see its heatmap)
        if reveal and e.path == str(path) and e.result is not None and e.result.withheld and not e.revealed:
            QtCore.QTimer.singleShot(0, lambda: win.session.set_revealed(e, True))

    win.study_shown.connect(shown)
    win.heatmap_shown.connect(heat)
    win.session.entry_updated.connect(updated)
    win.runner._signals.result.connect(analysed, QtCore.Qt.ConnectionType.DirectConnection)
    (eid,) = win.open_paths([str(path)])
    wait(
        app,
        lambda: (
            "heatmap" in marks
            or win.entries[eid].state == "failed"
            or win.entries[eid].ai_state == "failed"
            or (win.entries[eid].ai_state == "done" and not win.entries[eid].score_shown and not reveal)
        ),
    )
    # the full decode of a preview: waited for, so that it does not slow down the next file
    wait(app, lambda: win.entries[eid].state == "failed" or not win.entries[eid].full_pending)
    if win.entries[eid].state != "failed" and "full" not in marks:
        marks["full"] = time.perf_counter()
    win.study_shown.disconnect(shown)
    win.heatmap_shown.disconnect(heat)
    win.session.entry_updated.disconnect(updated)
    win.runner._signals.result.disconnect(analysed)
    e = win.entries[eid]
    keys = ("image", "heatmap", "full", "result")
    row = {k: (marks[k] - t0) * 1000 if k in marks else float("nan") for k in keys}
    row["gui"] = row["heatmap"] - row["result"]  # the analysis done (worker) -> heatmap painted
    row["load"] = e.load_ms
    row["inference"] = e.result.prediction.elapsed_ms if e.result is not None else float("nan")
    row["withheld"] = e.result is not None and e.result.withheld
    row["painted"] = marks.get("heatmap_visible", True)
    win.close_entry(eid)
    for _ in range(3):
        app.processEvents()
    return row


def _row_text(name: str, r: dict) -> str:
    hm = (
        f"{r['heatmap']:8.0f}{'*' if r['withheld'] else ' '}" if r["heatmap"] == r["heatmap"] else "      n/a"
    )
    if not r["painted"]:
        hm += " (layer hidden!)"
    return (
        f"{name[:28]:28s} {r['image']:8.0f} {hm} {r['load']:15.0f} {r['inference']:11.0f} {r['full']:17.0f}"
        f" {r['gui']:16.0f}"
    )


def _p50_max(values) -> str:
    v = [x for x in values if x == x]
    if not v:
        return "     n/a"
    return f"{statistics.median(v):5.0f} / {max(v):5.0f}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.environ.get("PNEUMOSCOPE_SHARED", str(ROOT.parent / "shared")))
    ap.add_argument("--model", default=None)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=1, help="open every chest file this many times")
    ap.add_argument("--no-reveal", action="store_true", help='do not press "Show anyway" on withheld results')
    ap.add_argument("--open-only", action="store_true", help="only the open -> on screen timings")
    ap.add_argument("--only", default="", help="only the chest files whose name contains this")
    args = ap.parse_args()
    chest = sorted(
        p for p in (Path(args.shared) / "data" / "dicom" / "chest").glob("*.dcm") if args.only in p.name
    )
    if not chest:
        print(f"no chest files in {Path(args.shared) / 'data' / 'dicom' / 'chest'} (--shared PATH)")

    from PySide6 import QtCore

    from viewer.gui.app import create_app
    from viewer.gui.main_window import MainWindow

    app = create_app()
    model_path, model_note = pick_model(args.model)
    print(f"platform: {app.platformName()}   model: {model_note}")
    rss0 = rss_mb()
    win = MainWindow(model_path=model_path)
    win.resize(1600, 1000)
    win.show()
    wait(app, lambda: not win.model_loading)
    if win.model is None:
        print(f"model failed to load: {win.model_error}")
        return 1
    print(
        f"model {win.model.info.name} {win.model.info.version} on {win.model.provider}; "
        f"RSS with empty window {rss_mb():.0f} MB (process start {rss0:.0f} MB)"
    )

    # -- open -> image on screen -> heatmap on screen, one study at a time ----------------------------
    print(
        "\nopen -> on screen (ms)          image   heatmap   decode+render   inference   full resolution"
        "   result->heatmap"
        "\n  (a JPEG 2000 chest is shown and analysed from a reduced level first; 'full resolution': when"
        " the full decode replaced it;\n  'heatmap': painted; * = withheld, after pressing \"Show anyway\";"
        " 'result->heatmap': from the end of the analysis (worker) to the heatmap painted)"
    )
    rows: dict[str, list[dict]] = {p.name: [] for p in chest}
    for round_ in range(max(1, args.repeat)):
        for path in chest:
            row = open_once(app, win, path, reveal=not args.no_reveal)
            rows[path.name].append(row)
            if args.repeat > 1:
                print(f"  round {round_ + 1}: {_row_text(path.name, row)}")
            else:
                print(f"  {_row_text(path.name, row)}")
    if args.repeat > 1:
        print(
            f"\nper file, {args.repeat} opens each:      image p50 / max     heatmap p50 / max"
            "     result->heatmap p50 / max"
        )
        for name, rs in rows.items():
            image, heatmap = _p50_max([r["image"] for r in rs]), _p50_max([r["heatmap"] for r in rs])
            print(f"  {name[:28]:28s} {image}   {heatmap}        {_p50_max([r['gui'] for r in rs])}")
    every = [r for rs in rows.values() for r in rs]
    print(
        f"\nall opens ({len(every)}): image p50 / max {_p50_max([r['image'] for r in every])} ms;   "
        f"heatmap p50 / max {_p50_max([r['heatmap'] for r in every])} ms;   "
        f"result->heatmap p50 / max {_p50_max([r['gui'] for r in every])} ms"
    )
    if args.open_only:
        win.close()
        return 0

    # -- opacity slider on a 2000 x 2000 image -----------------------------------------------------------
    sys.path.insert(0, str(ROOT / "tests" / "gui"))  # gui_support moved to tests/gui
    from gui_support import write_dicom

    rng = np.random.default_rng(0)
    big = rng.normal(2000, 400, (2000, 2000))
    big[300:900, 1100:1700] += 1500
    big = big.clip(0, 4095).astype(np.uint16)
    big_path = write_dicom(Path(_tmp.name) / "big2000.dcm", big)
    (eid,) = win.open_paths([str(big_path)])
    wait(app, lambda: win.entries[eid].ai_state in ("done", "failed"))
    for _ in range(5):
        app.processEvents()
    slider = win.ai_panel.opacity_slider
    paints = PaintCounter(win.view.viewport())
    win.view.viewport().repaint()
    renders_before = win.view.heatmap.fill.render_count
    times = []
    for i in range(args.steps):
        t0 = time.perf_counter()
        slider.setValue(10 + (i * 7) % 90)
        until_painted(app, paints)
        times.append((time.perf_counter() - t0) * 1000)
    print(
        f"\nopacity slider step, 2000 x 2000 image, view {win.view.width()} x {win.view.height()} px, "
        f"{args.steps} steps (setValue -> events processed until the view has repainted):"
    )
    print(f"  mean {statistics.mean(times):.2f} ms   p95 {pct(times, 95):.2f} ms   max {max(times):.2f} ms")
    renders = win.view.heatmap.fill.render_count - renders_before
    print(
        f"  heatmap pixels recomputed during those steps: {renders} times (only the item's opacity changes)"
    )

    times = []
    for i in range(args.steps):
        t0 = time.perf_counter()
        win.display.drag_window(3.0 if i % 20 < 10 else -3.0, 1.0 if i % 20 < 10 else -1.0)
        until_painted(app, paints)
        times.append((time.perf_counter() - t0) * 1000)
    print(
        f"window/level drag step on the same image: mean {statistics.mean(times):.2f} ms   "
        f"p95 {pct(times, 95):.2f} ms"
    )
    win.close_entry(eid)

    # -- memory with five studies ------------------------------------------------------------------------
    before = rss_mb()
    ids = win.open_paths([str(p) for p in chest[:5]])
    wait(
        app,
        lambda: all(
            win.entries[i].state != "loading"
            and win.entries[i].ai_state in ("done", "failed")
            or win.entries[i].state == "failed"
            for i in ids
        ),
    )
    for i in ids:  # visit each so every view state has been built once
        win.select_entry(i)
        win.view.viewport().repaint()
    QtCore.QCoreApplication.processEvents()
    print(
        f"\nRSS with {len(ids)} chest studies open: {rss_mb():.0f} MB (before opening them {before:.0f} MB)"
    )
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
