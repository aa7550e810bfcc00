"""Widgets of the viewer: thin, no study logic - they show what they are given and report by signals."""
