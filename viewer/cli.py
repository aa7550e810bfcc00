"""``pneumoscope-cli``: the headless side of the viewer.

Subcommands (``build_parser()`` returns the subparsers so more can be added, e.g. ``predict``):

- ``info FILE [--json] [--tags]``: what the file is and how it will be displayed. When the header is
  readable but the pixel data is not (truncated, undecodable), the header is still printed with a
  "Pixel data" line naming the problem (``pixel_problem`` in JSON), the error goes to stderr and the
  exit status is 2.
- ``render FILE OUT.png [--frame N] [--window C W] [--force]``: the display rendering (default
  window unless ``--window``), written atomically; an existing OUT is kept unless ``--force``.
- ``predict PATH... [--json] [--model M] [--force-cpu] [--csv OUT [--force] [--include-patient]]``: the AI
  result of each study through the gate, one line (or one JSON object) per file: path, state (in scope /
  caution / withheld), probability (null when withheld), label, threshold, OOD score and its threshold,
  reasons. PATH may be a file, a folder (recursive), a DICOMDIR or a ZIP archive
  (:func:`viewer.core.io.collection.collect`); images are scored in batches
  (:func:`viewer.core.model.triage.triage`). ``--csv`` writes one row a study, patient identifiers only
  with ``--include-patient``, atomically, never over an existing file without ``--force``; a progress
  bar goes to stderr. A file that cannot be read gets a line with state "error", a refused archive entry
  or missing DICOMDIR file a line on stderr; the exit status is then 2, else 0 (duplicates are notices).
- ``report STUDY --out DIR [--sc] [--sr] [--pdf] [--include-patient-data] [--force]``: the AI result as
  DICOM Secondary Capture + Structured Report and a one-page PDF (all three by default; see
  :mod:`viewer.reports`), de-identified unless asked, never over an existing file without ``--force``;
  prints the study, its state, the finding and the files written.

Errors print one line on stderr and exit with status 2 (argparse uses 2 for usage errors too).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

import cv2

from viewer.config import APP_NAME, CLI_NAME, RESEARCH_USE, app_version
from viewer.core.display import default_window, presets, render
from viewer.core.errors import CorruptPixelDataError, StudyError, UnsupportedCompressionError
from viewer.core.files import write_atomic
from viewer.core.io import load_header, load_study
from viewer.core.model.worklist_csv import csv_row, csv_text
from viewer.core.study import Study, StudyMetadata, VoiLut, WindowPreset

PROG = CLI_NAME
EXIT_ERROR = 2
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")


class CliError(Exception):
    """A user-facing error of the command line itself (bad option value, existing output...)."""


def _add_model_options(p: argparse.ArgumentParser) -> None:
    """--model, --force-cpu and --frame: the same for every command that runs the AI."""
    p.add_argument("--model", default=None, help="another model file (.onnx) instead of the shipped one")
    p.add_argument("--force-cpu", action="store_true", help="run on the CPU even if a GPU is available")
    p.add_argument("--frame", type=int, default=0, metavar="N", help="frame of multi-frame files (default 0)")


def build_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    parser = argparse.ArgumentParser(
        prog=PROG, description=f"{APP_NAME} chest X-ray viewer, command line tools. {RESEARCH_USE}"
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {app_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    info = sub.add_parser("info", help="describe a study file and how it will be displayed")
    info.add_argument("file", help="DICOM, PNG, JPEG or TIFF file")
    info.add_argument("--json", action="store_true", help="print JSON instead of text")
    info.add_argument("--tags", action="store_true", help="also list every header element")
    info.set_defaults(func=cmd_info)

    rend = sub.add_parser("render", help="write the display rendering of a frame as an image")
    rend.add_argument("file", help="DICOM, PNG, JPEG or TIFF file")
    rend.add_argument("out", help="output image (.png, .jpg or .tif)")
    rend.add_argument("--frame", type=int, default=0, metavar="N", help="frame index, from 0 (default 0)")
    rend.add_argument(
        "--window", nargs=2, type=float, metavar=("CENTER", "WIDTH"), help="window instead of the default"
    )
    rend.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    rend.set_defaults(func=cmd_render)

    pred = sub.add_parser(
        "predict",
        help="run the AI (with its gate) on study files, folders, DICOMDIRs or ZIP archives",
        description="Folders are walked recursively, a DICOMDIR opens the images it indexes, a ZIP archive "
        "is unpacked safely into a private temporary folder; the same image found twice is scored once.",
    )
    pred.add_argument(
        "files",
        nargs="+",
        metavar="PATH",
        help="DICOM, PNG, JPEG or TIFF files, folders, DICOMDIRs, ZIP archives",
    )
    pred.add_argument("--json", action="store_true", help="one JSON object per line")
    _add_model_options(pred)
    pred.add_argument(
        "--csv",
        default=None,
        metavar="OUT",
        help="also write a worklist CSV, one row a study (written atomically)",
    )
    pred.add_argument("--force", action="store_true", help="overwrite the --csv file if it exists")
    pred.add_argument(
        "--include-patient",
        action="store_true",
        help="put patient name, ID, birth date, study date and accession in the CSV (left out by default)",
    )
    pred.add_argument(
        "--progress",
        choices=("auto", "always", "never"),
        default="auto",
        help="progress bar on stderr: auto shows it when stderr is a terminal (default auto)",
    )
    pred.add_argument(  # 8: viewer.core.model.triage.TRIAGE_BATCH (not imported: it loads ONNX Runtime)
        "--batch-size", type=int, default=8, metavar="N", help="images per model call (default 8)"
    )
    pred.set_defaults(func=cmd_predict)

    rep = sub.add_parser(
        "report",
        help="run the AI and write DICOM SC + SR and/or a PDF report (anonymised unless asked)",
        description="Run the AI on STUDY (headless) and write into DIR what the viewer's File > Export DICOM "
        "SC + SR and Export PDF report write: a Secondary Capture of the default view with heatmap and "
        "footer, a TID 1500 Structured Report and a one-page PDF. Without --sc/--sr/--pdf all three. "
        "Patient data are removed (PS3.15 basic profile) unless --include-patient-data.",
    )
    rep.add_argument("study", metavar="STUDY", help="DICOM, PNG, JPEG or TIFF file")
    rep.add_argument("--out", required=True, metavar="DIR", help="folder for the reports (must exist)")
    rep.add_argument("--sc", action="store_true", help="DICOM Secondary Capture of the view")
    rep.add_argument("--sr", action="store_true", help="DICOM Structured Report (TID 1500) of the result")
    rep.add_argument("--pdf", action="store_true", help="one-page PDF report")
    rep.add_argument(
        "--include-patient-data",
        action="store_true",
        help="copy the patient and study identifiers (default: de-identified, new UIDs)",
    )
    rep.add_argument("--force", action="store_true", help="replace report files that exist")
    _add_model_options(rep)
    rep.set_defaults(func=cmd_report)
    return parser, sub


# --- info -----------------------------------------------------------------------------------------


def window_dict(window: WindowPreset | VoiLut) -> dict:
    if isinstance(window, VoiLut):
        return {
            "type": "voi_lut",
            "name": window.name,
            "first_mapped": window.first_mapped,
            "entries": int(len(window.lut)),
            "bits": window.bits,
        }
    return {
        "type": "window",
        "name": window.name,
        "center": round(float(window.center), 4),
        "width": round(float(window.width), 4),
        "function": window.function,
    }


def describe(study: Study, tags: bool = False) -> dict:
    """Everything ``info`` reports, JSON-serialisable."""
    return describe_meta(
        study.meta,
        study.path,
        window_dict(default_window(study)),
        [window_dict(w) for w in presets(study)],
        frames=study.n_frames,
        tags=tags,
    )


def describe_header(meta: StudyMetadata, path: str, problem: str, tags: bool = False) -> dict:
    """What ``info`` reports when only the header could be read: no automatic window or computed
    presets (they need the pixels), and ``pixel_problem`` says why the pixels are unusable."""
    try:
        default: dict | None = window_dict(default_window(meta))
    except ValueError:  # automatic window: needs the pixel values
        default = None
    out = describe_meta(
        meta, path, default, [window_dict(w) for w in presets(meta)], frames=meta.n_frames, tags=tags
    )
    out["pixel_problem"] = problem
    return out


def describe_meta(
    meta: StudyMetadata,
    path: str,
    default: dict | None,
    windows: list[dict],
    *,
    frames: int,
    tags: bool = False,
) -> dict:
    spacing = meta.pixel_spacing
    out = {
        "file": path,
        "format": meta.source_format,
        "transfer_syntax": meta.transfer_syntax,
        "rows": meta.rows,
        "columns": meta.columns,
        "frames": frames,
        "bits_allocated": meta.bits_allocated,
        "bits_stored": meta.bits_stored,
        "photometric": meta.photometric,
        "presentation_lut_shape": meta.presentation_lut_shape,
        "inverted_for_display": meta.inverted,
        "was_colour": meta.was_colour,
        "default_window": default,
        "presets": windows,
        "pixel_spacing": {"row_mm": spacing.row_mm, "col_mm": spacing.col_mm, "source": spacing.source.value},
        "patient": asdict(meta.patient),
        "study": asdict(meta.study),
        "notices": list(meta.notices),
    }
    if tags:
        out["tags"] = [list(row) for row in meta.raw_tags]
    return out


def _window_text(w: dict | None) -> str:
    if w is None:
        return "automatic (computed from the pixel data)"
    if w["type"] == "voi_lut":
        return f"VOI LUT '{w['name']}' ({w['entries']} entries, {w['bits']}-bit)"
    name = f" '{w['name']}'" if w["name"] else ""
    return f"C {w['center']:g} / W {w['width']:g} {w['function']}{name}"


def format_text(d: dict) -> str:
    p, s, sp = d["patient"], d["study"], d["pixel_spacing"]
    frames = f", {d['frames']} frames" if d["frames"] > 1 else ""
    inversion = "inverted for display (bones bright)" if d["inverted_for_display"] else "not inverted"
    spacing = (
        f"{sp['row_mm']:g} x {sp['col_mm']:g} mm (row x column), source: {sp['source']}"
        if sp["row_mm"]
        else "none (measurements in pixels)"
    )
    age = f" ({p['age_years']:g} years)" if p["age_years"] is not None else ""
    lines = [
        ("File", d["file"]),
        ("Format", d["format"] + (f", {d['transfer_syntax']}" if d["transfer_syntax"] else "")),
        (
            "Size",
            f"{d['columns']} x {d['rows']} pixels{frames}, {d['bits_stored']} of {d['bits_allocated']} bits",
        ),
        ("Photometric", f"{d['photometric']}" + (" (converted to grey)" if d["was_colour"] else "")),
        ("Presentation LUT", d["presentation_lut_shape"] or "-"),
        ("Display", inversion),
        ("Default window", _window_text(d["default_window"])),
        ("Presets", "; ".join(_window_text(w) for w in d["presets"]) or "-"),
        ("Pixel spacing", spacing),
        ("Patient", ", ".join(x for x in (p["name"], p["id"], p["sex"]) if x) or "-"),
        ("Birth date / age", f"{p['birth_date'] or '-'} / {p['age'] or '-'}{age}"),
        ("Study", " ".join(x for x in (s["date"], s["time"], s["description"]) if x) or "-"),
        ("Modality / body part", f"{s['modality'] or '-'} / {s['body_part'] or '-'}"),
        ("View / laterality", f"{s['view_position'] or '-'} / {s['laterality'] or '-'}"),
        ("Institution", s["institution"] or "-"),
        ("Accession", s["accession"] or "-"),
        ("SOP class", s["sop_class"] or "-"),
    ]
    lines += [("Notice", n) for n in d["notices"]]
    if "pixel_problem" in d:
        lines.append(("Pixel data", d["pixel_problem"]))
    text = "\n".join(f"{k + ':':22s}{v}" for k, v in lines)
    if "tags" in d:
        text += "\n\n" + "\n".join(f"{t:13s} {kw:40s} {vr:3s} {val}" for t, kw, vr, val in d["tags"])
    return text


def cmd_info(args: argparse.Namespace) -> int:
    status = 0
    try:
        d = describe(load_study(args.file), tags=args.tags)
    except (CorruptPixelDataError, UnsupportedCompressionError) as exc:
        try:  # the pixels are unusable: describe the header if it can be read
            meta = load_header(args.file)
        except StudyError:
            raise exc from None
        d = describe_header(meta, args.file, exc.message, tags=args.tags)
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        status = EXIT_ERROR
    print(json.dumps(d, indent=2, ensure_ascii=False) if args.json else format_text(d))
    return status


# --- render ---------------------------------------------------------------------------------------


def cmd_render(args: argparse.Namespace) -> int:
    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise CliError(f"output must end in {', '.join(IMAGE_SUFFIXES)}: {out}")
    if out.is_dir():
        raise CliError(f"output is a folder: {out}")
    if not out.parent.resolve().is_dir():
        raise CliError(f"output folder does not exist: {out.parent}")
    if out.exists() and not args.force:
        raise CliError(f"{out} already exists (use --force to overwrite)")
    study = load_study(args.file)
    if not 0 <= args.frame < study.n_frames:
        raise CliError(
            f"--frame {args.frame} is out of range: the study has {study.n_frames} frame(s), 0 to {study.n_frames - 1}"
        )
    frame = study.frames[args.frame]
    window = default_window(study)  # one per series: the same for every --frame
    if args.window is not None:
        center, width = args.window
        if not width > 0:
            raise CliError(f"--window width must be positive, got {width:g}")
        function = window.function if isinstance(window, WindowPreset) else "LINEAR"
        window = WindowPreset(center=center, width=width, name="command line", function=function)
    image = render(frame, study.meta, window)
    ok, encoded = cv2.imencode(suffix, image)
    if not ok:
        raise CliError(f"could not encode {suffix} image")
    try:
        write_atomic(out, encoded.tobytes(), overwrite=bool(args.force))
    except OSError as exc:
        raise CliError(f"cannot write {out}: {exc.strerror or exc}") from None
    print(
        f"{out}: {image.shape[1]} x {image.shape[0]}, frame {args.frame}, {_window_text(window_dict(window))}"
    )
    return 0


# --- predict --------------------------------------------------------------------------------------


def _predict_line(d: dict) -> str:
    prob = "-" if d["probability"] is None else f"{d['probability']:.4f}"
    ood = "-" if d["ood_score"] is None else f"{d['ood_score']:.2f}"
    reasons = " | ".join(d["reasons"]) or "-"
    return (
        f"{d['path']}\t{d['state']}\tprobability {prob}\t{d['label'] or '-'}\tthreshold "
        f"{d['threshold']:.4f} ({d['operating_point']})\tood {ood} / {d['ood_threshold']:.2f}\t{reasons}"
    )


class ProgressBar:
    """A one-line progress bar with rate and ETA on stderr (redrawn at most 10 times a second)."""

    WIDTH = 24

    def __init__(self, stream, enabled: bool):
        self.stream, self.enabled = stream, enabled
        self.t0 = time.monotonic()
        self.last = 0.0
        self.shown = False

    def update(self, done: int, total: int, text: str = "", force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self.last < 0.1):
            return
        self.last = now
        if total:
            rate = done / max(now - self.t0, 1e-6)
            eta = (total - done) / rate if rate > 0 else 0.0
            filled = int(self.WIDTH * done / total)
            line = (
                f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {done}/{total} {rate:.1f}/s ETA {eta:.0f} s"
            )
        else:
            line = text
        self.stream.write(f"\r\x1b[K{line}")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.enabled and self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False

    def restart(self) -> None:
        self.t0 = time.monotonic()
        self.last = 0.0


def cmd_predict(args: argparse.Namespace) -> int:
    from viewer.core.errors import ConflictingCopiesError, DuplicateStudyError
    from viewer.core.io.collection import collect
    from viewer.core.model import ModelError
    from viewer.core.model.inference import PneumoniaModel
    from viewer.core.model.triage import triage

    out = Path(args.csv) if args.csv else None
    if out is not None:
        if out.is_dir():
            raise CliError(f"--csv is a folder: {out}")
        if not out.parent.resolve().is_dir():
            raise CliError(f"--csv folder does not exist: {out.parent}")
        if out.exists() and not args.force:
            raise CliError(f"{out} already exists (use --force to overwrite)")
    if args.batch_size < 1:
        raise CliError(f"--batch-size must be at least 1, got {args.batch_size}")
    try:
        model = PneumoniaModel.load(
            args.model, force_cpu=args.force_cpu
        )  # None: PNEUMOSCOPE_MODEL or shipped
    except ModelError as exc:
        raise CliError(str(exc)) from None
    show = args.progress == "always" or (args.progress == "auto" and sys.stderr.isatty())
    bar = ProgressBar(sys.stderr, show)
    failed = 0
    rows: list[dict[str, str]] = []
    with collect(args.files, progress=lambda done, total, text: bar.update(done, 0, text)) as found:
        bar.clear()
        for problem in found.problems:
            if not isinstance(problem, DuplicateStudyError | ConflictingCopiesError):
                failed += 1
            print(f"{PROG}: {problem.title.lower()}: {problem}", file=sys.stderr)
        total = len(found.entries)
        bar.restart()
        for done, row in enumerate(
            triage(model, found.entries, frame=args.frame, batch_size=args.batch_size), 1
        ):
            path = row.entry.display
            if row.result is None:
                failed += 1
                d = {"path": path, "state": "error", "error": str(row.error)}
                line = json.dumps(d, ensure_ascii=False) if args.json else f"{path}\terror\t{row.error}"
            else:
                d = row.result.to_dict(path)
                line = json.dumps(d, ensure_ascii=False) if args.json else _predict_line(d)
            bar.clear()
            print(line, flush=True)
            bar.update(done, total, force=done == total)
            if out is not None:
                rows.append(csv_row(row, model.info.version, args.include_patient))
        bar.clear()
    if out is not None:
        try:
            write_atomic(
                out, csv_text(rows, args.include_patient).encode("utf-8"), overwrite=bool(args.force)
            )
        except OSError as exc:
            raise CliError(f"cannot write {out}: {exc.strerror or exc}") from None
        print(f"{PROG}: wrote {len(rows)} row(s) to {out}", file=sys.stderr)
    return EXIT_ERROR if failed else 0


# --- report ---------------------------------------------------------------------------------------


def cmd_report(args: argparse.Namespace) -> int:
    from viewer.core.model import ModelError
    from viewer.core.model.inference import PneumoniaModel
    from viewer.core.model.result import analyse
    from viewer.reports import export as reports
    from viewer.reports.write import existing, write_files

    out = Path(args.out)
    if not out.is_dir():
        raise CliError(f"--out must be an existing folder: {out}")
    kinds = tuple(k for k in reports.KINDS if getattr(args, k)) or reports.KINDS
    study = load_study(args.study)
    if not 0 <= args.frame < study.n_frames:
        raise CliError(f"--frame {args.frame} is out of range: the study has {study.n_frames} frame(s)")
    try:
        model = PneumoniaModel.load(args.model, force_cpu=args.force_cpu)
    except ModelError as exc:
        raise CliError(str(exc)) from None
    result = analyse(model, study, args.frame)
    reports.ensure_gui_application()
    view = reports.headless_view(study, result, model.info, args.frame, args.include_patient_data)
    try:
        built = reports.build_reports(args.study, view.body, view.content, out, kinds)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    clash = existing(built.files)
    if clash and not args.force:
        raise CliError(f"{clash[0]} already exists (use --force to overwrite)")
    try:
        written = write_files(built.files, overwrite=bool(args.force))
    except OSError as exc:
        raise CliError(f"cannot write the reports: {exc.strerror or exc}") from None
    print(
        f"{args.study}\t{view.content.state}\t{view.content.finding}\t" + "\t".join(str(p) for p in written)
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser, _ = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (StudyError, CliError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
    except BrokenPipeError:  # output piped into head & co.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - never a traceback for the user
        print(f"{PROG}: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
