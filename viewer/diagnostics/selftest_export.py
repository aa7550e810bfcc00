"""The export step of the packaging self-test (:mod:`viewer.diagnostics.selftest`), and its failure type.

:func:`render_export` draws what a report export holds (image + heatmap by the viewer's overlay
compositing + an AI / research-use footer), :func:`write_png_atomic` writes it as the viewer does
(:func:`viewer.core.files.write_atomic`: temporary file in the same folder, then ``os.replace``) and
:func:`check_export` reads it back and checks size, pixels and that no temporary file is left.
Qt-free (OpenCV draws the footer), so a broken Qt in a build shows only in the self-test's Qt check.

:class:`CheckFailed` and :func:`check` are shared with :mod:`viewer.diagnostics.selftest`: a failed check is
reported by its message alone, any other exception with a traceback.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from viewer.config import RESEARCH_USE
from viewer.core.files import write_atomic

FOOTER_TEXT = RESEARCH_USE


class CheckFailed(Exception):
    """A self-test check did not hold; the message says which."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def _footer(width: int, lines: list[str]) -> np.ndarray:
    scale = max(0.4, min(1.2, width / 1400.0))
    thick = 1 if scale < 0.8 else 2
    line_h = int(round(30 * scale))
    band = np.full((line_h * len(lines) + line_h // 2, width, 3), 24, dtype=np.uint8)
    for i, text in enumerate(lines):
        y = line_h * (i + 1) - line_h // 4
        cv2.putText(
            band,
            text,
            (int(8 * scale) + 4, y),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            (235, 235, 235),
            thick,
            cv2.LINE_AA,
        )
    return band


def render_export(grey_u8, prediction, model_line: str) -> np.ndarray:
    """RGB export: image + heatmap (the viewer's overlay compositing) + an AI / research-use footer."""
    from viewer.core import overlay

    norm = overlay.normalise_cam(prediction.heatmap, overlay.ScaleMode.MODEL, prediction.heatmap_scale)
    image = overlay.composite(grey_u8, norm, overlay.OverlayStyle())
    lines = [
        f"AI: {prediction.label}  p={prediction.probability:.3f}  threshold {prediction.threshold:.3f} "
        f"({prediction.operating_point})",
        model_line,
        FOOTER_TEXT,
    ]
    return np.vstack([image, _footer(image.shape[1], lines)])


def write_png_atomic(rgb, path: Path) -> Path:
    """Encode to PNG and write it with the viewer's atomic writer (:func:`viewer.core.files.write_atomic`)."""
    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise CheckFailed("OpenCV could not encode the export as PNG")
    return write_atomic(path, buf.tobytes())


def check_export(path: Path, rgb, frame_shape) -> None:
    """The written export decodes to exactly ``rgb`` (image + footer below), with no temporary file left."""
    data = np.fromfile(path, dtype=np.uint8)
    back = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    check(back is not None, f"export {path.name} does not decode")
    check(back.shape == rgb.shape, f"export decodes to {back.shape}, expected {rgb.shape}")
    check(back.shape[1] == frame_shape[1] and back.shape[0] > frame_shape[0], "export is not image + footer")
    check(
        np.array_equal(cv2.cvtColor(back, cv2.COLOR_BGR2RGB), rgb), "export pixels changed on the way to disk"
    )
    check(not list(path.parent.glob(f".{path.name}.*")), "temporary file left behind")  # write_atomic's


__all__ = ["FOOTER_TEXT", "CheckFailed", "check", "check_export", "render_export", "write_png_atomic"]
