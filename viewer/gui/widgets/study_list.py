"""The open studies as a thumbnail list: loading, ready (thumbnail) or failed (warning + message).

A ready study's third line is its AI state (``set_ai_badge``): "AI: In scope - 92.4%", "AI: Caution - 93.1%"
or "AI: Withheld" (never a number), with a coloured corner mark on the thumbnail and the reason as tooltip.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from viewer.core.scope import AiState
from viewer.gui import theme

THUMB = 84
ROLE_ID = QtCore.Qt.ItemDataRole.UserRole + 1
ROLE_STATE = QtCore.Qt.ItemDataRole.UserRole + 2
ROLE_AI = QtCore.Qt.ItemDataRole.UserRole + 3  # the AiState value of the study's result, if any
BADGE_COLOUR = {AiState.IN_SCOPE: theme.GREEN, AiState.CAUTION: theme.AMBER, AiState.WITHHELD: theme.RED}


def thumbnail_pixmap(u8: np.ndarray, size: int = THUMB) -> QtGui.QPixmap:
    """A square, letter-boxed thumbnail of a grey uint8 image."""
    import cv2

    h, w = u8.shape[:2]
    s = size / max(h, w)
    small = cv2.resize(u8, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((size, size), np.uint8)
    y0, x0 = (size - small.shape[0]) // 2, (size - small.shape[1]) // 2
    canvas[y0 : y0 + small.shape[0], x0 : x0 + small.shape[1]] = small
    img = QtGui.QImage(canvas.data, size, size, size, QtGui.QImage.Format.Format_Grayscale8).copy()
    return QtGui.QPixmap.fromImage(img)


def _placeholder(kind: str, size: int = THUMB) -> QtGui.QPixmap:
    pm = QtGui.QPixmap(size, size)
    pm.fill(QtGui.QColor(theme.BASE))
    p = QtGui.QPainter(pm)
    p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    if kind == "failed":
        p.setPen(QtGui.QPen(QtGui.QColor(theme.RED), 3))
        c = size / 2
        p.drawEllipse(QtCore.QPointF(c, c), size * 0.22, size * 0.22)
        p.drawLine(QtCore.QPointF(c, c - size * 0.11), QtCore.QPointF(c, c + size * 0.03))
        p.drawPoint(QtCore.QPointF(c, c + size * 0.1))
    else:
        p.setPen(QtGui.QPen(QtGui.QColor(theme.TEXT_DIM), 2))
        f = p.font()
        f.setPixelSize(12)
        p.setFont(f)
        p.drawText(pm.rect(), QtCore.Qt.AlignmentFlag.AlignCenter, "loading…")
    p.end()
    return pm


def _with_badge(pixmap: QtGui.QPixmap, state: AiState) -> QtGui.QPixmap:
    """The thumbnail with a corner mark in the state's colour (a ring with a bar for withheld)."""
    out = QtGui.QPixmap(pixmap)
    p = QtGui.QPainter(out)
    p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    r = max(6.0, out.width() * 0.1)
    c = QtCore.QPointF(out.width() - r - 3, r + 3)
    colour = QtGui.QColor(BADGE_COLOUR[state])
    p.setPen(QtGui.QPen(QtGui.QColor(theme.BASE), 2))
    p.setBrush(colour if state is not AiState.WITHHELD else QtGui.QColor(theme.BASE))
    p.drawEllipse(c, r, r)
    if state is AiState.WITHHELD:
        p.setPen(QtGui.QPen(colour, 2.5))
        p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        p.drawEllipse(c, r - 1.5, r - 1.5)
        p.drawLine(c + QtCore.QPointF(-r * 0.55, r * 0.55), c + QtCore.QPointF(r * 0.55, -r * 0.55))
    p.end()
    return out


