"""Drawing an annotation with the mouse: a preview while the button is held, one undo command on release.

The reading view (:class:`viewer.gui.widgets.image_view.ImageView`) forwards left-button drags here when an
annotation tool is active; everything in image coordinates.
"""

from __future__ import annotations

from PySide6 import QtCore

from viewer.gui.annotations.items import Annotation, ArrowAnnotation, EllipseAnnotation, RulerAnnotation
from viewer.gui.annotations.layer import AnnotationLayer

DRAW_TOOLS: dict[str, type[Annotation]] = {
    "arrow": ArrowAnnotation,
    "ellipse": EllipseAnnotation,
    "ruler": RulerAnnotation,
}
MIN_EXTENT_PX = 4  # screen pixels: anything shorter was a click, not a drawing


class DrawGesture:
    """One press-drag-release with a drawing tool on ``layer``."""

    def __init__(self, layer: AnnotationLayer, tool: str, start: QtCore.QPointF, pos: QtCore.QPointF):
        cls = DRAW_TOOLS[tool]
        item = cls(start, pos) if cls is not RulerAnnotation else cls(start, pos, layer.spacing)
        item.setParentItem(layer)  # preview; the undo stack adds it for real on release
        self.layer, self.item = layer, item

    def move(self, pos: QtCore.QPointF) -> None:
        self.item.set_handle(1, pos)

    def finish(self, pos: QtCore.QPointF) -> Annotation | None:
        """Remove the preview; add the annotation through the undo stack unless it was only a click."""
        item = self.item
        item.set_handle(1, pos)
        a, b = item.handles()[0], item.handles()[-1]
        extent = max(abs(b.x() - a.x()), abs(b.y() - a.y())) / max(item.unit(), 1e-9)
        item.setParentItem(None)
        if item.scene() is not None:
            item.scene().removeItem(item)
        if extent < MIN_EXTENT_PX:
            return None
        return self.layer.add(item)
