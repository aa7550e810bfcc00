"""``pneumoscope --self-test [FOLDER] [--json-out FILE]``: prove that this build works, frozen or from source.

For one file of each family (JPEG baseline, JPEG lossless, JPEG-LS, JPEG 2000, RLE, uncompressed DICOM,
PNG) the self-test runs the real pipeline, ``load_study`` -> ``render_default`` -> ``PneumoniaModel.predict``
-> an export (image + heatmap + footer, written atomically and read back), and checks every step:
probability finite in [0, 1], heatmap on the frame geometry, export decodes to the right size and pixels,
and for compressed DICOM that pydicom finds the pylibjpeg decoder through its entry points (the trap of
frozen builds) and that decoding with it gives the pixels the viewer shows. The AI gate is checked on
synthetic studies (:mod:`viewer.diagnostics.selftest_gate`: a blank and a colour image withheld by the
rules, a Kermany-like chest not; with a contract-2 model, noise and an inverted chest withheld by the
out-of-distribution score), and every file's result records its gate state. A last check starts Qt on
the ``offscreen`` platform and imports the main window, so missing Qt plugins or GUI modules show too.

Without FOLDER the studies are generated in a temporary folder (see :mod:`viewer.diagnostics.phantoms`;
JPEG-LS is reported "not generated"). With FOLDER, files are picked recursively by the transfer syntax
read from their header (``stop_before_pixels``); candidates that fail are reported and the next one is
tried (a folder may hold damaged files), but a family with no passing file is a failure. PNG comes from
the folder when it has one, else the self-test writes one.

The JSON report goes to stdout (and to ``--json-out FILE``), a one-line-per-family summary to stderr.
Exit status: 0 all passed, 1 any failure, 2 bad arguments. No window opens. Qt-free except the last check.

This module runs the checks and owns the command line; the families and the folder scan are in
:mod:`viewer.diagnostics.selftest_scan`, the export step (and :class:`CheckFailed`) in :mod:`viewer.diagnostics.selftest_export`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from viewer.config import APP_NAME, DIST_NAME, app_version
from viewer.core.files import write_atomic
from viewer.diagnostics.selftest_export import (
    CheckFailed,
    check,
    check_export,
    render_export,
    write_png_atomic,
)
from viewer.diagnostics.selftest_gate import check_gate, gate_failures
from viewer.diagnostics.selftest_scan import (
    FAMILIES,
    MAX_CANDIDATES,
    PYLIBJPEG_FAMILIES,
    REQUIRED,
    Candidate,
    decoder_plugins,
    scan_folder,
)

REPORT_VERSION = 1


@contextlib.contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    t0 = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = round((time.perf_counter() - t0) * 1000.0, 1)


# --------------------------------------------------------------------------- environment


def _version_of(module_name: str, dist_name: str | None = None) -> str | None:
    import importlib
    from importlib import metadata

    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - a missing module is reported, not fatal
        return f"unavailable ({type(exc).__name__}: {exc})"
    version = getattr(module, "__version__", None)
    if isinstance(version, str):
        return version
    try:
        return metadata.version(dist_name or module_name)
    except metadata.PackageNotFoundError:
        return None


def environment() -> dict:
    """Versions of everything the pipeline depends on (Qt read without starting a GUI)."""
    frozen = bool(getattr(sys, "frozen", False))
    env = {
        "app_version": app_version(),
        "frozen": frozen,
        "executable": sys.executable,
        "bundle_dir": getattr(sys, "_MEIPASS", None),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "pydicom": _version_of("pydicom"),
        "pylibjpeg": _version_of("pylibjpeg"),
        "pylibjpeg-libjpeg": _version_of("libjpeg", "pylibjpeg-libjpeg"),
        "pylibjpeg-openjpeg": _version_of("openjpeg", "pylibjpeg-openjpeg"),
        "pylibjpeg-rle": _version_of("rle", "pylibjpeg-rle"),
        "onnxruntime": _version_of("onnxruntime"),
        "pyside6": _version_of("PySide6"),
    }
    try:
        from PySide6 import QtCore

        env["qt"] = QtCore.qVersion()
    except Exception as exc:  # noqa: BLE001 - the self-test reports each failure and goes on
        env["qt"] = f"unavailable ({type(exc).__name__}: {exc})"
    return env


# --------------------------------------------------------------------------- one file


def _plugin_decode(path: Path, tsuid: str, frame, result: dict) -> None:
    """Decode with pydicom + pylibjpeg explicitly and compare with the viewer's stored values."""
    from pydicom import dcmread
    from pydicom.pixels import pixel_array

    plugins = decoder_plugins(tsuid)
    result["decoder_plugins"] = plugins
    check(
        "pylibjpeg" in plugins,
        f"pydicom has no pylibjpeg decoder for {tsuid} (plugins: {plugins or 'none'}): "
        "the pylibjpeg entry-point metadata is missing from the build",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = dcmread(path)
        arr = pixel_array(ds, decoding_plugin="pylibjpeg", index=0)
    check(arr.shape[:2] == frame.shape, f"pylibjpeg decoded {arr.shape}, the viewer {frame.shape}")
    result["pylibjpeg_decode"] = "ok"
    if (
        arr.ndim == 2
        and str(getattr(ds, "PhotometricInterpretation", "")).startswith("MONOCHROME")
        and "ModalityLUTSequence" not in ds
    ):
        slope = float(getattr(ds, "RescaleSlope", 1) or 1)
        intercept = float(getattr(ds, "RescaleIntercept", 0) or 0)
        same = np.allclose(
            arr.astype(np.float64) * slope + intercept, frame, atol=1e-3 * max(1.0, abs(slope))
        )
        check(same, "pylibjpeg's pixels differ from the viewer's")
        result["pylibjpeg_decode"] = "ok, identical to the viewer's pixels"


def check_file(cand: Candidate, model, model_line: str, out_dir: Path) -> dict:
    """Run the pipeline on one file. Never raises: failures are recorded in the result."""
    from viewer.core.display import render_default
    from viewer.core.io import load_study

    result: dict = {"family": cand.family, "file": str(cand.path), "status": "failed"}
    timings: dict[str, float] = {}
    result["timings_ms"] = timings
    t_total = time.perf_counter()
    try:
        with _timed(timings, "decode"):
            study = load_study(cand.path)
        frame = study.frames[0]
        result.update(
            transfer_syntax_uid=cand.tsuid,
            transfer_syntax=study.meta.transfer_syntax or study.meta.source_format,
            rows=int(frame.shape[0]),
            columns=int(frame.shape[1]),
            frames=study.n_frames,
            photometric=study.meta.photometric,
        )
        if cand.expected is not None:
            check(
                np.array_equal(frame, np.asarray(cand.expected, dtype=np.float32)),
                "decoded pixels differ from the lossless source",
            )
            result["lossless_roundtrip"] = "exact"
        if cand.family in PYLIBJPEG_FAMILIES:
            with _timed(timings, "pylibjpeg_check"):
                _plugin_decode(cand.path, cand.tsuid, frame, result)
        with _timed(timings, "render"):
            grey = render_default(study, 0)
        check(
            grey.dtype == np.uint8 and grey.shape == frame.shape,
            f"render_default gave {grey.dtype} {grey.shape} for a {frame.shape} frame",
        )
        check(model is not None, "decoding and rendering passed; the model did not load, so no inference")
        with _timed(timings, "predict"):
            pred = model.predict(grey)
        p = float(pred.probability)
        check(math.isfinite(p) and 0.0 <= p <= 1.0, f"probability {p!r} is not a finite number in [0, 1]")
        heat = np.asarray(pred.heatmap)
        check(heat.shape == grey.shape, f"heatmap shape {heat.shape} != frame shape {grey.shape}")
        check(
            bool(np.isfinite(heat).all()) and float(heat.min()) >= 0.0,
            "heatmap has negative or non-finite values",
        )
        from viewer.core.model.result import result_for

        gated = result_for(model, study, pred, grey, 0)
        result.update(
            probability=round(p, 6),
            ai_state=gated.state.value,
            ai_reasons=gated.assessment.reasons,
            label=pred.label,
            threshold=pred.threshold,
            provider=pred.provider,
            heatmap_max=round(float(heat.max()), 6),
            model_ms=round(float(pred.elapsed_ms), 1),
        )
        with _timed(timings, "export"):
            rgb = render_export(grey, pred, model_line)
            target = out_dir / f"export-{cand.family.replace(' ', '_')}-{cand.path.stem}.png"
            write_png_atomic(rgb, target)
            check_export(target, rgb, grey.shape)
        result["export"] = {
            "file": str(target),
            "rows": int(rgb.shape[0]),
            "columns": int(rgb.shape[1]),
            "bytes": target.stat().st_size,
        }
        result["status"] = "passed"
    except Exception as exc:  # noqa: BLE001 - the self-test reports each failure and goes on
        result["error"] = f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, CheckFailed):
            result["traceback"] = traceback.format_exc(limit=6)
    timings["total"] = round((time.perf_counter() - t_total) * 1000.0, 1)
    return result


