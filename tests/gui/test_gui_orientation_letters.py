"""Orientation letters (#13): from Patient Orientation or View Position, following flips and rotations."""

from __future__ import annotations

import pytest
from gui_support import block_image, make_window, open_and_wait, write_dicom

from viewer.gui.orientation import Orientation, edge_letters, patient_axes

PA = {"left": "R", "right": "L", "top": "H", "bottom": "F"}


def test_patient_axes_from_the_tags():
    assert patient_axes("L\\F", "") == ("L", "F")
    assert patient_axes("P\\F", "PA") == ("P", "F")  # Patient Orientation first
    assert patient_axes("", "PA") == ("L", "F") == patient_axes("", "ap")  # frontal chest, as displayed
    assert patient_axes("", "LL") is None and patient_axes("", "") is None  # unknown: no letters
    assert patient_axes("X\\F", "") is None and patient_axes("L", "") is None  # malformed: not trusted
    assert patient_axes("LP\\FA", "") == ("LP", "FA")


@pytest.mark.parametrize(
    "ops, expected",
    [
        ((), PA),
        (("flipped_h",), {"left": "L", "right": "R", "top": "H", "bottom": "F"}),
        (("flipped_v",), {"left": "R", "right": "L", "top": "F", "bottom": "H"}),
        (("rotated_cw",), {"left": "F", "right": "H", "top": "R", "bottom": "L"}),
        (("rotated_ccw",), {"left": "H", "right": "F", "top": "L", "bottom": "R"}),
        (("rotated_cw", "rotated_cw"), {"left": "L", "right": "R", "top": "F", "bottom": "H"}),
        (("rotated_cw", "flipped_h"), {"left": "H", "right": "F", "top": "R", "bottom": "L"}),
        (("flipped_h", "rotated_cw"), {"left": "F", "right": "H", "top": "L", "bottom": "R"}),
    ],
)
def test_edge_letters_follow_the_display_orientation(ops, expected):
    o = Orientation()
    for op in ops:
        o = getattr(o, op)()
    assert edge_letters(("L", "F"), o) == expected
    assert edge_letters(None, o) == {}
    assert edge_letters(("LP", "F"), Orientation().flipped_h())["left"] == "LP"


def test_letters_on_the_view_before_and_after_flip_and_rotate(qtbot, tmp_path):
    import pydicom

    pa = write_dicom(tmp_path / "pa.dcm", block_image(), view="PA")
    lat = write_dicom(tmp_path / "lat.dcm", block_image(), view="LL")
    ds = pydicom.dcmread(lat)
    ds.PatientOrientation = ["P", "F"]
    ds.save_as(lat, enforce_file_format=True)
    unknown = write_dicom(tmp_path / "unknown.dcm", block_image(), view="LL")
    win = make_window(qtbot, load_model=False)
    ids = open_and_wait(qtbot, win, [pa, lat, unknown])
    letters = win.display.letters
    win.select_entry(ids[0])
    assert letters.letters == PA and letters.isVisible()
    win.actions_["flip_h"].trigger()
    assert letters.letters == {"left": "L", "right": "R", "top": "H", "bottom": "F"}
    win.actions_["rotate_cw"].trigger()  # the mirrored film turned: its left edge (L) goes to the top
    assert letters.letters == {"left": "F", "right": "H", "top": "L", "bottom": "R"}
    win.actions_["reset"].trigger()
    assert letters.letters == PA
    win.actions_["flip_h"].trigger()
    win.select_entry(ids[1])  # Patient Orientation P\F: a lateral film facing left
    assert letters.letters == {"left": "A", "right": "P", "top": "H", "bottom": "F"}
    win.select_entry(ids[2])  # a lateral without Patient Orientation: unknown, no letters
    assert letters.letters == {}
    win.select_entry(ids[0])
    assert letters.letters == {"left": "L", "right": "R", "top": "H", "bottom": "F"}  # kept with the study
    win.close_entry(ids[0])
    win.close_entry(ids[1])
    win.close_entry(ids[2])
    assert letters.letters == {}
