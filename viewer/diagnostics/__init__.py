"""Diagnostics and developer tools that ship with the app but are not the viewer: the packaging self-test
(``--self-test``), the synthetic studies it decodes (``phantoms``), the start-up benchmark
(``--benchmark-startup``) and the screenshot tool (``python -m viewer.diagnostics.screenshot``)."""
