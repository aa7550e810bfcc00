"""The ONE model-input function, shared by the viewer, the CLI, the self-test and ``training/``.

Contract (also written into the ONNX metadata as ``input_*`` keys):

- input: the frame as a radiologist sees it at the study's *default* window, bones bright
  (MONOCHROME2 convention), as 8-bit grey ``uint8`` of shape (H, W). ``viewer.core.display``
  produces exactly that; a Kermany JPEG decoded to grey already is that.
- the whole image is resized to the square model input (no crop, aspect ratio not kept), with
  ``cv2.INTER_AREA`` when shrinking and ``cv2.INTER_LINEAR`` when enlarging. Half the Kermany training
  set exists only as squashed 224 x 224 copies, so resizing every image the same way treats both alike.
- output: float32 in [0, 1], shape (1, 1, size, size). ImageNet normalisation and the grey -> RGB
  repeat happen inside the model (the ONNX graph, and the PyTorch wrapper in ``training``).
"""

from __future__ import annotations

import cv2
import numpy as np

MODEL_INPUT_SIZE = 224
RESIZE_POLICY = "whole-image-squash-area"
VALUE_RANGE = (0.0, 1.0)


def resize_for_model(grey_u8: np.ndarray, size: int = MODEL_INPUT_SIZE) -> np.ndarray:
    """Resize a display-ready grey uint8 image (H, W) to (size, size) uint8."""
    img = np.asarray(grey_u8)
    if img.ndim != 2:
        raise ValueError(f"expected a 2-D grey image, got shape {img.shape}")
    if img.dtype != np.uint8:
        raise ValueError(f"expected uint8 display pixels, got {img.dtype}")
    h, w = img.shape
    if (h, w) == (size, size):
        return np.ascontiguousarray(img)
    shrinking = h * w >= size * size
    interp = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(img, (size, size), interpolation=interp)


def to_model_input(resized_u8: np.ndarray | list[np.ndarray]) -> np.ndarray:
    """uint8 (size, size) image or list of them -> float32 batch (N, 1, size, size) in [0, 1]."""
    arr = np.asarray(resized_u8)
    if arr.ndim == 2:
        arr = arr[None]
    return (arr.astype(np.float32) * np.float32(1.0 / 255.0))[:, None, :, :]


def prepare_model_input(grey_u8: np.ndarray, size: int = MODEL_INPUT_SIZE) -> np.ndarray:
    """Display-ready grey uint8 (H, W) -> model input float32 (1, 1, size, size)."""
    return to_model_input(resize_for_model(grey_u8, size))
