"""DICOM files: ``read`` (the data set and its checks), ``meta`` (frozen metadata), ``decode`` (pixel data
-> modality units), ``decoders`` (optional decode paths in pydicom's plugin shape)."""

from viewer.core.io.dicom.read import load_dicom

__all__ = ["load_dicom"]
