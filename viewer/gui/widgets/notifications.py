"""A non-modal notification bar above the image: problems gather here instead of a storm of dialogs."""

from __future__ import annotations

import html

from PySide6 import QtCore, QtWidgets

from viewer.gui import theme


class NotificationBar(QtWidgets.QFrame):
    """Collects messages (e.g. files that could not be opened); one line summary, details on demand."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.messages: list[tuple[str, str]] = []  # (title, message)
        self.setObjectName("notificationBar")
        self.setStyleSheet(
            f"#notificationBar {{ background: {theme.RED_BG}; border-bottom: 1px solid {theme.RED}; }}"
            f"#notificationBar QLabel {{ color: {theme.TEXT}; }}"
            "#notificationBar QToolButton { border: none; color: #dddddd; padding: 2px 6px; }"
            "#notificationBar QToolButton:hover { background: rgba(255,255,255,0.08); }"
        )
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(10, 5, 6, 5)
        self.label = QtWidgets.QLabel()
        self.label.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.label.setWordWrap(True)
        lay.addWidget(self.label, 1)
        self.details_button = QtWidgets.QToolButton()
        self.details_button.setText("Details")
        self.details_button.setCheckable(True)
        lay.addWidget(self.details_button)
        self.close_button = QtWidgets.QToolButton()
        self.close_button.setText("✕")
        self.close_button.setToolTip("Dismiss")
        lay.addWidget(self.close_button)
        self.details_button.toggled.connect(self._refresh)
        self.close_button.clicked.connect(self.dismiss)
        self.hide()

    def add(self, title: str, message: str) -> None:
        self.messages.append((title, message))
        self._refresh()
        self.show()

    def dismiss(self) -> None:
        self.messages.clear()
        self.details_button.setChecked(False)
        self.hide()

    def _refresh(self, *args) -> None:
        n = len(self.messages)
        if n == 0:
            return
        title, message = self.messages[-1]
        if n == 1:
            head = f"<b>{html.escape(title)}</b> - {html.escape(message)}"
        else:
            head = f"<b>{n} files could not be opened.</b> Latest: {html.escape(message)}"
        if self.details_button.isChecked() and n > 1:
            rows = "".join(f"<li><b>{html.escape(t)}</b> - {html.escape(m)}</li>" for t, m in self.messages)
            head += f"<ul style='margin-top:4px; margin-bottom:0'>{rows}</ul>"
        self.details_button.setVisible(n > 1)
        self.label.setText(head)