# --------------------------------------------------------------------------- Qt


def check_qt(work: Path | None = None) -> dict:
    """Start Qt headless (offscreen) as the app does, build the main window (throwaway settings, no model)
    and paint it: missing Qt plugins, Qt modules or GUI modules in a build fail here."""
    out: dict = {"status": "failed"}
    t0 = time.perf_counter()
    window = None
    try:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from PySide6 import QtCore

        from viewer.gui.app import create_app
        from viewer.gui.main_window import MainWindow
        from viewer.gui.settings import Settings

        app = create_app()
        out["platform"] = app.platformName()
        ini = Path(work or tempfile.gettempdir()) / "selftest-settings.ini"
        settings = Settings(QtCore.QSettings(str(ini), QtCore.QSettings.Format.IniFormat))
        window = MainWindow(settings=settings, load_model=False)
        window.resize(800, 600)
        window.show()
        app.processEvents()
        pixmap = window.grab()
        check(not pixmap.isNull() and pixmap.width() > 0, "Qt could not paint the main window")
        out["main_window"] = f"built and painted ({pixmap.width()} x {pixmap.height()})"
        out["status"] = "passed"
    except Exception as exc:  # noqa: BLE001 - the self-test reports each failure and goes on
        out["error"] = f"{type(exc).__name__}: {exc}"
        out["traceback"] = traceback.format_exc(limit=8)
    finally:
        if window is not None:
            with contextlib.suppress(Exception):
                window.close()
                window.deleteLater()
    out["ms"] = round((time.perf_counter() - t0) * 1000.0, 1)
    return out


