"""The worklist as CSV: one row a study, written the same way by ``pneumoscope-cli predict --csv`` and the
viewer's File > Export worklist.

Columns: the file (as the user finds it: ``archive.zip/inner/name.dcm`` for a ZIP), the AI state,
probability (empty when withheld), label, threshold, operating point and model version; patient identifiers
only when asked (``include_patient``); then modality, view, the gate's reasons and the error of a file that
could not be read. A cell that a spreadsheet would run as a formula is written as text (OWASP CSV injection).
A row without a result and without an error (the model has not seen it yet) reads ``not analysed``.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # triage imports ONNX Runtime; writing its rows does not need it
    from viewer.core.model.triage import TriageRow

CSV_COLUMNS = ("path", "state", "probability", "label", "threshold", "operating_point", "model_version")
CSV_TAIL = ("modality", "view", "reasons", "error")
CSV_PATIENT = ("patient_name", "patient_id", "birth_date", "study_date", "accession")
NOT_ANALYSED = "not analysed"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """CSV text that a spreadsheet will not run: a leading = + - @ becomes text."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_columns(include_patient: bool) -> tuple[str, ...]:
    return CSV_COLUMNS[:1] + (CSV_PATIENT if include_patient else ()) + CSV_COLUMNS[1:] + CSV_TAIL


def csv_row(row: TriageRow, model_version: str, include_patient: bool) -> dict[str, str]:
    """One worklist row (a :class:`~viewer.core.model.triage.TriageRow`) as CSV cells."""
    meta, result = row.meta, row.result
    d = result.to_dict(row.entry.display) if result is not None else {}
    cells: dict[str, object] = {
        "path": row.entry.display,
        "state": d.get("state", "error" if row.error is not None else NOT_ANALYSED),
        "probability": d.get("probability"),
        "label": d.get("label"),
        "threshold": d.get("threshold"),
        "operating_point": d.get("operating_point"),
        "model_version": result.model_version if result is not None else model_version,
    }
    if include_patient:
        p, s = (meta.patient, meta.study) if meta is not None else (None, None)
        cells.update(
            patient_name=p and p.name, patient_id=p and p.id, birth_date=p and p.birth_date,
            study_date=s and s.date, accession=s and s.accession,
        )  # fmt: skip
    cells.update(
        modality=meta.study.modality if meta else "",
        view=meta.study.view_position if meta else "",
        reasons=" | ".join(d.get("reasons", [])),
        error=str(row.error) if row.error is not None else "",
    )
    return {k: _cell(v) for k, v in cells.items()}


def csv_text(rows: list[dict[str, str]], include_patient: bool) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=csv_columns(include_patient), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


__all__ = ["CSV_COLUMNS", "CSV_PATIENT", "CSV_TAIL", "NOT_ANALYSED", "csv_columns", "csv_row", "csv_text"]
