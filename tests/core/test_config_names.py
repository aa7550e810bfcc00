"""Names and texts are written once, in viewer/config.py (issue #14): no other module of the viewer spells
out an environment variable, the research-use or not-a-medical-device sentences, the version, or (outside a
short list of files still to switch) the application's name. pyproject.toml cannot import viewer.config, so
its copies are checked against it here."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

from viewer import config

ROOT = Path(__file__).resolve().parents[2]
VIEWER = ROOT / "viewer"
CONFIG = VIEWER / "config.py"

# Files that may still spell the app name, and why. Everything else under viewer/ takes it from config.
APP_NAME_ALLOWED = {
    "viewer/config.py": "the one place",
    # the model file format: metadata keys "pneumoscope.*" stay what shipped models carry, whatever the
    # app is called (the messages around them are to switch)
    "viewer/core/model/contract.py": "model file format keys",
}
# "... Research use only." closing two patient-data questions (not yet switched to config.RESEARCH_TAG)
RESEARCH_TAG_ALLOWED = (
    "viewer/config.py",
    "viewer/gui/widgets/worklist_panel.py",
)


@cache
def _string_literals(path: Path) -> tuple[tuple[int, str], ...]:
    """(line, text) of every str constant in the module except docstrings (f-string parts included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return tuple(
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    )


def _hits(pattern: str, allowed=("viewer/config.py",)) -> list[str]:
    rx = re.compile(pattern, re.IGNORECASE)
    found = []
    for path in sorted(VIEWER.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in allowed:
            continue
        found += [f"{rel}:{line}: {text[:80]!r}" for line, text in _string_literals(path) if rx.search(text)]
    return found


def test_environment_variable_names_only_in_config():
    assert _hits(r"\bPNEUMOSCOPE_[A-Z0-9_]+") == []


@pytest.mark.parametrize("phrase", [config.RESEARCH_USE, "not for diagnostic use", "not a medical device"])
def test_research_use_sentences_only_in_config(phrase):
    assert _hits(re.escape(phrase)) == []


def test_research_use_tag_only_in_config_and_the_listed_files():
    assert _hits(re.escape(config.RESEARCH_TAG), allowed=RESEARCH_TAG_ALLOWED) == []


def test_the_training_population_sentence_only_in_config():
    assert _hits(re.escape(config.TRAINED_ON)) == []


def test_app_name_only_in_config_and_the_listed_files():
    assert _hits(r"pneumoscope", allowed=tuple(APP_NAME_ALLOWED)) == []


def _project() -> dict:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_no_version_number_in_the_code():
    version = _project()["version"]
    assert _hits(rf"(?<![\d.]){re.escape(version)}(?![\d.])", allowed=()) == []


def test_pyproject_agrees_with_config():
    project = _project()
    assert project["name"] == config.DIST_NAME
    assert config.CLI_NAME in project["scripts"] and config.DIST_NAME in project["gui-scripts"]
    assert [a["name"] for a in project["authors"]] == [config.ORGANISATION]
    assert config.RESEARCH_TAG in project["description"]


def test_the_texts_are_built_from_one_another():
    assert config.RESEARCH_USE in config.DESCRIPTION and config.TAGLINE in config.DESCRIPTION
    assert (
        config.RESEARCH_NOTICE.startswith(config.RESEARCH_USE) and config.TRAINED_ON in config.RESEARCH_NOTICE
    )
    assert config.RESEARCH_TAG in config.RESEARCH_USE.lower()
    assert config.app_title() == f"{config.APP_NAME} {config.app_version()}"
    assert set(config.__all__) <= set(dir(config))
