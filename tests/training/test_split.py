"""Patient-grouped validation split: unit cases, then the real split of the full Kermany train folder.

The real split uses MANIFEST.csv's sha256 column (``grouped_split(hashes=...)``) instead of hashing
5,216 files, and proves that no patient and no byte-identical file sits on both sides.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from training.data import (
    Sample,
    discover,
    grouped_split,
    load_split,
    patient_key,
    pneumonia_subtype,
    save_split,
)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("person1946_bacteria_4874.jpeg", "PERSON1946"),
        ("person124_virus_246.jpeg", "PERSON124"),
        ("person1_virus_6.jpeg", "PERSON1"),
        ("Person7_Virus_13.JPEG", "PERSON7"),
        ("IM-0115-0001.jpeg", "IM-0115"),
        ("IM-0115-0002.jpeg", "IM-0115"),
        ("NORMAL2-IM-1427-0001.jpeg", "NORMAL2-IM-1427"),
        ("NORMAL2-IM-0587-0001-0002.jpeg", "NORMAL2-IM-0587"),  # a real name with an extra counter
        ("train/NORMAL/IM-0117-0001.jpeg", "IM-0117"),  # folders are ignored
        ("chest_scan.png", "CHEST_SCAN"),  # unknown naming: the file is its own group
    ],
)
def test_patient_key(name, key):
    assert patient_key(name) == key


def test_normal2_and_im_patients_are_different_namespaces():
    assert patient_key("NORMAL2-IM-0115-0001.jpeg") != patient_key("IM-0115-0001.jpeg")


@pytest.mark.parametrize(
    ("name", "subtype"),
    [
        ("person1_bacteria_1.jpeg", "bacteria"),
        ("PNEUMONIA/person3_virus_15.jpeg", "virus"),
        ("IM-0115-0001.jpeg", ""),
        ("NORMAL2-IM-1427-0001.jpeg", ""),
    ],
)
def test_pneumonia_subtype(name, subtype):
    assert pneumonia_subtype(name) == subtype


def _fake(names_labels: list[tuple[str, int]]) -> list[Sample]:
    return [
        Sample(f"/nowhere/{n}", f"train/{'PNEUMONIA' if lab else 'NORMAL'}/{n}", lab)
        for n, lab in names_labels
    ]


def test_grouped_split_merges_patients_and_identical_files():
    samples = _fake(
        [(f"person{p}_bacteria_{k}.jpeg", 1) for p in range(20) for k in range(p % 3 + 1)]
        + [(f"IM-{p:04d}-000{k}.jpeg", 0) for p in range(20) for k in range(1, p % 2 + 2)]
    )
    hashes = [f"h{i}" for i in range(len(samples))]
    # person3 and person4 share one byte-identical image: they must land on the same side
    i3 = next(i for i, s in enumerate(samples) if s.name.startswith("person3_"))
    i4 = next(i for i, s in enumerate(samples) if s.name.startswith("person4_"))
    hashes[i4] = hashes[i3]
    for seed in range(10):
        train, val = grouped_split(samples, 0.25, seed=seed, hashes=hashes)
        assert sorted(s.rel for s in train + val) == sorted(s.rel for s in samples)
        tr_pat, va_pat = {patient_key(s.name) for s in train}, {patient_key(s.name) for s in val}
        assert not tr_pat & va_pat
        assert ("PERSON3" in va_pat) == ("PERSON4" in va_pat)
        assert {s.label for s in val} == {0, 1}


def test_split_file_round_trip(tmp_path: Path):
    samples = _fake(
        [
            ("person1_virus_1.jpeg", 1),
            ("person2_virus_2.jpeg", 1),
            ("IM-0001-0001.jpeg", 0),
            ("IM-0002-0001.jpeg", 0),
        ]
    )
    train, val = grouped_split(samples, 0.5, seed=0, hashes=["a", "b", "c", "d"])
    save_split(tmp_path / "split.csv", train, val, seed=0, root="/nowhere")
    tr2, va2 = load_split(tmp_path / "split.csv", "/nowhere")
    assert [(s.rel, s.label) for s in tr2] == [(s.rel, s.label) for s in train]
    assert [(s.rel, s.label) for s in va2] == [(s.rel, s.label) for s in val]
    assert (tmp_path / "split.csv").read_text().startswith("# seed=0 root=/nowhere")


# --------------------------------------------------------------------------- the real data


@pytest.fixture(scope="module")
def kermany_train(kermany_dir: Path):
    samples = discover(kermany_dir, split="train")
    with open(kermany_dir / "MANIFEST.csv", newline="") as f:
        sha = {(r["split"], r["label"], r["file"]): r["sha256"] for r in csv.DictReader(f)}
    hashes = [sha[("train", ("NORMAL", "PNEUMONIA")[s.label], s.name)] for s in samples]
    return samples, hashes


@pytest.fixture(scope="module")
def real_split(kermany_train):
    samples, hashes = kermany_train
    return grouped_split(samples, 0.15, seed=0, hashes=hashes)


def test_real_train_folder_is_complete(kermany_train):
    samples, hashes = kermany_train
    assert Counter(s.label for s in samples) == {0: 1341, 1: 3875}
    assert len(set(hashes)) < len(hashes)  # the folder really has byte-identical files to keep together


def test_real_split_has_no_patient_on_both_sides(real_split):
    train, val = real_split
    assert not {s.rel for s in train} & {s.rel for s in val}
    overlap = {patient_key(s.name) for s in train} & {patient_key(s.name) for s in val}
    assert not overlap, f"patients on both sides: {sorted(overlap)[:5]}"


def test_real_split_has_no_identical_file_on_both_sides(real_split, kermany_train):
    samples, hashes = kermany_train
    sha = {s.rel: h for s, h in zip(samples, hashes, strict=True)}
    train, val = real_split
    shared = {sha[s.rel] for s in train} & {sha[s.rel] for s in val}
    assert not shared


def test_real_split_is_stratified(real_split):
    train, val = real_split
    n = len(train) + len(val)
    assert len(val) / n == pytest.approx(0.15, abs=0.02)
    for label in (0, 1):
        share = sum(s.label == label for s in val) / sum(s.label == label for s in train + val)
        assert share == pytest.approx(0.15, abs=0.02)
    prevalence = [sum(s.label for s in part) / len(part) for part in (train, val)]
    assert prevalence[0] == pytest.approx(prevalence[1], abs=0.03)


def test_real_split_is_deterministic_per_seed(kermany_train, real_split):
    samples, hashes = kermany_train
    again = grouped_split(samples, 0.15, seed=0, hashes=hashes)
    assert [s.rel for s in again[1]] == [s.rel for s in real_split[1]]
    other = grouped_split(samples, 0.15, seed=1, hashes=hashes)
    assert {s.rel for s in other[1]} != {s.rel for s in real_split[1]}
