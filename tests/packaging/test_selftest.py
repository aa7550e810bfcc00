"""The packaging self-test (``viewer.diagnostics.selftest``) run from source, in-process, with the tiny test model.

The same code runs inside the frozen app (``tests/test_frozen.py``); here it proves the checks themselves:
that they pass on good input, and that each one fails when what it guards is broken.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from viewer.diagnostics import selftest
from viewer.diagnostics.phantoms import chest_phantom, encode_jpeg_lossless, generate_studies
from viewer.diagnostics.selftest import run_self_test
from viewer.diagnostics.selftest_scan import FAMILIES, REQUIRED, Candidate, scan_folder

GENERATED = [f for f in REQUIRED if f != "JPEG-LS"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """The tiny model (contract 2): its ``ood`` output scores roughness, so uniform noise is out of distribution
    but an inverted chest (as smooth as the upright one) is not. Runs of the whole self-test with it leave the
    inverted case out (``without_inverted_case``); ``TestGate`` shows the self-test catching the blind score."""
    pytest.importorskip("onnx")  # the tiny model is built with onnx.helper (train extra)
    from fixtures_models import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("model") / "tiny.onnx")


from viewer.diagnostics.selftest_gate import CASES as ALL_GATE_CASES  # noqa: E402


@pytest.fixture(scope="module")
def without_inverted_case():
    from viewer.diagnostics import selftest_gate

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(
            selftest_gate, "CASES", tuple(c for c in selftest_gate.CASES if c.name != "inverted chest")
        )
        yield


@pytest.fixture(scope="module")
def generated_report(tiny_model, without_inverted_case, tmp_path_factory) -> dict:
    return run_self_test(None, model_path=tiny_model, work_dir=tmp_path_factory.mktemp("selftest"), gui=True)


def _assert_file_result(result: dict) -> None:
    assert result["status"] == "passed", result
    assert math.isfinite(result["probability"]) and 0.0 <= result["probability"] <= 1.0
    assert result["label"] in ("NORMAL", "PNEUMONIA")
    assert result["ai_state"] in ("in scope", "caution", "withheld") and isinstance(
        result["ai_reasons"], list
    )
    export = result["export"]
    back = cv2.imdecode(np.fromfile(export["file"], dtype=np.uint8), cv2.IMREAD_COLOR)
    assert back.shape == (export["rows"], export["columns"], 3)
    assert export["columns"] == result["columns"] and export["rows"] > result["rows"]  # image + footer
    assert {"decode", "render", "predict", "export", "total"} <= set(result["timings_ms"])


class TestGenerated:
    def test_passes(self, generated_report):
        assert generated_report["ok"], generated_report["failures"]
        assert generated_report["failures"] == []
        assert generated_report["mode"] == "generated"

    def test_every_family_but_jpeg_ls_generated_and_passed(self, generated_report):
        families = generated_report["families"]
        for family in GENERATED:
            assert families[family]["status"] == "passed", (family, families[family])
            assert families[family]["required"] is True
        assert families["JPEG-LS"]["status"] == "not generated"
        assert "encoder" in families["JPEG-LS"]["error"]

    def test_file_results(self, generated_report):
        files = generated_report["files"]
        assert sorted(f["family"] for f in files) == sorted(GENERATED)
        for result in files:
            _assert_file_result(result)
            if result["family"] != "JPEG baseline":
                assert result["lossless_roundtrip"] == "exact"
            if result["family"] != "PNG" and result["family"] != "uncompressed":
                assert "pylibjpeg" in result["decoder_plugins"]
                assert result["pylibjpeg_decode"].startswith("ok")
        ts = {f["family"]: f["transfer_syntax_uid"] for f in files}
        assert ts["JPEG lossless"] == "1.2.840.10008.1.2.4.70"
        assert ts["JPEG 2000"] == "1.2.840.10008.1.2.4.90"
        assert ts["RLE"] == "1.2.840.10008.1.2.5"

    def test_report_metadata(self, generated_report):
        env = generated_report["environment"]
        for key in ("app_version", "python", "numpy", "pydicom", "pylibjpeg", "onnxruntime", "opencv", "qt"):
            assert env[key] and "unavailable" not in str(env[key]), key
        assert env["frozen"] is False
        model = generated_report["model"]
        assert model["name"] == "tiny-test-model" and model["bundled"] is False
        assert model["provider_used"] in model["providers_available"]
        assert generated_report["qt"]["status"] == "passed"
        assert generated_report["qt"]["platform"] == "offscreen"
        assert generated_report["timings_ms"]["total"] > 0
        json.dumps(generated_report, allow_nan=False)  # strict JSON: no NaN sneaks in


class TestGate:
    def test_rule_checks_and_the_noise_ood_check_pass(self, generated_report):
        gate = generated_report["gate"]
        assert gate["status"] == "passed" and gate["model_contract"] == "2" and gate["ood_checked"] is True
        assert gate["calibration"] == "calibrated on the training validation split"
        studies = gate["studies"]
        assert studies["blank"]["state"] == "withheld" and "blank" in studies["blank"]["findings"]
        assert studies["colour"]["state"] == "withheld" and "colour" in studies["colour"]["findings"]
        chest = studies["kermany-like chest"]
        assert chest["status"] == "passed" and chest["state"] == "caution"  # a JPEG records no age
        assert chest["findings"] == ["age-unknown"]
        assert (
            studies["uniform noise"]["status"] == "passed"
            and studies["uniform noise"]["findings"][0] == "image-ood"
        )
        assert "inverted chest" not in studies  # left out for the toy model, see tiny_model
        assert generated_report["model"]["contract_version"] == "2"

    def test_with_an_ood_model_noise_is_withheld_and_a_blind_score_is_caught(
        self, tiny_model, tmp_path, monkeypatch
    ):
        from viewer.diagnostics import selftest_gate
        from viewer.diagnostics.selftest_gate import check_gate, gate_failures

        monkeypatch.setattr(selftest_gate, "CASES", ALL_GATE_CASES)  # with the inverted chest

        model = selftest._load_model(tiny_model, False, {}, [])
        gate = check_gate(model, tmp_path)
        assert gate["model_contract"] == "2" and gate["ood_checked"] is True
        studies = gate["studies"]
        noise = studies["uniform noise"]
        assert noise["status"] == "passed" and noise["findings"][0] == "image-ood"
        assert noise["ood_score"] > noise["ood_threshold"] == 1.0
        for name in ("blank", "colour", "kermany-like chest"):
            assert studies[name]["status"] == "passed", studies[name]
        # the tiny model scores roughness: an inverted chest is as smooth as the upright one, so its score
        # stays in distribution and the self-test says so (a real contract-2 model must withhold it)
        inverted = studies["inverted chest"]
        assert inverted["status"] == "failed" and inverted["ood_score"] < 1.0
        assert "not withheld" in inverted["error"]
        assert gate["status"] == "failed"
        assert gate_failures(gate) == [
            f"AI gate: inverted chest should be {inverted['expect']}: {inverted['error']}"
        ]

    def test_without_a_model_the_rules_still_run(self, tmp_path):
        from viewer.diagnostics.selftest_gate import check_gate

        gate = check_gate(None, tmp_path)
        assert gate["status"] == "passed" and gate["ood_checked"] is False
        assert gate["studies"]["blank"]["state"] == "withheld"
        assert gate["studies"]["uniform noise"]["note"] == "no model loaded"


class TestFolder:
    def test_shared_dicom(self, dicom_dir, tiny_model, without_inverted_case, tmp_path):
        report = run_self_test(dicom_dir, model_path=tiny_model, work_dir=tmp_path, gui=False)
        assert report["ok"], report["failures"]
        assert report["mode"] == "folder" and report["files_scanned"] > 50
        files_csv = {}
        for sub in ("chest", "radiographs", "variety", "broken"):
            with open(dicom_dir / sub / "FILES.csv", newline="") as f:
                files_csv.update(
                    {str((dicom_dir / sub / row["file"]).resolve()): row for row in csv.DictReader(f)}
                )
        for family in REQUIRED:
            entry = report["families"][family]
            assert entry["status"] == "passed", (family, entry)
            if family == "PNG":
                continue  # the shared folder has no PNG: the self-test writes one
            row = files_csv[str(Path(entry["file"]).resolve())]
            assert row["ts_uid"] in FAMILIES[family], (family, row["ts_uid"])  # picked by transfer syntax
        assert report["families"]["PNG"]["generated"] is True
        for result in report["files"]:
            if result["status"] == "passed":
                _assert_file_result(result)

    def test_missing_family_fails(self, tiny_model, tmp_path):
        studies = tmp_path / "one"
        gen = [g for g in generate_studies(tmp_path / "all") if g.family == "uncompressed"][0]
        studies.mkdir()
        (studies / "only.dcm").write_bytes(gen.path.read_bytes())
        report = run_self_test(studies, model_path=tiny_model, work_dir=tmp_path / "work", gui=False)
        assert not report["ok"]
        assert report["families"]["uncompressed"]["status"] == "passed"
        assert report["families"]["PNG"]["status"] == "passed"  # written by the self-test
        for family in ("JPEG baseline", "JPEG lossless", "JPEG-LS", "JPEG 2000", "RLE"):
            assert report["families"][family]["status"] == "failed"
            assert any(f.startswith(family + ":") for f in report["failures"])
        assert report["families"]["HTJ2K"]["status"] == "not found"  # optional: not a failure
        assert not any(f.startswith("HTJ2K") for f in report["failures"])

    def test_damaged_candidate_skipped_for_a_good_one(self, tiny_model, tmp_path):
        gen = {g.family: g for g in generate_studies(tmp_path / "generated")}
        good = gen["RLE"].path.read_bytes()
        tmp_path = tmp_path / "scanned"
        (tmp_path / "a_broken").mkdir(parents=True)
        (tmp_path / "a_broken" / "rle.dcm").write_bytes(good[: len(good) // 2])  # truncated
        (tmp_path / "z_ok").mkdir()
        (tmp_path / "z_ok" / "rle.dcm").write_bytes(good)
        found, _ = scan_folder(tmp_path)
        assert [c.path.parent.name for c in found["RLE"]] == ["z_ok", "a_broken"]  # "broken" folders last
        model = selftest._load_model(tiny_model, False, {}, [])
        bad = selftest.check_file(
            Candidate("RLE", tmp_path / "a_broken" / "rle.dcm", "1.2.840.10008.1.2.5"), model, "m", tmp_path
        )
        assert bad["status"] == "failed" and bad["error"].startswith("CorruptPixelDataError")


class TestChecksCanFail:
    def test_missing_model(self, tmp_path):
        report = run_self_test(None, model_path=tmp_path / "nope.onnx", work_dir=tmp_path, gui=False)
        assert not report["ok"]
        assert report["model"]["error"].startswith("ModelNotFoundError")
        # decoding still ran and says how far it got
        assert all("model did not load" in f["error"] for f in report["files"])

    @pytest.mark.parametrize(
        ("probability", "heatmap_shape", "message"),
        [(float("nan"), None, "probability"), (1.5, None, "probability"), (0.5, (7, 7), "heatmap shape")],
    )
    def test_bad_prediction_fails(
        self, tiny_model, tmp_path, monkeypatch, probability, heatmap_shape, message
    ):
        from dataclasses import replace

        model = selftest._load_model(tiny_model, False, {}, [])
        real = model.predict

        def broken(grey):
            pred = real(grey)
            heat = pred.heatmap if heatmap_shape is None else np.zeros(heatmap_shape, np.float32)
            return replace(pred, probability=probability, heatmap=heat)

        monkeypatch.setattr(model, "predict", broken)
        gen = [g for g in generate_studies(tmp_path / "s") if g.family == "PNG"][0]
        result = selftest.check_file(Candidate("PNG", gen.path, ""), model, "m", tmp_path)
        assert result["status"] == "failed" and message in result["error"]

    def test_missing_pylibjpeg_entry_points_fail(self, tiny_model, tmp_path, monkeypatch):
        # What a frozen build without the plugins' dist-info metadata looks like to pydicom.
        monkeypatch.setattr(selftest, "decoder_plugins", lambda tsuid: ["pydicom"])
        gen = [g for g in generate_studies(tmp_path / "s") if g.family == "RLE"][0]
        model = selftest._load_model(tiny_model, False, {}, [])
        result = selftest.check_file(
            Candidate("RLE", gen.path, "1.2.840.10008.1.2.5", gen.expected), model, "m", tmp_path
        )
        assert result["status"] == "failed" and "entry-point metadata" in result["error"]


class TestCommandLine:
    def test_main_writes_json(self, tiny_model, tmp_path, capsys):
        out = tmp_path / "report.json"
        rc = selftest.main(
            [
                "--self-test",
                "--json-out",
                str(out),
                "--model",
                str(tiny_model),
                "--no-gui",
                "--keep",
                str(tmp_path / "keep"),
            ]
        )
        assert rc == 0
        stdout = json.loads(capsys.readouterr().out)
        assert json.loads(out.read_text()) == stdout and stdout["ok"]
        assert (tmp_path / "keep" / "exports").is_dir() and stdout["work_dir"] == str(tmp_path / "keep")

    def test_python_m_viewer_dispatches(self, tiny_model, tmp_path, capsys):
        from viewer.__main__ import main

        rc = main(["--self-test", str(tmp_path / "missing"), "--model", str(tiny_model), "--no-gui"])
        assert rc == 1  # a folder that does not exist: a failure, not a crash
        assert "is not a folder" in json.loads(capsys.readouterr().out)["failures"][0]

    def test_exit_status_on_failure(self, tmp_path, capsys):
        assert selftest.main(["--self-test", "--model", str(tmp_path / "missing.onnx"), "--no-gui"]) == 1
        assert json.loads(capsys.readouterr().out)["ok"] is False


class TestJpegLosslessEncoder:
    @pytest.mark.parametrize("bits", [8, 12, 16])
    def test_roundtrip_through_libjpeg(self, bits):
        libjpeg = pytest.importorskip("libjpeg")
        img = chest_phantom(64, 48, bits=min(bits, 12)).astype(np.uint16) << max(0, bits - 12)
        img = img.astype(np.uint8 if bits == 8 else np.uint16)
        if bits == 16:
            img[0, :2] = (0, 65535)  # a difference of 2**15 and beyond: the modulo-2**16 rule
            img[5, 5:9] = (65535, 0, 65535, 0)
        decoded = libjpeg.decode(encode_jpeg_lossless(img, bits))
        assert decoded.dtype == img.dtype and np.array_equal(decoded, img)

    def test_rejects_bad_input(self):
        with pytest.raises(ValueError):
            encode_jpeg_lossless(np.zeros((2, 2, 3), np.uint8), 8)
        with pytest.raises(ValueError):
            encode_jpeg_lossless(np.zeros((2, 2), np.uint8), 1)
