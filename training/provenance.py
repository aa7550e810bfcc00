"""Where a model came from: the source commit recorded in checkpoints and exported models."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def git_commit(repo: Path = REPO_ROOT) -> str | None:
    """``git rev-parse HEAD`` (+ "-dirty" with modified tracked files), or None without git/commits."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}-dirty" if dirty else head or None


# Config fields that are paths on the training machine: the exported model keeps only their last part.
LOCAL_PATH_FIELDS = ("data", "out", "cache_dir", "init")


def portable_config(config: dict) -> dict:
    """The training config without the training machine's directory layout (for model metadata)."""
    out = dict(config)
    for key in LOCAL_PATH_FIELDS:
        value = out.get(key)
        if isinstance(value, str) and ("/" in value or "\\" in value):
            out[key] = Path(value.replace("\\", "/")).name
    return out
