"""Batch triage end to end (folder walk + decode + model), and opening a DICOMDIR medium.

    python benchmarks/bench_triage.py [--n 1000] [--batch-size 16] [--decode-threads 1] [--model M.onnx]

1. Copies ``--n`` Kermany images (NORMAL and PNEUMONIA alternately, sorted names) from ``../shared`` into a
   temporary folder, then times ``collect([folder])`` (walk + de-duplication hash) and
   ``triage(model, entries)`` (load_study + default rendering + predict_batch + gate): time to the first
   result, to all results, images/s, and the peak RSS of the process (``ru_maxrss``) next to its RSS once
   the model is loaded. A second line times the model alone on the already-rendered images, to show how
   the time splits between decoding and the model.
2. Builds a DICOMDIR of the shared chest DICOMs with pydicom's ``FileSet`` (missing Type 1 attributes of the
   directory records filled on copies) in a temporary folder, then times pydicom's ``FileSet(DICOMDIR)``,
   ``collect([DICOMDIR])`` and opening every indexed study with ``load_study``.

Numbers, not tests; a machine busy with other work (training) makes them slower and noisier.
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
    from viewer.core.model.inference import PneumoniaModel
    from viewer.core.model.triage import triage

    folder = work / "kermany"
    folder.mkdir()
    for i, src in enumerate(pick_kermany(args.n)):
        shutil.copyfile(src, folder / f"{i:04d}_{src.parent.name}_{src.name}")
    model = PneumoniaModel.load(args.model)
    print(
        f"model {model.info.name} {model.info.version} on {model.provider}; RSS after load {rss_mb():.0f} MB"
    )

    t0 = time.perf_counter()
    found = collect([folder])
    t_collect = time.perf_counter() - t0
    first = None
    n_ok = 0
    states: dict[str, int] = {}
    for row in triage(model, found.entries, batch_size=args.batch_size, decode_threads=args.decode_threads):
        if first is None:
            first = time.perf_counter() - t0
        if row.result is not None:
            n_ok += 1
            states[row.result.state.value] = states.get(row.result.state.value, 0) + 1
    total = time.perf_counter() - t0
    peak = peak_rss_mb()
    print(
        f"triage of {len(found.entries)} Kermany images ({n_ok} scored, {states}), batch {args.batch_size}:"
    )
    print(f"  collect (walk + hash)    {t_collect * 1000:8.0f} ms")
    print(f"  first result             {first * 1000:8.0f} ms after the walk began")
    print(
        f"  all results              {total:8.2f} s  -> {len(found.entries) / total:.1f} images/s end to end"
    )
    print(f"  peak RSS                 {peak:8.0f} MB (whole process, model included)")

    sample = [render_default(load_study(e.path)) for e in found.entries[: min(256, len(found.entries))]]
    t1 = time.perf_counter()
    model.predict_batch(sample, chunk_size=args.batch_size)
    model_only = time.perf_counter() - t1
    print(
        f"  model alone              {len(sample) / model_only:8.1f} images/s (predict_batch on {len(sample)} rendered)"
    )
    found.close()


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
    parser.add_argument("--batch-size", type=int, default=16, help="images per model call (default 16)")
    parser.add_argument("--decode-threads", type=int, default=1, help="decode threads (default 1)")
    parser.add_argument("--model", default=None, help="model file (default: the shipped one)")
    args = parser.parse_args()
    print(f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="pneumoscope-bench-") as tmp:
        bench_triage(args, Path(tmp))
        bench_dicomdir(Path(tmp))


if __name__ == "__main__":
    main()