class StudyList(QtWidgets.QListWidget):
    """One row per opened file. ``current_study_changed(entry_id)`` when the user picks another."""

    current_study_changed = QtCore.Signal(int)
    close_requested = QtCore.Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setIconSize(QtCore.QSize(THUMB, THUMB))
        self.setSpacing(2)
        self.setUniformItemSizes(False)
        self.setWordWrap(True)
        self.setTextElideMode(QtCore.Qt.TextElideMode.ElideMiddle)
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        self.currentItemChanged.connect(self._current_changed)
        self._items: dict[int, QtWidgets.QListWidgetItem] = {}
        self._thumbs: dict[int, QtGui.QPixmap] = {}  # without a badge

    def add_entry(self, entry_id: int, path: str) -> None:
        item = QtWidgets.QListWidgetItem(QtGui.QIcon(_placeholder("loading")), f"{Path(path).name}\nLoading…")
        item.setData(ROLE_ID, entry_id)
        item.setData(ROLE_STATE, "loading")
        item.setToolTip(str(path))
        self.addItem(item)
        self._items[entry_id] = item

    def set_ready(self, entry_id: int, path: str, thumb: np.ndarray | None, subtitle: str) -> None:
        item = self._items.get(entry_id)
        if item is None:
            return
        if thumb is not None:
            self._thumbs[entry_id] = thumbnail_pixmap(thumb)
            item.setIcon(QtGui.QIcon(self._thumbs[entry_id]))
        item.setText(f"{Path(path).name}\n{subtitle}")
        item.setData(ROLE_STATE, "ready")
        item.setForeground(QtGui.QBrush(QtGui.QColor(theme.TEXT)))

    def set_ai_badge(self, entry_id: int, state: AiState, text: str, why: str = "") -> None:
        """The AI line: ``text`` says the state (and the score when it may be shown); ``why`` the tooltip."""
        item = self._items.get(entry_id)
        if item is None:
            return
        lines = item.text().split("\n")[:2]
        item.setText("\n".join([*lines, f"AI: {text}"]))
        item.setData(ROLE_AI, state.value)
        path = item.toolTip().split("\n")[0]
        item.setToolTip(f"{path}\n\nAI: {why}" if why else path)
        thumb = self._thumbs.get(entry_id)
        if thumb is not None:
            item.setIcon(QtGui.QIcon(_with_badge(thumb, state)))

    def ai_state(self, entry_id: int) -> AiState | None:
        item = self._items.get(entry_id)
        value = None if item is None else item.data(ROLE_AI)
        return AiState(value) if value else None

    def set_failed(self, entry_id: int, path: str, title: str, message: str) -> None:
        item = self._items.get(entry_id)
        if item is None:
            return
        item.setIcon(QtGui.QIcon(_placeholder("failed")))
        item.setText(f"{Path(path).name}\n{title}")
        item.setToolTip(f"{path}\n\n{message}")
        item.setData(ROLE_STATE, "failed")
        item.setForeground(QtGui.QBrush(QtGui.QColor(theme.RED)))

    def state(self, entry_id: int) -> str | None:
        item = self._items.get(entry_id)
        return None if item is None else item.data(ROLE_STATE)

    def remove_entry(self, entry_id: int) -> None:
        item = self._items.pop(entry_id, None)
        self._thumbs.pop(entry_id, None)
        if item is not None:
            self.takeItem(self.row(item))

    def select_entry(self, entry_id: int) -> None:
        item = self._items.get(entry_id)
        if item is not None and self.currentItem() is not item:
            self.setCurrentItem(item)

    def entry_ids(self) -> list[int]:
        return [self.item(i).data(ROLE_ID) for i in range(self.count())]

    def _current_changed(self, current, previous) -> None:
        if current is not None:
            self.current_study_changed.emit(int(current.data(ROLE_ID)))

    def _menu(self, pos) -> None:
        item = self.itemAt(pos)
        if item is None:
            return
        menu = QtWidgets.QMenu(self)
        act = menu.addAction("Close study")
        if menu.exec(self.mapToGlobal(pos)) is act:
            self.close_requested.emit(int(item.data(ROLE_ID)))