# --------------------------------------------------------------------------- the run


def _model_report(model, path: Path, load_ms: float) -> dict:
    import onnxruntime as ort

    info = model.info
    bundle = getattr(sys, "_MEIPASS", None)
    return {
        "path": str(path),
        "bundled": bool(bundle) and Path(path).resolve().is_relative_to(Path(bundle).resolve()),
        "name": info.name,
        "version": info.version,
        "sha256": info.sha256,
        "calibrated": info.calibrated,
        "calibration": info.calibration_label,
        "contract_version": info.contract_version,
        "providers_available": list(ort.get_available_providers()),
        "providers_requested": model.requested_providers,
        "provider_used": model.providers[0] if model.providers else None,
        "fallback_reason": model.fallback_reason,
        "load_ms": round(load_ms, 1),
    }


def run_self_test(
    folder: str | os.PathLike | None = None,
    *,
    model_path: str | os.PathLike | None = None,
    force_cpu: bool = False,
    work_dir: str | os.PathLike | None = None,
    gui: bool = True,
    max_candidates: int = MAX_CANDIDATES,
) -> dict:
    """Run the self-test and return the report (``report["ok"]`` says whether everything passed).

    ``work_dir``: where generated studies and exports go (default: a temporary folder, deleted after).
    ``model_path``: default the shipped model (``viewer.core.assets.default_model_path``).
    """
    t_start = time.perf_counter()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # nothing here may open a window
    report: dict = {
        f"{DIST_NAME}_self_test": REPORT_VERSION,
        "ok": False,
        "mode": "folder" if folder else "generated",
    }
    failures: list[str] = []
    timings: dict[str, float] = {}
    tmp = None if work_dir is not None else tempfile.TemporaryDirectory(prefix=f"{DIST_NAME}-selftest-")
    work = Path(work_dir if work_dir is not None else tmp.name)
    try:
        work.mkdir(parents=True, exist_ok=True)
        report["environment"] = environment()
        model = _load_model(model_path, force_cpu, report, failures)
        with _timed(timings, "prepare"):
            families, candidates = _prepare(folder, work, report, max_candidates)
        report["families"] = families
        report["files"] = files = []
        exports = work / "exports"
        exports.mkdir(exist_ok=True)
        model_line = _model_line(report)
        for family, cands in candidates.items():
            for cand in cands:
                result = check_file(cand, model, model_line, exports)
                files.append(result)
                if result["status"] == "passed":
                    families[family].update(
                        status="passed",
                        file=result["file"],
                        transfer_syntax=result.get("transfer_syntax"),
                        transfer_syntax_uid=result.get("transfer_syntax_uid"),
                    )
                    break
            else:
                errors = [f"{Path(r['file']).name}: {r.get('error')}" for r in files if r["family"] == family]
                families[family].update(status="failed", error="; ".join(errors))
        report["families"] = families = {
            f: dict(families[f], required=f in REQUIRED) for f in FAMILIES if f in families
        }
        failures += [
            f"{family}: {entry.get('error', 'failed')}"
            for family, entry in families.items()
            if entry["status"] == "failed"
        ]
        with _timed(timings, "gate"):
            report["gate"] = check_gate(model, work / "gate")
        failures += gate_failures(report["gate"])
        if gui:
            report["qt"] = check_qt(work)
            if report["qt"]["status"] != "passed":
                failures.append(f"Qt: {report['qt'].get('error')}")
    except Exception as exc:  # noqa: BLE001 - the self-test itself must never end without a report
        failures.append(f"self-test error: {type(exc).__name__}: {exc}")
        report["traceback"] = traceback.format_exc()
    finally:
        report["work_dir"] = None if tmp is not None else str(work)
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.cleanup()
    timings["total"] = round((time.perf_counter() - t_start) * 1000.0, 1)
    report["timings_ms"] = timings
    report["failures"] = failures
    report["ok"] = not failures
    return report


