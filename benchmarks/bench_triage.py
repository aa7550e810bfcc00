"""Batch triage end to end (folder walk + decode + model), and opening a DICOMDIR medium.

    python benchmarks/bench_triage.py [--n 1000] [--batch-size 8] [--decode-threads 1] [--threads N]
                                      [--full-resolution] [--model M.onnx]
    python benchmarks/bench_triage.py --agreement [--n 300]

1. Copies ``--n`` Kermany images (NORMAL and PNEUMONIA alternately, sorted names) from ``../shared`` into a
   temporary folder, then times ``collect([folder])`` (walk + de-duplication hash) and
   ``triage(model, entries)`` (load_for_model + default rendering + predict_batch + gate): time to the first
   result, to all results, images/s, and the peak RSS of the process (``ru_maxrss``) next to its RSS once
   the model is loaded. Then each stage alone on the same files, to show how the time splits: the decode
   (``load_for_model`` or, with ``--full-resolution``, ``load_study``, + ``render_default``, one thread) and
   the model (``predict_batch`` without heatmaps, as the triage calls it, on up to 256 renderings).
2. Builds a DICOMDIR of the shared chest DICOMs with pydicom's ``FileSet`` (missing Type 1 attributes of the
   directory records filled on copies) in a temporary folder, then times pydicom's ``FileSet(DICOMDIR)``,
   ``collect([DICOMDIR])`` and opening every indexed study with ``load_study``.

``--agreement`` instead compares every triage row with the AI panel (``load_study`` + ``analyse``) on real
images: all of ``kermany_test_a``, ``--n`` Kermany training images with a shorter side >= 448 px, the shared
chest DICOMs (the JPEG 2000 ones are decoded reduced), and the large shared radiographs written as grey
JPEGs (decoded reduced): the largest probability difference and the state / label mismatches.

Numbers, not tests; a machine busy with other work (training) makes them slower and noisier: compare runs
made back to back.
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("PNEUMOSCOPE_SHARED", REPO.parent / "shared"))
KERMANY = SHARED / "data" / "kermany" / "train"
CHEST = SHARED / "data" / "dicom" / "chest"


def rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def peak_rss_mb() -> float:
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0
    except ImportError:
        return float("nan")


def pick_kermany(n: int) -> list[Path]:
    normal = sorted((KERMANY / "NORMAL").glob("*.jpeg"))
    pneumonia = sorted((KERMANY / "PNEUMONIA").glob("*.jpeg"))
    mixed = [p for pair in zip(normal, pneumonia, strict=False) for p in pair]
    rest = normal[len(pneumonia) :] + pneumonia[len(normal) :]
    files = (mixed + rest)[:n]
    if len(files) < n:
        sys.exit(f"only {len(files)} Kermany images under {KERMANY}, asked for {n}")
    return files


def bench_triage(args: argparse.Namespace, work: Path) -> None:
    from viewer.core.display import render_default
    from viewer.core.io import load_study
    from viewer.core.io.collection import collect
    from viewer.core.io.load import load_for_model
    from viewer.core.model.inference import PneumoniaModel
    from viewer.core.model.triage import MODEL_DECODE_MIN_SIDE, TRIAGE_BATCH, triage

    if args.batch_size is None:
        args.batch_size = TRIAGE_BATCH
    folder = work / "kermany"
    folder.mkdir()
    for i, src in enumerate(pick_kermany(args.n)):
        shutil.copyfile(src, folder / f"{i:04d}_{src.parent.name}_{src.name}")
    model = PneumoniaModel.load(args.model, threads=args.threads)
    print(
        f"model {model.info.name} {model.info.version} on {model.provider}, "
        f"{model.intra_op_threads} intra-op thread(s); "
        f"RSS after load {rss_mb():.0f} MB"
    )
    decode = "load_study (full resolution)" if args.full_resolution else "load_for_model"
    print(f"triage: batch {args.batch_size}, {args.decode_threads} decode thread(s), {decode}")

    t0, cpu0 = time.perf_counter(), time.process_time()
    found = collect([folder])
    t_collect = time.perf_counter() - t0
    first = None
    n_ok = 0
    states: dict[str, int] = {}
    rows = triage(
        model,
        found.entries,
        batch_size=args.batch_size,
        decode_threads=args.decode_threads,
        full_resolution=args.full_resolution,
    )
    for row in rows:
        if first is None:
            first = time.perf_counter() - t0
        if row.result is not None:
            n_ok += 1
            states[row.result.state.value] = states.get(row.result.state.value, 0) + 1
    total, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    peak = peak_rss_mb()
    n = len(found.entries)
    print(f"triage of {n} Kermany images ({n_ok} scored, {states}):")
    print(f"  collect (walk + hash)    {t_collect * 1000:8.0f} ms")
    print(f"  first result             {first * 1000:8.0f} ms after the walk began")
    print(f"  all results              {total:8.2f} s  -> {n / total:.1f} images/s end to end")
    print(f"  CPU time                 {cpu / n * 1000:8.2f} ms per image (all threads)")
    print(f"  peak RSS                 {peak:8.0f} MB (whole process, model included)")

    # The two stages alone, one thread each, on the same files (the page cache is warm for both).
    def load(path):
        return (
            load_study(path) if args.full_resolution else load_for_model(path, min_side=MODEL_DECODE_MIN_SIDE)
        )

    t1 = time.perf_counter()
    rendered = [render_default(load(e.path)) for e in found.entries]
    decode_only = time.perf_counter() - t1
    print(f"  decode alone             {n / decode_only:8.1f} images/s ({decode} + render_default, 1 thread)")
    sample = rendered[: min(256, n)]
    del rendered
    model.predict_batch(sample[: args.batch_size], chunk_size=args.batch_size, heatmaps=False)  # warm
    t1 = time.perf_counter()
    model.predict_batch(sample, chunk_size=args.batch_size, heatmaps=False)
    model_only = time.perf_counter() - t1
    print(
        f"  model alone              {len(sample) / model_only:8.1f} images/s "
        f"(predict_batch without heatmaps on {len(sample)} rendered)"
    )
    found.close()


def large_radiograph_jpegs(folder: Path, quality: int = 95) -> list[Path]:
    """Every shared radiograph DICOM (chest, radiographs, J2K chests) whose default rendering has a shorter
    side >= 2 * MODEL_DECODE_MIN_SIDE, written as a grey JPEG: real large images the reduced decode applies to."""
    import cv2

    from viewer.core.display import render_default
    from viewer.core.errors import StudyError
    from viewer.core.io import load_study
    from viewer.core.model.triage import MODEL_DECODE_MIN_SIDE

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    names = [*sorted((SHARED / "data" / "dicom").glob("chest/*.dcm"))]
    names += sorted((SHARED / "data" / "dicom").glob("radiographs/*.dcm"))
    names += [SHARED / "data" / "dicom" / "variety" / n for n in ("RG1_J2KR.dcm", "RG1_J2KI.dcm")]
    for path in names:
        try:
            study = load_study(path)
        except StudyError:
            continue
        if study.n_frames != 1 or min(study.frames[0].shape) < 2 * MODEL_DECODE_MIN_SIDE:
            continue
        target = folder / f"{path.stem[:40]}_q{quality}.jpg"
        ok, buf = cv2.imencode(".jpg", render_default(study), [cv2.IMWRITE_JPEG_QUALITY, quality])
        target.write_bytes(buf.tobytes())
        out.append(target)
    return out


def agreement(args: argparse.Namespace, work: Path) -> None:
    """Triage (reduced decode) against the AI panel (load_study + analyse) on real images: max |dp|."""
    from viewer.core.io import load_study
    from viewer.core.io.collection import Entry, Source, SourceKind
    from viewer.core.io.load import load_for_model
    from viewer.core.io.raster import header_size
    from viewer.core.model.inference import PneumoniaModel
    from viewer.core.model.result import analyse
    from viewer.core.model.triage import MODEL_DECODE_MIN_SIDE, triage

    model = PneumoniaModel.load(args.model, threads=args.threads)
    test_a = sorted((SHARED / "data" / "kermany_test_a").glob("*/*.jpeg"))
    chest = sorted(CHEST.glob("*.dcm")) + [SHARED / "data" / "dicom" / "variety" / "RG1_J2KR.dcm"]
    big_train = [
        p for p in sorted(KERMANY.glob("*/*.jpeg")) if min(header_size(p.read_bytes(), "JPEG")[:2]) >= 448
    ]
    sets = {
        "kermany_test_a": test_a,
        "kermany train, short side >= 448": big_train[: args.n],
        "shared chest DICOMs": chest,
    }
    for q in (75, 95):
        sets[f"radiographs as grey JPEG q{q}"] = large_radiograph_jpegs(work / f"jpeg{q}", q)

    for name, paths in sets.items():
        entries = [Entry(p, str(p), Source(str(p), SourceKind.FILE), f"path:{p}") for p in paths]
        worst, mismatches, reduced = 0.0, 0, 0
        for entry, row in zip(entries, triage(model, entries), strict=True):
            panel = analyse(model, load_study(entry.path))
            small = load_for_model(entry.path, min_side=MODEL_DECODE_MIN_SIDE)
            reduced += small.frames[0].shape != (small.meta.rows, small.meta.columns)
            d = abs(row.result.prediction.probability - panel.prediction.probability)
            worst = max(worst, d)
            mismatches += row.result.state is not panel.state or row.result.label != panel.label
        print(f"{name:36s} {len(paths):5d} images, {reduced:4d} decoded reduced: max |p_triage - p_panel| "
              f"{worst:.5f} ({worst:.1e}), {mismatches} state/label mismatches")  # fmt: skip


def _with_record_fields(ds, i: int):
    """Fill what pydicom's default PATIENT/STUDY/SERIES/IMAGE record creators require (Type 1 keys)."""
    from pydicom.uid import generate_uid

    for keyword, value in (
        ("PatientID", f"BENCH{i}"),
        ("StudyDate", "20000101"),
        ("StudyTime", "000000"),
        ("StudyID", "1"),
        ("StudyInstanceUID", generate_uid()),
        ("SeriesInstanceUID", generate_uid()),
        ("SeriesNumber", 1),
        ("InstanceNumber", 1),
        ("Modality", "OT"),
    ):
        if not str(ds.get(keyword, "") or "").strip():
            setattr(ds, keyword, value)
    return ds


