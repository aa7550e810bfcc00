"""Screenshot of the real main window with studies open (documentation, and the real-window test).

    python -m viewer.diagnostics.screenshot --out shot.png [--model FILE] [--size 1600x1000] [--demo] PATH ...

Opens the window, waits until the studies are decoded and analysed, and saves what the screen shows
(``QScreen.grabWindow``: the real window system's pixels, not a widget render). ``--demo`` adds an
arrow, a length measurement and a text label to the current study.
"""

from __future__ import annotations

import argparse
import sys
import time


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m viewer.diagnostics.screenshot")
    p.add_argument("paths", nargs="+")
    p.add_argument("--out", required=True)
    p.add_argument("--model", default=None)
    p.add_argument("--size", default="1600x1000")
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument("--demo", action="store_true", help="add sample annotations")
    args = p.parse_args(argv)

    from PySide6 import QtCore, QtWidgets  # noqa: PLC0415

    from viewer.gui.app import create_app  # noqa: PLC0415
    from viewer.gui.main_window import MainWindow  # noqa: PLC0415

    app = create_app()
    win = MainWindow(model_path=args.model)
    w, h = (int(v) for v in args.size.lower().split("x"))
    win.resize(w, h)
    win.show()
    ids = win.open_paths(args.paths)
    deadline = time.monotonic() + args.timeout

    def settled() -> bool:
        if win.model_loading or win.runner.pending:
            return False
        entries = [win.entries[i] for i in ids if i in win.entries]
        # a JPEG 2000 study opens from its reduced level first: wait for the full decode that follows too
        return all(e.state != "loading" and not (e.ready and e.full_pending) for e in entries)

    while not settled():
        if time.monotonic() > deadline:
            print("timed out waiting for the studies", file=sys.stderr)
            return 1
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.01)
    if ids:
        win.select_entry(ids[0])
    if args.demo and win.current is not None and win.current.ready:
        rows, cols = win.current.default_u8.shape
        layer = win.current.layer
        layer.add_arrow((cols * 0.18, rows * 0.78), (cols * 0.30, rows * 0.62))
        layer.add_ruler((cols * 0.56, rows * 0.84), (cols * 0.86, rows * 0.84))
        layer.add_text((cols * 0.60, rows * 0.20), "RUL opacity?")
    end = time.monotonic() + 0.8
    while time.monotonic() < end:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.02)
    screen = win.screen() or QtWidgets.QApplication.primaryScreen()
    shot = screen.grabWindow(win.winId())
    if shot.isNull() or shot.width() == 0:
        shot = win.grab()
    ok = shot.save(args.out)
    print(args.out if ok else "could not save the screenshot")
    win.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
