"""One controller per area of the window (studies, display, AI, heatmap, annotations, export).

Each is built with the :class:`~viewer.gui.session.StudySession` and only the widgets it needs; they talk
through the session's signals, never through each other.
"""