def _load_model(model_path, force_cpu: bool, report: dict, failures: list[str]):
    from viewer.core.assets import default_model_path
    from viewer.core.model.inference import PneumoniaModel

    path = Path(model_path) if model_path else default_model_path()
    try:
        t0 = time.perf_counter()
        model = PneumoniaModel.load(path, force_cpu=force_cpu)
    except Exception as exc:  # noqa: BLE001 - the self-test reports each failure and goes on
        report["model"] = {"path": str(path), "error": f"{type(exc).__name__}: {exc}"}
        failures.append(f"model: {type(exc).__name__}: {exc}")
        return None
    report["model"] = _model_report(model, path, (time.perf_counter() - t0) * 1000.0)
    return model


def _model_line(report: dict) -> str:
    m = report.get("model", {})
    app = report.get("environment", {}).get("app_version", "?")
    return f"Model: {m.get('name', '?')} {m.get('version', '')} ({m.get('provider_used', '?')}) - {APP_NAME} {app}"


def _prepare(
    folder, work: Path, report: dict, max_candidates: int
) -> tuple[dict[str, dict], dict[str, list[Candidate]]]:
    """(status per family, candidate files per family to run). Statuses so far: "pending" (to run),
    "failed" (nothing to run: not found, or could not be generated), "not generated", "not found" (optional)."""
    from viewer.diagnostics.phantoms import chest_phantom, generate_studies, to_u8, write_png

    families: dict[str, dict] = {}
    candidates: dict[str, list[Candidate]] = {}
    if not folder:
        from pydicom import dcmread

        report["source"] = str(work / "studies")
        for gen in generate_studies(work / "studies"):
            if gen.path is None:
                status = "not generated" if gen.note.startswith("not generated") else "failed"
                families[gen.family] = {"status": status, "error": gen.note}
                continue
            tsuid = (
                ""
                if gen.family == "PNG"
                else str(dcmread(gen.path, stop_before_pixels=True).file_meta.TransferSyntaxUID)
            )
            candidates[gen.family] = [Candidate(gen.family, gen.path, tsuid, gen.expected)]
            families[gen.family] = {"status": "pending", "generated": True}
        return families, candidates

    root = Path(folder).expanduser().resolve()
    report["source"] = str(root)
    if not root.is_dir():
        raise CheckFailed(f"{root} is not a folder")
    found, scanned = scan_folder(root, max_candidates)
    report["files_scanned"] = scanned
    for family in FAMILIES:
        cands = found.get(family, [])
        if family == "PNG" and not cands:
            cands = [Candidate("PNG", write_png(to_u8(chest_phantom()), work / "phantom.png"), "")]
            families[family] = {"status": "pending", "generated": True}
        elif cands:
            families[family] = {"status": "pending", "generated": False, "candidates": len(cands)}
        elif family in REQUIRED:
            families[family] = {"status": "failed", "error": f"no {family} file found in {root}"}
        else:
            families[family] = {"status": "not found"}
        if cands:
            candidates[family] = cands
    return families, candidates


