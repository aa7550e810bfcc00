"""Work-arounds for defects of the Qt bindings we ship. Imported (and applied) by ``viewer/gui/__init__``.

PySide6 / shiboken6 6.12.0 on CPython < 3.12 (6.11.3 is fine) returns the singletons without a new
reference: every wrapped C++ method returning ``void`` hands back ``None`` (``widget.update()``,
``slider.setValue()``, ``processEvents()``...) and every ``signal.emit()`` hands back ``True``, each
call lowering that object's reference count by one. After a few thousand calls - minutes of
window/level dragging - CPython aborts with "Fatal Python error: none_dealloc: deallocating None" (or
``bool_dealloc``). CPython 3.12 made these objects immortal, which hides the bug.

:func:`protect_singletons` detects the leak with harmless calls and, when present, raises the reference
counts of ``None``, ``True`` and ``False`` by 2**48 so they can never reach zero. It is a no-op on
CPython >= 3.12, on other interpreters and with fixed bindings. Remove it once the pinned PySide6 no
longer leaks (the better fix: ``PySide6-Essentials != 6.12.0``).
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)
_BOOST = 1 << 48
_applied = False


def singleton_leaks(samples: int = 64) -> dict[str, float]:
    """References lost per call: {"None": per void method call, "True": per signal emit} (0 = healthy)."""
    from PySide6 import QtCore  # noqa: PLC0415

    class _Probe(QtCore.QObject):
        ping = QtCore.Signal()

    point, probe = QtCore.QPointF(), _Probe()
    none0, true0 = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(samples):
        point.setX(1.0)
    none1 = sys.getrefcount(None)
    for _ in range(samples):
        probe.ping.emit()
    true1 = sys.getrefcount(True)
    return {"None": (none0 - none1) / samples, "True": (true0 - true1) / samples}


def protect_singletons() -> bool:
    """Apply the work-around if (and only if) a leak is present. Returns True when applied."""
    global _applied
    if _applied:
        return True
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return False
    leaks = singleton_leaks()
    if max(leaks.values()) < 0.5:
        return False
    cells = [ctypes.c_ssize_t.from_address(id(obj)) for obj in (None, True, False)]
    # ob_refcnt is the first field of a PyObject in release builds; check before writing anything
    if any(
        cell.value != sys.getrefcount(obj) - 1 for cell, obj in zip(cells, (None, True, False), strict=True)
    ):
        log.warning(
            "PySide6 reference leak detected (%s) but the work-around cannot be applied safely", leaks
        )
        return False
    for cell in cells:
        cell.value += _BOOST
    _applied = True
    log.info("PySide6 reference leak on singletons detected (%s per call): work-around applied", leaks)
    return True
