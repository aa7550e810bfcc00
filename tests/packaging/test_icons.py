"""The application icons: the committed files under assets/icons exist and load, and drawing them again with
the build-time tool ``packaging/make_icons.py`` gives the committed pixels (so the files and their source
cannot drift apart). The viewer itself only loads the PNG (``viewer.gui.icons.app_icon``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from viewer.config import ICON_FILES

ROOT = Path(__file__).resolve().parents[2]
ICONS = ROOT / "assets" / "icons"
sys.path.insert(0, str(ROOT / "packaging"))
import make_icons  # noqa: E402 - a script folder, like bundle_rules (see build.spec)

# Qt's raster engine and Pillow's resampling are deterministic for one version; another version may move
# antialiased edge pixels by a grey level or two. A change of the drawing moves far more than this.
MAX_MEAN_DIFF, MAX_SHARE_OFF_BY_MORE_THAN_2 = 0.05, 0.001


def _rgba(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGBA"), dtype=np.int16)


def _assert_close(new: np.ndarray, old: np.ndarray, what: str) -> None:
    assert new.shape == old.shape, what
    diff = np.abs(new - old)
    assert diff.mean() <= MAX_MEAN_DIFF and (diff > 2).mean() <= MAX_SHARE_OFF_BY_MORE_THAN_2, (
        f"{what} differs from what packaging/make_icons.py draws: run `python packaging/make_icons.py` "
        "and commit assets/icons"
    )


def test_the_committed_icons_exist_and_load(qapp):
    from viewer.gui.icons import app_icon

    for name in ICON_FILES.values():
        assert (ICONS / name).is_file(), name
    with Image.open(ICONS / ICON_FILES["png"]) as png:
        assert png.size == (make_icons.PNG_SIZE, make_icons.PNG_SIZE) and png.mode == "RGBA"
    with Image.open(ICONS / ICON_FILES["ico"]) as ico:
        assert set(make_icons.ICO_SIZES) <= set(ico.info["sizes"])
    with Image.open(ICONS / ICON_FILES["icns"]) as icns:
        assert icns.format == "ICNS"
    icon = app_icon()
    assert not icon.isNull() and not icon.pixmap(64, 64).isNull()


def test_the_product_does_not_draw_the_app_icon():
    import viewer.gui.icons as icons

    assert not hasattr(icons, "render_app_icon") and not hasattr(icons, "write_icon_files")


def test_drawing_again_gives_the_committed_icons(qapp, tmp_path):
    written = make_icons.write_icon_files(tmp_path)
    assert sorted(p.name for p in written) == sorted(ICON_FILES.values())
    for name in ICON_FILES.values():
        with Image.open(tmp_path / name) as new, Image.open(ICONS / name) as old:
            assert new.format == old.format and new.size == old.size, name
            if new.format == "ICO":  # every size inside the .ico
                assert new.info["sizes"] == old.info["sizes"], name
                for size in sorted(new.info["sizes"]):
                    new.size = old.size = size  # Pillow's way of choosing an image inside an .ico
                    _assert_close(_rgba(new), _rgba(old), f"{name} at {size}")
            else:
                _assert_close(_rgba(new), _rgba(old), name)


def test_make_icons_runs_as_a_script(tmp_path):
    run = subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "make_icons.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(ICON_FILES.values())
