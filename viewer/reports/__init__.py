"""Report objects a reading room can file: DICOM Secondary Capture and Structured Report, a one-page PDF,
a printout.

- :mod:`.content` what a report says (Qt-free): the AI result and state, model, view, measurements;
- :mod:`.deid` the header the DICOM objects inherit: copied, or de-identified per PS3.15 (Qt-free);
- :mod:`.dicom_sc` / :mod:`.dicom_sr` the highdicom objects (Qt-free);
- :mod:`.write` bytes and atomic, no-surprise writes (Qt-free);
- :mod:`.raster` / :mod:`.pdf` / :mod:`.headless` Qt (QtGui only, no widgets): the footer band, the
  PDF page and printout, and the CLI's rendering of the view.

Import the submodules directly: this file imports nothing, so reading ``content`` never loads highdicom.
"""