# --------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"{DIST_NAME} --self-test", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--self-test",
        dest="folder",
        nargs="?",
        const="",
        metavar="FOLDER",
        required=True,
        help="folder to pick test files from (recursively); default: generated studies",
    )
    p.add_argument("--json-out", type=Path, metavar="FILE", help="also write the JSON report to FILE")
    p.add_argument("--model", type=Path, metavar="FILE", help="model file (default: the shipped model)")
    p.add_argument(
        "--cpu",
        "--force-cpu",
        dest="cpu",
        action="store_true",
        help="run the model on the CPU even if a GPU provider exists",
    )
    p.add_argument("--keep", type=Path, metavar="DIR", help="keep generated studies and exports in DIR")
    p.add_argument("--no-gui", action="store_true", help="skip the headless Qt check")
    return p


def _summary(report: dict) -> str:
    lines = [
        f"{APP_NAME} {report.get('environment', {}).get('app_version', '?')} self-test: "
        f"{'PASSED' if report['ok'] else 'FAILED'} in {report['timings_ms']['total'] / 1000:.1f} s"
    ]
    model = report.get("model", {})
    if "name" in model:
        lines.append(
            f"  model     {model['name']} {model['version']} on {model['provider_used']}"
            f"{' (bundled)' if model['bundled'] else ''}"
        )
    for family, entry in report.get("families", {}).items():
        if family.startswith("_"):
            continue
        detail = entry.get("transfer_syntax") or entry.get("error") or ""
        lines.append(f"  {family:<14}{entry['status']:<15}{detail[:110]}")
    for name, entry in report.get("gate", {}).get("studies", {}).items():
        detail = entry.get("error") or entry.get("note") or entry.get("state", "")
        lines.append(f"  {'gate':<6}{name:<19}{entry['status']:<9}{detail[:110]}")
    if "qt" in report:
        lines.append(
            f"  {'Qt':<14}{report['qt']['status']:<15}{report['qt'].get('platform', report['qt'].get('error', ''))}"
        )
    lines += [f"  FAILURE: {f}" for f in report["failures"]]
    return "\n".join(lines)


def _stream(name: str):
    """stdout/stderr, also for a windowed Windows build (no console: attach to the parent's, if any)."""
    stream = getattr(sys, name)
    if stream is not None or sys.platform != "win32":
        return stream
    try:
        import ctypes

        if ctypes.windll.kernel32.AttachConsole(-1):  # ATTACH_PARENT_PROCESS
            stream = open("CONOUT$", "w", encoding="utf-8")
            setattr(sys, name, stream)
    except Exception:  # noqa: BLE001 - the self-test reports each failure and goes on
        return None
    return stream


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    work = args.keep
    report = run_self_test(
        args.folder or None, model_path=args.model, force_cpu=args.cpu, work_dir=work, gui=not args.no_gui
    )
    text = json.dumps(report, indent=2, default=str, allow_nan=False)
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(args.json_out, (text + "\n").encode("utf-8"))
    out, err = _stream("stdout"), _stream("stderr")
    if out is not None:
        out.write(text + "\n")
        out.flush()
    if err is not None:
        err.write(_summary(report) + "\n")
        err.flush()
    return 0 if report["ok"] else 1


__all__ = ["FAMILIES", "REQUIRED", "run_self_test", "main", "check_qt", "scan_folder", "check_file"]

if __name__ == "__main__":
    sys.exit(main())
