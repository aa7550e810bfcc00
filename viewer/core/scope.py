"""Is this study inside what the model was trained on? Plain checks over metadata and image size.

The model saw frontal (AP/PA) chest radiographs of children aged 1-5 from one hospital. A result on
anything else is still shown, but flagged: the radiologist decides, the panel says why to be careful.
Unknown facts (no BodyPartExamined, no age) raise no warning: most PNG/JPEG files carry no metadata.
"""

from __future__ import annotations

from viewer.core.study import StudyMetadata

RADIOGRAPH_MODALITIES = {"CR", "DX", "XR", "RG", "DR", "PX"}  # PX would be odd, but is X-ray
CHEST_BODY_PARTS = {"CHEST", "THORAX", "LUNG", "LUNGS", "PEDIATRIC CHEST", "CHEST_PA", "CHEST PA"}
LATERAL_VIEWS = {"LL", "RL", "LAT", "LATERAL", "LLD", "RLD", "LL/RL", "XTABLE LATERAL"}
TRAINED_AGE = (1.0, 5.0)
ADULT_AGE = 18.0
MIN_SIDE = 224


def scope_warnings(meta: StudyMetadata, shape: tuple[int, int] | None = None) -> list[str]:
    """Human-readable reasons the AI result may not apply to this study (empty list = in scope)."""
    out: list[str] = []
    st = meta.study
    modality = (st.modality or "").strip().upper()
    body = (st.body_part or "").strip().upper().replace("_", " ")
    if body and body not in CHEST_BODY_PARTS and "CHEST" not in body and "THORA" not in body:
        out.append(f"Not a chest study (body part {st.body_part}): the model only knows chest radiographs.")
    if modality and modality not in RADIOGRAPH_MODALITIES:
        out.append(f"Modality {st.modality} is not a radiograph (CR/DX): the model only knows chest X-rays.")
    view = (st.view_position or "").strip().upper()
    if view and (view in LATERAL_VIEWS or "LAT" in view.split()):
        out.append(f"Lateral view ({st.view_position}): the model was trained on frontal (AP/PA) views only.")
    age = meta.patient.age_years
    if age is not None:
        if age >= ADULT_AGE:
            out.append(f"Adult patient (aged {age:.0f} years): the model was trained on children aged 1-5.")
        elif age >= TRAINED_AGE[1] + 1:
            out.append(f"Patient aged {age:.0f} years: older than the children (aged 1-5) the model was trained on.")
        elif age < TRAINED_AGE[0]:
            out.append(
                f"Patient younger than 1 year ({age:.1f}): the model was trained on children aged 1-5."
            )
    if meta.was_colour:
        out.append("Colour image converted to grey: the model was trained on grey radiographs.")
    rows, cols = shape if shape is not None else (meta.rows, meta.columns)
    if rows and cols and min(rows, cols) < MIN_SIDE:
        out.append(f"Very low resolution ({cols} x {rows} px): the model input is {MIN_SIDE} px.")
    return out
