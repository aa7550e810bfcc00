"""One study frame through the model and the gate: the AI result every surface shows.

:func:`analyse` renders the frame at its default window (the model's input), runs the ONE ONNX call
(probability, CAM and out-of-distribution score) and asks :func:`viewer.core.scope.assess` for the state.
The AI panel, the exports, the reports and ``pneumoscope-cli predict`` all read an :class:`AiResult`, so
they cannot disagree about whether a number may be shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from viewer.core.display import render_default
from viewer.core.scope import AiState, Assessment, assess
from viewer.core.study import Study

if TYPE_CHECKING:  # ONNX Runtime is imported by whoever loads a model, not by readers of results
    from viewer.core.model.inference import PneumoniaModel, Prediction

LABEL_TEXT = {"PNEUMONIA": "Pneumonia suggested", "NORMAL": "Pneumonia not suggested"}


def format_probability(p: float) -> str:
    """A percentage with enough digits that it never seems to sit on the wrong side of a threshold."""
    return f"{p * 100:.1f}%"


def format_threshold(t: float) -> str:
    """A threshold with as many digits as needed to tell it from the probabilities around it (>= 3)."""
    return f"{t:.4f}".rstrip("0").rstrip(".") if t < 1 else "1"


@dataclass(frozen=True)
class AiResult:
    prediction: Prediction
    assessment: Assessment
    frame: int = 0
    model_name: str = ""
    model_version: str = ""
    calibration: str = ""

    @property
    def state(self) -> AiState:
        return self.assessment.state

    @property
    def withheld(self) -> bool:
        return self.assessment.withheld

    @property
    def probability(self) -> float | None:
        """The calibrated probability, or None when the result is withheld."""
        return None if self.withheld else self.prediction.probability

    @property
    def label(self) -> str | None:
        return None if self.withheld else self.prediction.label

    @property
    def label_text(self) -> str:
        if self.withheld:
            return "AI result withheld"
        return LABEL_TEXT.get(self.prediction.label, self.prediction.label)

    def summary(self, reveal: bool = False) -> str:
        """One line for footers and status text. ``reveal``: the user asked to see a withheld score."""
        p = self.prediction
        op = f"{p.operating_point} threshold {format_threshold(p.threshold)}"
        if self.withheld and not reveal:
            return (
                f"AI result withheld - {self.assessment.reasons[0]}"
                if self.assessment.reasons
                else ("AI result withheld")
            )
        text = f"{LABEL_TEXT.get(p.label, p.label)} ({format_probability(p.probability)}; {op})"
        if self.withheld:
            return f"UNRELIABLE (withheld, shown on request): {text}"
        if self.state is AiState.CAUTION:
            return f"{text} - caution"
        return text

    def to_dict(self, path: str = "") -> dict[str, Any]:
        """JSON-ready: what ``pneumoscope-cli predict --json`` prints for one file."""
        p = self.prediction
        return {
            "path": path,
            "state": self.state.value,
            "probability": None if self.withheld else round(float(p.probability), 6),
            "label": self.label,
            "threshold": float(p.threshold),
            "operating_point": p.operating_point,
            "ood_score": round(float(p.ood_score), 4) if np.isfinite(p.ood_score) else None,
            "ood_threshold": float(p.ood_threshold),
            "reasons": self.assessment.reasons,
            "frame": self.frame,
            "model": f"{self.model_name} {self.model_version}".strip(),
            "calibration": self.calibration,
        }


def analyse(model: PneumoniaModel, study: Study, frame: int = 0, grey: np.ndarray | None = None) -> AiResult:
    """Run the model on one frame and gate the result. ``grey``: the frame's default rendering if the
    caller already has it (the GUI does)."""
    if grey is None:
        grey = render_default(study, frame)
    prediction = model.predict(grey)
    return result_for(model, study, prediction, grey, frame)


def result_for(
    model: PneumoniaModel, study: Study, prediction: Prediction, grey: np.ndarray, frame: int = 0
) -> AiResult:
    """Gate an existing prediction (batch paths predict many frames first)."""
    assessment = assess(
        study.meta,
        grey.shape,
        grey=grey,
        ood_score=prediction.ood_score,
        ood_threshold=prediction.ood_threshold,
    )
    info = model.info
    return AiResult(prediction, assessment, frame, info.name, info.version, info.calibration_label)


__all__ = ["LABEL_TEXT", "AiResult", "analyse", "format_probability", "format_threshold", "result_for"]
