"""Optional decode paths tried before pydicom's own decoders, in pydicom's plugin shape
(``pydicom/pixels/decoders/pylibjpeg.py``): each module declares ``DECODER_DEPENDENCIES`` (transfer syntax
UID -> the packages it needs), ``is_available(uid)``, and ``decode(ds, geom)`` that returns the stored
values of every frame, or None to hand the data set to pydicom.

To add one: write the module, add it to ``PLUGINS`` below, and test it bit-exact against pydicom.
"""

from viewer.core.io.dicom.decoders import opencv_j2k

PLUGINS = (opencv_j2k,)

__all__ = ["PLUGINS"]
