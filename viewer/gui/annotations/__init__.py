"""Annotations in image coordinates (arrow, text, ellipse, ruler) with undo.

Layers, each importing only those before it: :mod:`.model` (shapes, length text, interfaces) and
:mod:`.style` (colours, label box) -> :mod:`.commands` (undo) -> :mod:`.items` (graphics items) ->
:mod:`.layer` (one study's annotations + undo stack) -> :mod:`.tool` (drawing with the mouse).
"""

from viewer.gui.annotations.commands import AddCommand, GeometryCommand, MoveCommand, RemoveCommand
from viewer.gui.annotations.items import (
    Annotation,
    ArrowAnnotation,
    EllipseAnnotation,
    RulerAnnotation,
    TextAnnotation,
)
from viewer.gui.annotations.layer import AnnotationLayer
from viewer.gui.annotations.model import KINDS, Shape, format_length
from viewer.gui.annotations.style import COLOUR, SELECTED, draw_label
from viewer.gui.annotations.tool import DRAW_TOOLS, DrawGesture

__all__ = [
    "COLOUR",
    "DRAW_TOOLS",
    "KINDS",
    "SELECTED",
    "AddCommand",
    "Annotation",
    "AnnotationLayer",
    "ArrowAnnotation",
    "DrawGesture",
    "EllipseAnnotation",
    "GeometryCommand",
    "MoveCommand",
    "RemoveCommand",
    "RulerAnnotation",
    "Shape",
    "TextAnnotation",
    "draw_label",
    "format_length",
]
