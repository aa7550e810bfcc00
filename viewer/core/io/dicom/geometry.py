"""The Image Pixel module attributes that decoding depends on (validated by ``read``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Geometry:
    """Rows, columns, frames, samples, bit depths and photometric interpretation of one data set."""

    rows: int
    columns: int
    frames: int
    samples: int
    bits_allocated: int
    bits_stored: int
    pixel_representation: int
    photometric: str
    float_data: bool = False

    @property
    def total_samples(self) -> int:
        return self.rows * self.columns * self.frames * self.samples
