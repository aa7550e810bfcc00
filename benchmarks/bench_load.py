"""Load + default render time and memory for the chest files, next to plain pydicom.

    python benchmarks/bench_load.py [--runs 7] [--files PATH ...]

For every file and both pipelines a fresh subprocess does one warm-up run, then ``--runs`` timed
runs (median and minimum reported), then one run under tracemalloc:

- pneumoscope: ``viewer.core.io.load_study`` + ``viewer.core.display.render_default`` (uint8)
- plain pydicom: ``dcmread`` + ``pixel_array`` + ``apply_modality_lut`` + ``apply_voi_lut``
  (pydicom picks its plugins; no inversion, no 8-bit conversion: it does less work)

Memory: peak RSS of the subprocess (``ru_maxrss``), its growth over the RSS after imports, and the
tracemalloc peak of one run (numpy buffers are traced; decoder-internal buffers are not).
Timing belongs here, not in the tests. On a machine busy with other work the numbers are noisy:
compare the two columns, which run under the same conditions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PNEUMOSCOPE_SHARED", REPO.parent / "shared"))
CHEST = SHARED / "data" / "dicom" / "chest"

WORKER = r"""
import json, statistics, sys, time, tracemalloc, warnings
warnings.simplefilter("ignore")
try:
    import resource
    def rss_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB
except ImportError:  # Windows
    def rss_mb():
        return float("nan")
mode, path, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
if mode == "pneumoscope":
    from viewer.core.display import render_default
    from viewer.core.io import load_study
    def once():
        return render_default(load_study(path))
else:
    import pydicom
    from pydicom.pixels import apply_modality_lut, apply_voi_lut
    from pydicom.uid import ImplicitVRLittleEndian
    def once():
        ds = pydicom.dcmread(path, force=True)
        if "TransferSyntaxUID" not in ds.file_meta:
            ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
        return apply_voi_lut(apply_modality_lut(ds.pixel_array, ds), ds)
import numpy  # noqa: F401  (imports done before the baseline)
baseline = rss_mb()
once()  # warm-up: plugin discovery, first-use initialisation
times = []
for _ in range(runs):
    t0 = time.perf_counter()
    once()
    times.append((time.perf_counter() - t0) * 1000)
peak_rss = rss_mb()
tracemalloc.start()
once()
traced = tracemalloc.get_traced_memory()[1] / 2**20
tracemalloc.stop()
print(json.dumps({"median": statistics.median(times), "min": min(times), "rss": peak_rss,
                  "rss_growth": peak_rss - baseline, "traced": traced}))
"""


def measure(mode: str, path: Path, runs: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(
        [sys.executable, "-c", WORKER, mode, str(path), str(runs)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1][:60]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def fmt(result: dict) -> str:
    if "error" in result:
        return f"{'error: ' + result['error']:<44s}"
    return (
        f"{result['median']:7.0f} {result['min']:6.0f} {result['rss']:7.0f} "
        f"{result['rss_growth']:6.0f} {result['traced']:7.0f}  "
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per file and pipeline (default 7)")
    parser.add_argument("--files", nargs="*", type=Path, help="files to measure (default: the 5 chest files)")
    args = parser.parse_args(argv)
    files = args.files or sorted(CHEST.glob("*.dcm"))
    if not files:
        print(f"no files found (looked in {CHEST}; set PNEUMOSCOPE_SHARED)", file=sys.stderr)
        return 2

    import cv2
    import numpy
    import pydicom

    print(f"# command: {shlex.join([sys.executable, *sys.argv])}")
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M')}  {platform.platform()}  {os.cpu_count()} CPUs  "
        f"load average {load[0]:.2f}  nice {os.nice(0) if hasattr(os, 'nice') else '?'}"
    )
    print(
        f"# python {platform.python_version()}  pydicom {pydicom.__version__}  numpy {numpy.__version__}  "
        f"opencv {cv2.__version__}  runs {args.runs} (+1 warm-up) per file, fresh process per file and pipeline"
    )
    print("# ms: load + default render (pneumoscope) / decode + modality LUT + VOI (plain pydicom)")
    print("# MB: peak RSS, RSS growth over the post-import baseline, tracemalloc peak of one run")
    head = f"{'median':>7s} {'min':>6s} {'peakRSS':>7s} {'+RSS':>6s} {'traced':>7s}  "
    print(f"{'':44s} {'pneumoscope':^44s}{'plain pydicom':^44s}")
    print(f"{'file':34s} {'pixels':>9s} {head}{head}{'speed-up':>8s}")
    for path in files:
        ours = measure("pneumoscope", path, args.runs)
        plain = measure("pydicom", path, args.runs)
        try:
            import pydicom as _p

            ds = _p.dcmread(path, force=True, stop_before_pixels=True)
            pixels = f"{int(ds.Columns)}x{int(ds.Rows)}"
        except Exception:  # noqa: BLE001 - a failed reader is a row in the table
            pixels = "?"
        ratio = f"{plain['median'] / ours['median']:7.2f}x" if "median" in ours and "median" in plain else ""
        print(f"{path.name[:34]:34s} {pixels:>9s} {fmt(ours)}{fmt(plain)}{ratio:>8s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