def bench_dicomdir(work: Path) -> None:
    import pydicom
    from pydicom.dataset import FileMetaDataset
    from pydicom.fileset import FileSet
    from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

    from viewer.core.io import load_study
    from viewer.core.io.collection import collect

    files = sorted(CHEST.glob("*.dcm"))
    fs = FileSet()
    for i, path in enumerate(files):
        ds = _with_record_fields(pydicom.dcmread(path, force=True), i)
        if "TransferSyntaxUID" not in getattr(ds, "file_meta", {}):  # a file without meta (ACR-NEMA style)
            implicit, little = ds.original_encoding
            ds.file_meta = FileMetaDataset()
            ds.file_meta.TransferSyntaxUID = (
                ImplicitVRLittleEndian
                if implicit
                else ExplicitVRLittleEndian
                if little
                else ExplicitVRBigEndian
            )
            ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID = (
                ds.SOPClassUID, ds.SOPInstanceUID
            )  # fmt: skip
        fs.add(ds)
    medium = work / "medium"
    t0 = time.perf_counter()
    fs.write(medium)
    t_write = time.perf_counter() - t0
    dicomdir = medium / "DICOMDIR"

    t0 = time.perf_counter()
    indexed = FileSet(pydicom.dcmread(dicomdir))
    t_fileset = time.perf_counter() - t0
    t0 = time.perf_counter()
    found = collect([dicomdir])
    t_collect = time.perf_counter() - t0
    t0 = time.perf_counter()
    sizes = [load_study(e.path).meta.rows for e in found.entries]
    t_open = time.perf_counter() - t0
    print(
        f"DICOMDIR of {len(files)} shared chest DICOMs (built with pydicom FileSet in {t_write * 1000:.0f} ms):"
    )
    print(f"  pydicom FileSet(DICOMDIR)  {t_fileset * 1000:8.1f} ms, {len(indexed)} instances")
    print(f"  collect([DICOMDIR])        {t_collect * 1000:8.1f} ms, {len(found.entries)} entries, "
          f"{len(found.problems)} problems")  # fmt: skip
    print(f"  load_study of each         {t_open * 1000:8.0f} ms for {len(sizes)} studies")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="Kermany images to triage (default 1000)")
    parser.add_argument(
        "--batch-size", type=int, default=None, help="images per model call (default: triage's, 8)"
    )
    parser.add_argument("--decode-threads", type=int, default=1, help="decode threads (default 1)")
    parser.add_argument("--threads", type=int, default=None, help="ONNX Runtime intra-op threads")
    parser.add_argument(
        "--full-resolution", action="store_true", help="triage with load_study instead of load_for_model"
    )
    parser.add_argument("--model", default=None, help="model file (default: the shipped one)")
    parser.add_argument(
        "--agreement",
        action="store_true",
        help="instead: triage vs the AI panel on real images (max probability difference)",
    )
    args = parser.parse_args()
    print(f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="pneumoscope-bench-") as tmp:
        if args.agreement:
            agreement(args, Path(tmp))
            return
        bench_triage(args, Path(tmp))
        bench_dicomdir(Path(tmp))


if __name__ == "__main__":
    main()
