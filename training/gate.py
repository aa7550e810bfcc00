"""``python -m training gate``: measure the AI gate of an exported model, as the viewer applies it.

Every image takes the app's path (``viewer.core.io.load_study`` -> default window -> the ONE ONNX call ->
``viewer.core.scope.assess``), so the figures are those of the shipped file:

- acceptance (not withheld) on the run's validation split and on a labelled test folder (e.g.
  ``kermany_test_a``), with the OOD score's distribution;
- every image DICOM under ``--dicom`` (a folder tree such as ``../shared/data/dicom``): state, OOD score,
  reasons; files that cannot be opened are listed as such;
- the synthetic cases of ``training.gate_cases`` built from one validation image;
- the AUROC of the OOD score, in-distribution (validation + test folder) against the non-chest DICOMs and
  the synthetic cases.

Writes ``gate.json`` and ``gate.md`` (the table the model card quotes) into ``--out``.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

from training.data import discover, load_split
from training.gate_cases import build_cases
from viewer.core.display import render_default
from viewer.core.errors import StudyError
from viewer.core.files import write_atomic
from viewer.core.io import load_study
from viewer.core.model.inference import PneumoniaModel
from viewer.core.model.result import AiResult, analyse, result_for
from viewer.core.scope import assess
from viewer.core.study import PatientInfo, StudyInfo, StudyMetadata

CHEST_FOLDER = "chest"  # adult chest films: reported, not counted as out of distribution


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, type=Path, help="exported model (.onnx)")
    p.add_argument("--data", type=Path, required=True, help="dataset root of the run (for --split)")
    p.add_argument(
        "--split", type=Path, required=True, help="RUN_DIR/split.csv: its validation subset is scored"
    )
    p.add_argument(
        "--test", type=Path, default=None, help="a labelled {NORMAL,PNEUMONIA} folder (e.g. test_a)"
    )
    p.add_argument(
        "--dicom", type=Path, default=None, help="folder tree of DICOM files (FILES.csv per folder)"
    )
    p.add_argument("--out", type=Path, required=True, help="output folder (gate.json, gate.md)")
    p.add_argument("--threads", type=int, default=0)


def _raster_meta(shape: tuple[int, int]) -> StudyMetadata:
    return StudyMetadata(PatientInfo(), StudyInfo(), "PNG", "", "MONOCHROME2", 8, 8, shape[0], shape[1], 1)


def _score_folder(model: PneumoniaModel, paths: list[str]) -> list[AiResult]:
    out = []
    for i in range(0, len(paths), 16):
        chunk = [load_study(p) for p in paths[i : i + 16]]
        greys = [render_default(s, 0) for s in chunk]
        for s, g, pred in zip(chunk, greys, model.predict_batch(greys), strict=True):
            out.append(result_for(model, s, pred, g))
    return out


def _summary(results: list[AiResult]) -> dict:
    ood = np.array([r.prediction.ood_score for r in results])
    withheld = [r for r in results if r.withheld]
    return {
        "n": len(results),
        "accepted": float(1 - len(withheld) / max(len(results), 1)),
        "withheld": len(withheld),
        "withheld_by_ood": sum(any(f.rule == "image-ood" for f in r.assessment.findings) for r in withheld),
        "ood_median": float(np.median(ood)) if ood.size else None,
        "ood_p99": float(np.percentile(ood, 99)) if ood.size else None,
        "ood_max": float(ood.max()) if ood.size else None,
    }


def _dicom_rows(model: PneumoniaModel, root: Path) -> list[dict]:
    rows = []
    for files_csv in sorted(root.glob("*/FILES.csv")):
        folder = files_csv.parent
        if folder.name == "broken":
            continue
        with open(files_csv, newline="") as f:
            entries = list(csv.DictReader(f))
        for e in entries:
            path = folder / e["file"]
            row = {
                "folder": folder.name,
                "file": e["file"],
                "modality": e.get("modality", ""),
                "body_part": e.get("body_part", ""),
                "purpose": e.get("purpose", ""),
            }
            try:
                r = analyse(model, load_study(path))
            except StudyError as exc:
                rows.append({**row, "state": "error", "reasons": [str(exc)], "ood_score": None})
                continue
            rows.append(
                {
                    **row,
                    "state": r.state.value,
                    "ood_score": float(r.prediction.ood_score),
                    "ood_withheld": any(f.rule == "image-ood" for f in r.assessment.findings),
                    "probability": float(r.prediction.probability),
                    "reasons": r.assessment.reasons,
                }
            )
    return rows


def main(args: argparse.Namespace) -> int:
    from sklearn.metrics import roc_auc_score

    model = PneumoniaModel.load(args.model, force_cpu=True, threads=args.threads or None)
    info = model.info
    _, val = load_split(args.split, args.data)
    report: dict = {"model": f"{info.name} {info.version}", "ood": info.ood}
    val_results = _score_folder(model, [s.path for s in val])
    report["validation"] = _summary(val_results)
    in_scores = [r.prediction.ood_score for r in val_results]
    if args.test:
        test_results = _score_folder(model, [s.path for s in discover(args.test)])
        report["test"] = {"folder": args.test.resolve().name, **_summary(test_results)}
        in_scores += [r.prediction.ood_score for r in test_results]
    out_scores = []
    if args.dicom:
        rows = _dicom_rows(model, args.dicom)
        report["dicom"] = rows
        non_chest = [
            r
            for r in rows
            if r["folder"] != CHEST_FOLDER and r["state"] != "error" and "CHEST" not in r["body_part"].upper()
        ]
        report["dicom_non_chest"] = {
            "n": len(non_chest),
            "withheld": sum(r["state"] == "withheld" for r in non_chest),
            "withheld_by_ood": sum(bool(r.get("ood_withheld")) for r in non_chest),
        }
        out_scores += [r["ood_score"] for r in non_chest]
    base = render_default(load_study(val[0].path), 0)
    synthetic = {}
    for name, img in build_cases(base).items():
        pred = model.predict(img)
        study_meta = _raster_meta(img.shape)
        a = assess(
            study_meta, img.shape, grey=img, ood_score=pred.ood_score, ood_threshold=pred.ood_threshold
        )
        synthetic[name] = {
            "state": a.state.value,
            "ood_score": float(pred.ood_score),
            "ood_withheld": any(f.rule == "image-ood" for f in a.findings),
            "reasons": a.reasons,
        }
        out_scores.append(float(pred.ood_score))
    report["synthetic"] = synthetic
    if out_scores:
        y = np.r_[np.zeros(len(in_scores)), np.ones(len(out_scores))]
        report["ood_auroc_in_vs_out"] = float(roc_auc_score(y, np.r_[in_scores, out_scores]))
    args.out.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out / "gate.json", json.dumps(report, indent=2).encode(), overwrite=True)
    write_atomic(args.out / "gate.md", markdown(report).encode(), overwrite=True)
    print(markdown(report))
    return 0


def markdown(r: dict) -> str:
    thr = r["ood"].get("threshold")
    lines = [
        f"Gate of {r['model']}: OOD threshold {thr:.3f} ({r['ood'].get('quantile')}th percentile of "
        "validation)",
        "",
        "| set | n | accepted | withheld by the OOD score | OOD median / p99 / max |",
        "|---|---|---|---|---|",
    ]
    for key in ("validation", "test"):
        if key in r:
            s = r[key]
            lines.append(
                f"| {s.get('folder', key)} | {s['n']} | {s['accepted']:.1%} | {s['withheld_by_ood']} | "
                f"{s['ood_median']:.2f} / {s['ood_p99']:.2f} / {s['ood_max']:.2f} |"
            )
    if "dicom" in r:
        lines += [
            "",
            "| file | modality / body part | state | OOD score | first reason |",
            "|---|---|---|---|---|",
        ]
        for row in r["dicom"]:
            score = "-" if row.get("ood_score") is None else f"{row['ood_score']:.2f}"
            reason = (row["reasons"] or ["-"])[0].replace("|", "/")
            lines.append(
                f"| {row['folder']}/{row['file'][:40]} | {row['modality'] or '-'} / "
                f"{row['body_part'] or '-'} | {row['state']} | {score} | {reason[:110]} |"
            )
        nc = r["dicom_non_chest"]
        lines.append(
            f"\nNon-chest DICOM images: {nc['withheld']}/{nc['n']} withheld "
            f"({nc['withheld_by_ood']} of them by the image score alone or with tag rules)."
        )
    lines += ["", "| synthetic case | state | OOD score |", "|---|---|---|"]
    for name, s in r["synthetic"].items():
        lines.append(f"| {name} | {s['state']} | {s['ood_score']:.2f} |")
    if "ood_auroc_in_vs_out" in r:
        lines.append(
            f"\nOOD score AUROC, in-distribution (validation + test) vs out (non-chest DICOM + synthetic): "
            f"{r['ood_auroc_in_vs_out']:.4f}"
        )
    return "\n".join(lines) + "\n"


__all__ = ["add_arguments", "main", "markdown"]
