"""What an annotation is, without any graphics: the exported :class:`Shape`, length text, and the two small
interfaces the undo commands work through (so :mod:`.commands` needs neither the items nor the layer).

Import direction inside this package: ``model`` / ``style`` -> ``commands`` -> ``items`` -> ``layer`` -> ``tool``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

from viewer.core.study import PixelSpacing, SpacingSource

KINDS = ("arrow", "text", "ellipse", "ruler")

_SOURCE_LABEL = {
    SpacingSource.DETECTOR: "detector plane",
    SpacingSource.CALIBRATED: "calibrated",
    SpacingSource.UNKNOWN: "plane unknown",
}


def format_length(dx_px: float, dy_px: float, spacing: PixelSpacing | None) -> str:
    """Length of an image vector (columns, rows) as shown on a ruler.

    ``"42.3 mm (detector plane)"`` when the spacing is usable (the row and column spacings may differ),
    ``"120 px (no calibration)"`` otherwise.
    """
    if spacing is not None and spacing.usable:
        mm = math.hypot(dx_px * float(spacing.col_mm), dy_px * float(spacing.row_mm))
        return f"{mm:.1f} mm ({_SOURCE_LABEL.get(spacing.source, spacing.source.value)})"
    return f"{math.hypot(dx_px, dy_px):.0f} px (no calibration)"


@dataclass(frozen=True)
class Shape:
    """An annotation in image coordinates, for exports: kind + points (+ text)."""

    kind: str  # one of KINDS
    points: tuple[
        tuple[float, float], ...
    ]  # arrow/ruler: tail, head; ellipse: two rect corners; text: anchor
    text: str = ""


class Editable(Protocol):
    """An annotation as the undo commands see it (an :class:`~.items.Annotation`)."""

    kind: str

    def setPos(self, pos: Any) -> None: ...

    def set_geometry(self, geometry: Any) -> None: ...


class Host(Protocol):
    """What holds annotations, as commands and items see it (an :class:`~.layer.AnnotationLayer`)."""

    def attach(self, item: Any) -> None: ...

    def detach(self, item: Any) -> None: ...

    def push(self, command: Any) -> None: ...

    def selected(self) -> list[Any]: ...
