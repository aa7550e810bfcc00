"""``pneumoscope`` / ``python -m viewer``: open the viewer, optionally with studies to show.

    pneumoscope [PATH ...] [--force-cpu] [--model FILE] [--self-test]

PATHs may be files or folders (opened recursively). ``--force-cpu`` runs the AI on the CPU even when
a GPU provider is installed. ``--self-test ...`` hands every argument to the packaging self-check
(``viewer.diagnostics.selftest.main``), which has options of its own.
"""

from __future__ import annotations

import argparse
import sys

from viewer.config import DESCRIPTION, DIST_NAME, app_version


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=DIST_NAME,
        description=DESCRIPTION,
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="study files or folders to open")
    p.add_argument("--force-cpu", action="store_true", help="run the AI model on the CPU only")
    p.add_argument(
        "--model", metavar="FILE", default=None, help="use this ONNX model instead of the shipped one"
    )
    p.add_argument(
        "--self-test",
        action="store_true",
        help="check this installation (decoders, model, export), print a JSON report and exit; "
        "see python -m viewer.diagnostics.selftest --help for its options",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {app_version()}")
    return p


def run_self_test(argv: list[str]) -> int:
    """The packaging self-test owns its options (``viewer.diagnostics.selftest``): hand it the raw arguments."""
    try:
        from viewer.diagnostics import selftest  # noqa: PLC0415
    except ImportError:
        print(f"{DIST_NAME}: the self-test is not part of this build", file=sys.stderr)
        return 2
    return int(selftest.main(argv) or 0)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--self-test" in argv:  # before our parser: the self-test has options of its own
        return run_self_test(argv)
    if "--benchmark-startup" in argv:  # --benchmark-startup FILE: start-up timings as JSON, then quit
        from viewer.diagnostics.startup_benchmark import main as benchmark_main  # noqa: PLC0415

        return benchmark_main(argv)
    args = build_parser().parse_args(argv)
    from viewer.gui.app import run  # noqa: PLC0415 - Qt only when a window is wanted

    return run(args.paths, force_cpu=args.force_cpu, model_path=args.model)


if __name__ == "__main__":
    sys.exit(main())
