"""Package layout only; everything else is in pyproject.toml.

Here rather than in pyproject.toml because setuptools' declarative config cannot combine package
discovery with a mapped package: the repository's top-level ``assets/`` folder (icons, the shipped
model) is installed as package data of ``viewer.assets`` (``site-packages/viewer/assets``), where
``viewer.core.assets`` finds it with importlib.resources. Only the model file the app looks for ships.
"""

import runpy

from setuptools import find_packages, setup

MODEL_FILENAME = runpy.run_path("viewer/config.py")["MODEL_FILENAME"]  # config.py imports nothing

setup(
    packages=[*find_packages(include=["viewer", "viewer.*", "training", "training.*"]), "viewer.assets"],
    package_dir={"viewer.assets": "assets"},
    package_data={
        "viewer": ["py.typed"],
        "viewer.assets": ["icons/*.png", "icons/*.ico", "icons/*.icns", f"models/{MODEL_FILENAME}"],
    },
    include_package_data=False,
)
