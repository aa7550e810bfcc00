"""Side-by-side comparison: the AI result line above each image, and the second image view.

In compare mode the reading view (the current study) and a :class:`ComparePane` (the study it is compared
with) stand side by side, each with a :class:`ResultLine` above it. The pane's view is an
:class:`~viewer.gui.widgets.image_view.ImageView` like the main one, with its own heatmap layer; the
compare controller (:mod:`viewer.gui.controllers.compare`) fills both.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from viewer.gui import theme
from viewer.gui.widgets.image_view import ImageView
from viewer.gui.widgets.orientation_letters import EdgeLetters


class ResultLine(QtWidgets.QLabel):
    """One line over an image in compare mode: the study's name and its AI state / probability."""

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("compare_result_line")
        self.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.setContentsMargins(8, 3, 8, 3)
        self.setStyleSheet(f"background: #111; color: {theme.TEXT}; border-bottom: 1px solid #333;")
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)
        self.hide()


class ComparePane(QtWidgets.QWidget):
    """The compared study: its result line over its own image view (hidden outside compare mode)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(2, 0, 0, 0)  # a thin gap between the two images
        lay.setSpacing(0)
        self.line = ResultLine()
        self.line.show()
        self.view = ImageView()
        self.view.corners.set_hint("")
        self.letters = EdgeLetters(self.view)
        lay.addWidget(self.line)
        lay.addWidget(self.view, 1)
        self.hide()
