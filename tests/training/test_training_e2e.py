"""End to end on a few dozen real Kermany images: train, resume, evaluate, export, evaluate the ONNX file.

One module-scoped run (the expensive part, ~1 minute on a busy 2-core machine) feeds every test:
``train`` 2 epochs of 2 steps from random weights, ``train --resume`` to epoch 3, ``evaluate`` of the
checkpoint on the official 16-image val folder and on the run's own validation subset, ``export`` to
ONNX and ``evaluate`` of the ONNX file through the viewer's runtime.
"""

from __future__ import annotations

import csv
import json
import math
import re
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("sklearn")

from shared_data import require_shared  # noqa: E402

from training.__main__ import COMMANDS, build_parser  # noqa: E402
from training.__main__ import main as cli  # noqa: E402
from training.data import discover, load_split, pneumonia_subtype  # noqa: E402
from training.report import FORMATS, MISSING, lookup  # noqa: E402
from training.train import config_from_args  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.shared, pytest.mark.slow]


def _read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def e2e(kermany_dir: Path, tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("e2e")
    run, cache = tmp / "run", tmp / "cache"
    # ImageNet weights, as the real recipe: from random weights a 6-step model scores every image the same,
    # and the comparisons below would compare constants.
    weights = require_shared("weights", "mobilenet_v2_imagenet.pth")
    base = [
        "train",
        "--data",
        str(kermany_dir),
        "--out",
        str(run),
        "--init",
        str(weights),
        "--limit",
        "40",
        "--freeze-epochs",
        "1",
        "--max-steps",
        "2",
        "--batch-size",
        "8",
        "--no-progress",
        "--cache-dir",
        str(cache),
        "--threads",
        "2",
    ]
    first = [*base, "--epochs", "2"]
    assert cli(first) == 0
    after_first = {
        "log": _read_csv(run / "epochs.csv"),
        "last": torch.load(run / "last.pt", map_location="cpu", weights_only=False),
    }
    resumed = [*base, "--epochs", "3", "--resume"]
    assert cli(resumed) == 0

    val_dir = kermany_dir / "val"
    common = ["--bootstrap", "200", "--gradcam-n", "2", "--sheet-n", "6", "--no-progress", "--threads", "2"]
    assert (
        cli(
            [
                "evaluate",
                "--model",
                str(run / "best.pt"),
                "--data",
                str(val_dir),
                "--out",
                str(tmp / "rep_pt"),
                *common,
            ]
        )
        == 0
    )
    assert (
        cli(
            [
                "evaluate",
                "--model",
                str(run / "best.pt"),
                "--data",
                str(kermany_dir),
                "--split-file",
                str(run / "split.csv"),
                "--subset",
                "val",
                "--out",
                str(tmp / "rep_split"),
                "--operating-point",
                "balanced",
                *common,
            ]
        )
        == 0
    )
    onnx_path = tmp / "model.onnx"
    assert (
        cli(
            [
                "export",
                "--checkpoint",
                str(run / "best.pt"),
                "--data",
                str(kermany_dir),
                "--out",
                str(onnx_path),
                "--ood-components",
                "8",
            ]
        )
        == 0
    )
    assert (
        cli(
            [
                "evaluate",
                "--model",
                str(onnx_path),
                "--data",
                str(val_dir),
                "--out",
                str(tmp / "rep_onnx"),
                *common,
            ]
        )
        == 0
    )
    return {
        "tmp": tmp,
        "run": run,
        "first": first,
        "resumed": resumed,
        "after_first": after_first,
        "val_dir": val_dir,
        "data": kermany_dir,
    }


# --------------------------------------------------------------------------- training


def test_checkpoints_and_run_files_exist(e2e):
    run = e2e["run"]
    for name in ("best.pt", "last.pt", "split.csv", "epochs.csv", "calibration.json", "val_predictions.csv"):
        assert (run / name).is_file(), name
    best = torch.load(run / "best.pt", map_location="cpu", weights_only=False)
    cal = best["calibration"]
    assert cal["temperature"] >= 1.0 and cal["heatmap_scale"] > 0
    assert set(cal["operating_points"]) == {"high_sensitivity", "balanced"}
    assert json.loads((run / "calibration.json").read_text()) == json.loads(json.dumps(cal))


def test_resume_continues_the_epoch_counter(e2e):
    first_log, first_last = e2e["after_first"]["log"], e2e["after_first"]["last"]
    assert [int(r["epoch"]) for r in first_log] == [1, 2]
    assert first_last["epoch"] == 1
    log = _read_csv(e2e["run"] / "epochs.csv")
    assert [int(r["epoch"]) for r in log] == [1, 2, 3]
    assert [r["stage"] for r in log] == ["frozen", "finetune", "finetune"]
    assert log[:2] == first_log  # the resumed run kept the first two rows untouched
    last = torch.load(e2e["run"] / "last.pt", map_location="cpu", weights_only=False)
    assert last["epoch"] == 2
    # the optimiser and scheduler state carried over: 3 epochs x 2 steps in total, not 1 x 2
    assert last["scheduler"]["last_epoch"] == 6
    assert first_last["scheduler"]["last_epoch"] == 4


def test_config_in_checkpoint_equals_arguments(e2e):
    last = torch.load(e2e["run"] / "last.pt", map_location="cpu", weights_only=False)
    expected = asdict(config_from_args(build_parser().parse_args(e2e["resumed"])))
    assert last["config"] == expected
    assert (last["config"]["epochs"], last["config"]["limit"], last["config"]["batch_size"]) == (3, 40, 8)
    assert last["config"]["max_steps"] == 2 and last["config"]["progress"] is False
    assert e2e["after_first"]["last"]["config"]["epochs"] == 2


def test_split_of_the_limited_run_is_patient_grouped(e2e):
    from training.data import patient_key

    train, val = load_split(e2e["run"] / "split.csv", e2e["data"])
    assert len(train) + len(val) == 40
    assert {s.label for s in val} == {0, 1}
    assert not {patient_key(s.name) for s in train} & {patient_key(s.name) for s in val}


# --------------------------------------------------------------------------- evaluation


def _metrics(rep: Path) -> dict:
    return json.loads((rep / "metrics.json").read_text())


def _same(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    return (
        b is not None and not (isinstance(b, float) and math.isnan(b)) and math.isclose(a, b, abs_tol=1e-12)
    )


@pytest.mark.parametrize("rep", ["rep_pt", "rep_split", "rep_onnx"])
def test_evaluate_writes_all_outputs(e2e, rep):
    out = e2e["tmp"] / rep
    for name in (
        "metrics.json",
        "predictions.csv",
        "report.html",
        "roc.png",
        "pr.png",
        "confusion.png",
        "reliability.png",
        "histograms.png",
        "gradcam.png",
    ):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    m = _metrics(out)
    required = {
        "n",
        "accuracy",
        "precision",
        "recall",
        "specificity",
        "f1",
        "roc_auc",
        "roc_auc_ci95",
        "average_precision",
        "ece",
        "threshold",
        "operating_point",
        "confusion_matrix",
        "subtype_sensitivity",
    }
    assert required <= set(m)
    assert set(m["confusion_matrix"]) == {"tn", "fp", "fn", "tp"}
    assert set(m["subtype_sensitivity"]) == {"bacteria", "virus"}
    lo, hi = m["roc_auc_ci95"]
    assert lo <= hi and 0.0 <= lo and hi <= 1.0


@pytest.mark.parametrize("rep", ["rep_pt", "rep_split", "rep_onnx"])
def test_metrics_equal_sklearn_on_predictions_csv(e2e, rep):
    from sklearn.metrics import (
        accuracy_score,
        average_precision_score,
        confusion_matrix,
        f1_score,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    out = e2e["tmp"] / rep
    m = _metrics(out)
    rows = _read_csv(out / "predictions.csv")
    assert list(rows[0]) == ["file", "label", "probability", "prediction", "logit", "subtype"]
    y = np.array([int(r["label"]) for r in rows])
    p = np.array([float(r["probability"]) for r in rows])
    pred = np.array([int(r["prediction"]) for r in rows])
    assert m["n"] == len(rows)
    np.testing.assert_array_equal(pred, (p >= m["threshold"]).astype(int))
    assert _same(m["accuracy"], accuracy_score(y, pred))
    assert _same(m["precision"], precision_score(y, pred, zero_division=np.nan))
    assert _same(m["recall"], recall_score(y, pred, zero_division=np.nan))
    assert _same(m["specificity"], recall_score(y, pred, pos_label=0, zero_division=np.nan))
    assert _same(m["f1"], f1_score(y, pred, zero_division=np.nan) if (pred.sum() + y.sum()) else None)
    assert _same(m["roc_auc"], roc_auc_score(y, p))
    assert _same(m["average_precision"], average_precision_score(y, p))
    tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
    assert m["confusion_matrix"] == {"tn": tn, "fp": fp, "fn": fn, "tp": tp}
    for sub in ("bacteria", "virus"):
        sel = np.array([int(r["label"]) == 1 and pneumonia_subtype(r["file"]) == sub for r in rows])
        expected = pred[sel].mean() if sel.any() else None
        assert _same(m["subtype_sensitivity"][sub], expected)


def test_evaluate_scores_the_requested_images(e2e):
    rows = _read_csv(e2e["tmp"] / "rep_pt" / "predictions.csv")
    assert [r["file"] for r in rows] == [s.rel for s in discover(e2e["val_dir"])]
    assert sum(r["subtype"] == "bacteria" for r in rows) == 8
    _, val = load_split(e2e["run"] / "split.csv", e2e["data"])
    split_rows = _read_csv(e2e["tmp"] / "rep_split" / "predictions.csv")
    assert [r["file"] for r in split_rows] == [s.rel for s in val]
    m = _metrics(e2e["tmp"] / "rep_split")
    assert m["data"]["subset"] == "val" and m["operating_point"] == "balanced"
    best = torch.load(e2e["run"] / "best.pt", map_location="cpu", weights_only=False)
    assert m["threshold"] == pytest.approx(best["calibration"]["operating_points"]["balanced"])


def test_checkpoint_evaluation_matches_the_training_run(e2e):
    """Scoring the run's validation subset through the app's decode path reproduces the run's own
    calibrated validation probabilities (computed there from the decoded-image cache)."""
    val_rows = {r["file"]: float(r["probability"]) for r in _read_csv(e2e["run"] / "val_predictions.csv")}
    ours = {
        r["file"]: float(r["probability"]) for r in _read_csv(e2e["tmp"] / "rep_split" / "predictions.csv")
    }
    assert ours.keys() == val_rows.keys()
    for f, prob in ours.items():
        assert prob == pytest.approx(val_rows[f], abs=1e-4), f


def test_onnx_and_checkpoint_give_the_same_probabilities(e2e):
    pt = _read_csv(e2e["tmp"] / "rep_pt" / "predictions.csv")
    ox = _read_csv(e2e["tmp"] / "rep_onnx" / "predictions.csv")
    assert [r["file"] for r in pt] == [r["file"] for r in ox]
    assert np.ptp([float(r["probability"]) for r in pt]) > 1e-3  # the model tells the images apart
    diff = max(abs(float(a["probability"]) - float(b["probability"])) for a, b in zip(pt, ox, strict=True))
    assert diff <= 1e-4
    m_pt, m_ox = _metrics(e2e["tmp"] / "rep_pt"), _metrics(e2e["tmp"] / "rep_onnx")
    assert m_ox["model"]["kind"] == "onnx" and m_pt["model"]["kind"] == "pytorch"
    # export refits the validation calibration (and heatmap scale) from its own plain fp32 pass; the run's used
    # channels-last logits, which differ in the last float32 bits
    assert m_ox["threshold"] == pytest.approx(m_pt["threshold"], abs=1e-6)
    assert m_ox["operating_point"] == m_pt["operating_point"]
    assert m_ox["model"]["heatmap_scale"] == pytest.approx(m_pt["model"]["heatmap_scale"], rel=1e-5)


# --------------------------------------------------------------------------- the HTML report

SPAN = re.compile(r'<span class="v" data-key="([^"]+)" data-fmt="([a-z0-9]+)">([^<]*)</span>')


@pytest.mark.parametrize("rep", ["rep_pt", "rep_onnx"])
def test_report_numbers_equal_metrics_json(e2e, rep):
    out = e2e["tmp"] / rep
    m = _metrics(out)
    page = (out / "report.html").read_text(encoding="utf-8")
    found = SPAN.findall(page)
    keys = {k for k, _, _ in found}
    for must in (
        "accuracy",
        "precision",
        "sensitivity",
        "specificity",
        "f1",
        "roc_auc",
        "roc_auc_ci95.0",
        "roc_auc_ci95.1",
        "average_precision",
        "ece",
        "threshold",
        "confusion_matrix.tp",
        "confusion_matrix.tn",
        "confusion_matrix.fp",
        "confusion_matrix.fn",
        "subtype_sensitivity.bacteria",
        "subtype_sensitivity.virus",
        "threshold_table.0.sensitivity",
        "n",
    ):
        assert must in keys, must
    for key, fmt, text in found:
        v = lookup(m, key)
        if v is None:
            assert text == MISSING, key
            continue
        assert text == FORMATS[fmt](v), key  # formatted from metrics.json, character for character
        shown = float(text.rstrip("%")) / (100 if fmt == "pct" else 1)
        tol = {"pct": 5e-4, "num3": 5e-4, "num4": 5e-5, "int": 0}[fmt] + 1e-12
        assert abs(shown - v) <= tol, key
    # the recall/sensitivity in the HTML is the recall of metrics.json
    assert m["recall"] == m["sensitivity"]


def test_report_is_self_contained(e2e):
    out = e2e["tmp"] / "rep_pt"
    page = (out / "report.html").read_text(encoding="utf-8")
    sources = re.findall(r'src="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    pngs = sorted(out.glob("*.png"))
    assert len(sources) == len(pngs)
    assert "<link" not in page and "http://" not in page and "https://" not in page


# --------------------------------------------------------------------------- command line


def test_every_subcommand_has_help(capsys):
    for args in ([], *[[c] for c in COMMANDS]):
        with pytest.raises(SystemExit) as exc:
            cli([*args, "--help"])
        assert exc.value.code == 0
        text = capsys.readouterr().out
        assert text.startswith("usage: python -m training")
    with pytest.raises(SystemExit):
        cli(["evaluate", "--help"])
    text = capsys.readouterr().out
    for option in (
        "--model",
        "--data",
        "--out",
        "--operating-point",
        "--split-file",
        "--subset",
        "--bootstrap",
        "--gradcam-n",
        "--batch-size",
    ):
        assert option in text


def test_python_dash_m_training_help():
    res = subprocess.run(
        [sys.executable, "-m", "training", "--help"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr
    for command in COMMANDS:
        assert command in res.stdout


def test_evaluate_rejects_an_unknown_operating_point(e2e):
    with pytest.raises(ValueError, match="high_sensitivity"):
        cli(
            [
                "evaluate",
                "--model",
                str(e2e["run"] / "best.pt"),
                "--data",
                str(e2e["val_dir"]),
                "--out",
                str(e2e["tmp"] / "rep_bad"),
                "--operating-point",
                "sharpest",
                "--no-progress",
            ]
        )


def test_calibrate_command_refits_the_run_without_touching_the_weights(e2e, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(e2e["run"], run)
    before = torch.load(run / "best.pt", map_location="cpu", weights_only=False)
    assert cli(["calibrate", "--run", str(run), "--min-sensitivity", "0.8", "--threads", "2"]) == 0
    after = torch.load(run / "best.pt", map_location="cpu", weights_only=False)
    assert all(torch.equal(before["model"][k], after["model"][k]) for k in before["model"])
    cal = after["calibration"]
    assert cal["min_sensitivity"] == 0.8
    assert cal["temperature"] == pytest.approx(before["calibration"]["temperature"])
    at = cal["val_metrics"]["operating_points"]
    assert set(at) == {"high_sensitivity", "balanced"}
    assert at["high_sensitivity"]["threshold"] == cal["operating_points"]["high_sensitivity"]
    assert at["high_sensitivity"]["sensitivity"] >= 0.8
    assert json.loads((run / "calibration.json").read_text()) == json.loads(json.dumps(cal))


@pytest.mark.parametrize(
    "recipe",
    [[], ["--aug", "strong", "--swa-start", "1", "--mixup", "0.2", "--no-bf16"]],
    ids=["base", "shipped-recipe-with-mixup"],
)
def test_training_is_deterministic_for_a_seed(kermany_dir, tmp_path, recipe):
    """Same data, seed, thread count and machine -> bit-identical weights (what the model card relies on),
    also with the shipped recipe's augmentation (JPEG re-encoding, erasing), mixup and SWA."""
    weights = require_shared("weights", "mobilenet_v2_imagenet.pth")
    states = []
    for name in ("a", "b"):
        args = ["train", "--data", str(kermany_dir), "--out", str(tmp_path / name), "--init", str(weights),
                "--limit", "24", "--epochs", "2", "--freeze-epochs", "1", "--max-steps", "2", "--batch-size", "8",
                "--no-progress", "--cache-dir", str(tmp_path / "cache"), "--threads", "2", *recipe]  # fmt: skip
        assert cli(args) == 0
        files = ["last.pt"] + (["swa.pt"] if recipe else [])
        states.append(
            [torch.load(tmp_path / name / f, map_location="cpu", weights_only=False)["model"] for f in files]
        )
    for one, two in zip(states[0], states[1], strict=True):
        assert all(torch.equal(one[k], two[k]) for k in one)
    assert (tmp_path / "a" / "split.csv").read_bytes() == (tmp_path / "b" / "split.csv").read_bytes()


def test_resume_refuses_a_different_recipe(e2e, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(e2e["run"], run)
    args = [a if a != str(e2e["run"]) else str(run) for a in e2e["resumed"]]
    with pytest.raises(SystemExit, match="lr"):
        cli([*args, "--lr", "0.1"])


def test_discover_refuses_a_missing_split_folder(kermany_dir):
    from training.data import discover

    with pytest.raises(FileNotFoundError, match="no 'test' split"):
        discover(kermany_dir, "test")
    assert {s.rel.split("/")[0] for s in discover(kermany_dir, "val")} == {"val"}
