"""What goes into the PyInstaller bundle and what must not: the rules behind ``build.spec``.

``build.spec`` (PyInstaller's entry point) stays a thin script of Analysis / PYZ / EXE / COLLECT / BUNDLE
calls; the rules live here so that ``tests/packaging/test_frozen.py`` checks the built bundle against the
very same lists. Names (app name, bundle id, model file) come from ``viewer.config``.

Imported by putting this folder on ``sys.path`` (``import bundle_rules``), never as ``packaging.*``: that
name belongs to the PyPA ``packaging`` library that PyInstaller itself imports.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # viewer.config, from the source tree being built
    sys.path.insert(0, str(ROOT))

from viewer.config import (  # noqa: E402
    APP_NAME,
    BUNDLE_ID,
    DIST_NAME,
    ICON_FILES,
    MODEL_FILENAME,
    ORGANISATION,
    RESEARCH_USE,
)

IS_WIN, IS_MAC, IS_LINUX = sys.platform == "win32", sys.platform == "darwin", sys.platform.startswith("linux")
MODEL_DEST = f"assets/models/{MODEL_FILENAME}"
ASSET_SKIP = {".gitkeep", ".DS_Store", "README.md", "version_info", "__init__.py"}

# Build options: each also has an environment variable, handy in CI.
ENV_ONEFILE = "PNEUMOSCOPE_ONEFILE"
ENV_CONSOLE = "PNEUMOSCOPE_CONSOLE"
ENV_BUNDLE_MODEL = "PNEUMOSCOPE_BUNDLE_MODEL"
ENV_REQUIRE_MODEL = "PNEUMOSCOPE_REQUIRE_MODEL"
ENV_CODESIGN_IDENTITY = "PNEUMOSCOPE_CODESIGN_IDENTITY"

# Entry script: a launcher (running viewer/__main__.py as a script would make it "__main__").
LAUNCHER_SOURCE = (
    "import multiprocessing\nimport sys\n\n"
    "from viewer.__main__ import main\n\n"
    "if __name__ == '__main__':\n"
    "    multiprocessing.freeze_support()\n"
    "    sys.exit(main())\n"
)

# pylibjpeg finds its decoders through entry points; the plugin packages are never imported by name.
PLUGIN_PACKAGES = ("pylibjpeg", "libjpeg", "openjpeg", "rle")
# Entry-point metadata: without it pylibjpeg finds no decoder and pydicom reports "plugin missing".
METADATA_DISTS = (
    "pylibjpeg",
    "pylibjpeg-libjpeg",
    "pylibjpeg-openjpeg",
    "pylibjpeg-rle",
    "pydicom",
    DIST_NAME,
)
EXTRA_HIDDEN_IMPORTS = (
    "platformdirs",
    "PySide6.QtPrintSupport",  # imported when the user prints (viewer.gui.controllers.reports)
    "PySide6.QtOpenGL",  # pyqtgraph imports these two with importlib when it is imported
    "PySide6.QtOpenGLWidgets",
)

EXCLUDES = [
    # training stack (CI installs the train extra into the same environment)
    "torch", "torchvision", "torchaudio", "training", "pytorch_grad_cam", "ttach",
    "onnx", "onnxscript", "onnx_ir", "onnxruntime.training", "onnxruntime.quantization",
    "onnxruntime.tools", "onnxruntime.transformers",
    "sklearn", "scipy", "matplotlib", "pandas", "sympy", "networkx", "tqdm", "jinja2",
    # tests and dev tools
    "tests", "pytest", "_pytest", "pytestqt", "hypothesis", "importlinter", "grimp", "ruff", "mypy",
    "setuptools", "pkg_resources", "pip", "IPython", "jupyter_rfb",
    # image libraries the app does not use (decoding is pinned to pylibjpeg / OpenCV)
    # (PIL and jpeg_ls stay: highdicom imports both at import time, for the DICOM SC and SR exports)
    "gdcm", "OpenGL", "h5py", "cupy", "cuda", "nvidia", "numba",
    "tkinter", "_tkinter", "pydoc_data", "lib2to3", "unittest",
    "pydicom.examples.tests", "pyqtgraph.examples", "pyqtgraph.opengl", "pyqtgraph.jupyter",
    # Qt modules the viewer does not use (it needs QtCore, QtGui, QtWidgets)
    "PyQt5", "PyQt6", "PySide2",
    "PySide6.QtNetwork", "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtQuickWidgets",
    "PySide6.QtQuickControls2", "PySide6.QtQuick3D", "PySide6.QtQuickTest", "PySide6.QtQmlFeatures",
    "PySide6.QtWebEngineCore", "PySide6.QtWebEngineWidgets", "PySide6.QtWebEngineQuick",
    "PySide6.QtWebChannel", "PySide6.QtWebSockets", "PySide6.QtHttpServer",
    "PySide6.Qt3DCore", "PySide6.Qt3DRender", "PySide6.Qt3DInput", "PySide6.Qt3DLogic",
    "PySide6.Qt3DExtras", "PySide6.Qt3DAnimation",
    "PySide6.QtMultimedia", "PySide6.QtMultimediaWidgets", "PySide6.QtSpatialAudio",
    "PySide6.QtTextToSpeech", "PySide6.QtPdf", "PySide6.QtPdfWidgets", "PySide6.QtCharts",
    "PySide6.QtDataVisualization", "PySide6.QtGraphs", "PySide6.QtGraphsWidgets",
    "PySide6.QtDesigner", "PySide6.QtHelp", "PySide6.QtUiTools", "PySide6.QtSql", "PySide6.QtTest",
    "PySide6.QtBluetooth", "PySide6.QtNfc", "PySide6.QtPositioning", "PySide6.QtLocation",
    "PySide6.QtSensors", "PySide6.QtSerialPort", "PySide6.QtSerialBus", "PySide6.QtRemoteObjects",
    "PySide6.QtScxml", "PySide6.QtStateMachine", "PySide6.QtConcurrent", "PySide6.QtDBus",
    "PySide6.QtNetworkAuth", "PySide6.QtXml", "PySide6.QtAxContainer", "PySide6.QtLabsStyleKit",
    "PySide6.QtSvg", "PySide6.QtSvgWidgets",  # (pyqtgraph needs QtOpenGL + QtOpenGLWidgets: kept)
    # (QtPrintSupport and its printsupport/ plugins stay: File > Print report)
]  # fmt: skip

# Qt plugins collected by PyInstaller's QtGui hook that an X-ray viewer never loads (embedded-Linux
# platforms, VNC, Vulkan display, EGL device integrations, network/TLS back ends). Kept: platforms
# offscreen, minimal, xcb, wayland (Linux), windows (Windows), cocoa (macOS); imageformats; styles;
# platformthemes (xdg portal); iconengines; platforminputcontexts (input methods).
QT_PLUGIN_DROP = (
    "platforms/libqeglfs", "platforms/libqlinuxfb", "platforms/libqminimalegl", "platforms/libqvnc",
    "platforms/libqvkkhrdisplay", "platforms/qdirect2d", "egldeviceintegrations/", "networkinformation/",
    "tls/", "sqldrivers/", "qmltooling/", "designer/", "generic/", "vectorimageformats/",
    "platformthemes/libqgtk3",  # GTK theme bridge: drags in GTK, cairo, pango; the app has its own theme
    "imageformats/qpdf", "imageformats/libqpdf", "imageformats/qsvg", "imageformats/libqsvg",
    "imageformats/qtga", "imageformats/libqtga", "imageformats/qwbmp", "imageformats/libqwbmp",
    "imageformats/qwebp", "imageformats/libqwebp", "imageformats/qtiff", "imageformats/libqtiff",
    "iconengines/qsvgicon", "iconengines/libqsvgicon",
)  # fmt: skip
# Bundling any of these means something pulled in the training stack, a test tool or an unused Qt module.
FORBIDDEN = (
    "torch", "torchvision", "training", "tests", "matplotlib", "sklearn", "scipy", "pytorch_grad_cam",
    "onnx", "pytest", "_pytest", "hypothesis", "PySide6.QtQml", "PySide6.QtQuick",
    "PySide6.QtWebEngineCore", "PySide6.QtMultimedia", "PySide6.QtPdf", "PySide6.Qt3DCore",
)  # fmt: skip
FORBIDDEN_FILES = (
    "libtorch", "libQt6WebEngine", "libQt6Quick", "libQt6Qml", "libQt6Pdf", "libQt6Multimedia", "libQt63D",
    "Qt6WebEngine", "Qt6Quick", "Qt6Qml", "Qt6Pdf", "Qt6Multimedia", "Qt63D",
)  # fmt: skip
# Packages whose data files the bundle needs (build.spec collects them): highdicom's IOD/module tables
# (_standard/*.json) and its sRGB ICC profile, read when an SC or SR is built
DATA_PACKAGES = ("highdicom",)
REQUIRED_MODULES = (
    "viewer.__main__", "viewer.config", "viewer.diagnostics.selftest", "viewer.diagnostics.startup_benchmark",
    "viewer.core.io", "viewer.core.model.inference", "viewer.diagnostics.selftest_scan",
    "viewer.diagnostics.selftest_export", "viewer.diagnostics.phantoms", "viewer.gui.main_window",
    "pydicom", "pydicom.pixels.decoders.pylibjpeg", "pydicom.pixels.decoders.rle",
    "pylibjpeg", "libjpeg", "openjpeg", "rle", "cv2", "onnxruntime", "PySide6.QtWidgets", "pyqtgraph",
    "platformdirs", "highdicom", "viewer.reports.dicom_sr", "PySide6.QtPrintSupport",
)  # fmt: skip
REQUIRED_METADATA = ("pylibjpeg", "pylibjpeg_libjpeg", "pylibjpeg_openjpeg", "pylibjpeg_rle", DIST_NAME)


# --------------------------------------------------------------------------- options and version


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def parse_options(argv: Sequence[str]) -> argparse.Namespace:
    """Options after ``pyinstaller build.spec --`` (see build.spec's docstring)."""
    parser = argparse.ArgumentParser(
        prog="pyinstaller build.spec --", description=f"{APP_NAME} build options"
    )
    parser.add_argument("--onefile", action="store_true", default=_env_flag(ENV_ONEFILE))
    parser.add_argument("--console", action="store_true", default=_env_flag(ENV_CONSOLE))
    parser.add_argument("--model", type=Path, default=os.environ.get(ENV_BUNDLE_MODEL) or None)
    parser.add_argument("--require-model", action="store_true", default=_env_flag(ENV_REQUIRE_MODEL))
    return parser.parse_args(list(argv))


def project_version(root: Path = ROOT) -> str:
    """The version in pyproject.toml (the source of truth), else the installed distribution's."""
    try:
        import tomllib  # Python 3.11+
    except ImportError:
        from importlib.metadata import version

        return version(DIST_NAME)
    return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def write_launcher(work: Path) -> Path:
    path = work / "pneumoscope_launcher.py"
    path.write_text(LAUNCHER_SOURCE, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- what goes in


def asset_datas(root: Path = ROOT) -> list[tuple[str, str]]:
    """(source, destination folder) of the icons and the shipped model; never stray files."""
    datas = []
    for path in sorted((root / "assets").rglob("*")):
        if not path.is_file() or path.name in ASSET_SKIP:
            continue
        rel = path.relative_to(root)
        if rel.parts[1:2] == ("models",) and path.name != MODEL_FILENAME:
            print(f"build.spec: not bundling {rel} (only {MODEL_FILENAME} ships)")
            continue
        datas.append((str(path), str(rel.parent)))
    return datas


def dest(entry: Sequence[str]) -> str:
    return entry[0].replace("\\", "/")


def dropped_plugin(destination: str) -> bool:
    if "/Qt/plugins/" not in destination and "/plugins/" not in destination:
        return False
    tail = destination.split("/plugins/", 1)[1]
    return any(tail.startswith(prefix) for prefix in QT_PLUGIN_DROP)


def with_model(datas: list, model: Path | None, require: bool, root: Path = ROOT) -> list:
    """The shipped model: the repository's assets/models file, or ``model`` under the shipped name."""
    if model:
        src = Path(model).expanduser().resolve()
        if not src.is_file():
            raise SystemExit(f"build.spec: --model {src} does not exist")
        datas = [d for d in datas if dest(d) != MODEL_DEST]
        datas.append((MODEL_DEST, str(src), "DATA"))
        print(f"build.spec: bundling model {src} as {MODEL_DEST}")
    if not any(dest(d) == MODEL_DEST for d in datas):
        message = (
            f"build.spec: no model to ship ({root / 'assets' / 'models' / MODEL_FILENAME} is missing and "
            "no --model FILE was given): the app will start but report 'AI model not found'."
        )
        if require:
            raise SystemExit(message)
        print("WARNING " + message)
    return datas


def prune_orphan_libraries(binaries: list) -> list:
    """Linux: drop the shared libraries that only the dropped plugins needed (GTK/cairo/pango for the GTK
    theme, QtNetwork + Kerberos/OpenSSL for the TUIO touch plugin...).

    Only plain libraries from the system or from PySide6's Qt/lib are candidates; extension modules, Qt
    plugins and every other package's libraries (ONNX Runtime providers are dlopen'ed) are roots and kept.
    """
    if not IS_LINUX:
        return binaries
    from PyInstaller.depend.bindepend import get_imports

    site = tuple(os.path.realpath(p) for p in sys.path if p.endswith("site-packages"))
    base = os.path.realpath(sys.base_prefix)

    def prunable(entry) -> bool:
        src = os.path.realpath(entry[1])
        if entry[2] != "BINARY" or "/plugins/" in dest(entry):
            return False
        if src.startswith(site):
            return "/PySide6/Qt/lib/" in src
        return not src.startswith(base)  # a system library, collected only as a dependency

    reached: set[str] = set()
    stack = [os.path.realpath(e[1]) for e in binaries if not prunable(e)]
    while stack:
        src = stack.pop()
        if src in reached:
            continue
        reached.add(src)
        stack += [os.path.realpath(path) for _, path in get_imports(src) if path]
    kept = [e for e in binaries if not prunable(e) or os.path.realpath(e[1]) in reached]
    dropped = sorted(Path(dest(e)).name for e in binaries if e not in kept)
    if dropped:
        print(
            f"build.spec: dropped {len(dropped)} libraries only unused plugins needed: {', '.join(dropped)}"
        )
    return kept


def strip_debug_info(binaries: list, work: Path) -> list:
    """Linux: ``strip --strip-debug`` copies of libraries that carry debug sections (pyenv's libpython: 23 MB
    -> 6 MB; pylibjpeg's extensions), leaving alone what auditwheel/patchelf touched (``*.libs/`` folders and
    anything with an ``$ORIGIN`` RPATH/RUNPATH), which strip corrupts. PyInstaller's own ``strip=True``
    strips everything and breaks numpy's OpenBLAS ("ELF load command address/offset not page-aligned")."""
    if not IS_LINUX or not (shutil.which("strip") and shutil.which("readelf")):
        return binaries
    out_dir = work / "stripped"
    result, saved = [], 0
    for entry in binaries:
        destination, src, typecode = entry
        if ".libs/" in src.replace("\\", "/") or not os.path.isfile(src):
            result.append(entry)
            continue
        sections = subprocess.run(["readelf", "-S", "-d", "-W", src], capture_output=True, text=True).stdout
        if ".debug_" not in sections or "$ORIGIN" in sections:  # $ORIGIN rpath: auditwheel/patchelf was here
            result.append(entry)
            continue
        target = out_dir / destination
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
        if subprocess.run(["strip", "--strip-debug", str(target)], capture_output=True).returncode != 0:
            result.append(entry)
            continue
        saved += os.path.getsize(src) - target.stat().st_size
        result.append((destination, str(target), typecode))
    print(f"build.spec: stripped debug info: {saved / 1e6:.1f} MB saved")
    return result


# --------------------------------------------------------------------------- checks


def module_matches(name: str, banned: str) -> bool:
    return name == banned or name.startswith(banned + ".")


def extension_module(destination: str) -> str:
    """Extension file -> module: ``cv2/cv2.abi3.so`` -> ``cv2.cv2``, ``libjpeg/_libjpeg.cpython-311-....so``
    -> ``libjpeg._libjpeg``."""
    parent, _, name = destination.rpartition("/")
    return ".".join([*parent.split("/"), name.split(".")[0]]) if parent else name.split(".")[0]


def check_analysis(pure: Iterable, binaries: Sequence, datas: Sequence) -> list[str]:
    """Problems with what PyInstaller collected (empty when the bundle is complete and clean)."""
    modules = {entry[0] for entry in pure}
    modules |= {extension_module(dest(entry)) for entry in binaries if entry[2] == "EXTENSION"}
    problems = []
    for banned in FORBIDDEN:
        hits = sorted(m for m in modules if module_matches(m, banned))
        if hits:
            problems.append(
                f"must not be bundled: {banned} ({', '.join(hits[:5])}{' ...' if len(hits) > 5 else ''})"
            )
    files = [dest(e) for e in (*binaries, *datas)]
    for banned in FORBIDDEN_FILES:
        hits = [f for f in files if Path(f).name.startswith(banned)]
        if hits:
            problems.append(f"must not be bundled: {', '.join(hits[:5])}")
    for required in REQUIRED_MODULES:
        if not any(module_matches(m, required) for m in modules):
            problems.append(f"missing module: {required}")
    metadata_dirs = {Path(f).parts[0] for f in files if f.split("/")[0].endswith((".dist-info", ".egg-info"))}
    dists = {d.rsplit(".", 1)[0].split("-")[0].lower().replace(".", "_") for d in metadata_dirs}
    for dist in REQUIRED_METADATA:
        if dist not in dists:
            problems.append(f"missing package metadata (entry points, version): {dist}")
    platforms = {Path(f).stem for f in files if "/platforms/" in f}
    wanted = {"win32": "qwindows", "darwin": "libqcocoa"}.get(sys.platform, "libqxcb")
    for plugin in (wanted, "libqoffscreen" if not IS_WIN else "qoffscreen"):
        if plugin not in platforms:
            problems.append(f"missing Qt platform plugin: {plugin} (have {sorted(platforms)})")
    return problems


# --------------------------------------------------------------------------- executable


def icon(root: Path = ROOT) -> str | None:
    """Platform icon (.ico / .icns, else the .png PyInstaller converts with Pillow)."""
    icons = root / "assets" / "icons"
    preferred = {"win32": ICON_FILES["ico"], "darwin": ICON_FILES["icns"]}.get(sys.platform)
    for name in (preferred, ICON_FILES["png"]):
        if name and (icons / name).is_file():
            if name.endswith(".png") and (IS_WIN or IS_MAC):
                try:
                    import PIL  # noqa: F401 - PyInstaller converts .png with Pillow
                except ImportError:
                    continue
            return str(icons / name)
    print("build.spec: no application icon found in assets/icons; using PyInstaller's default")
    return None


def version_info(version: str, work: Path):
    """Windows version resource from pyproject's version (None on other platforms)."""
    if not IS_WIN:
        return None
    from PyInstaller.utils.win32 import versioninfo as vi

    numbers = tuple(
        (int(p) if p.isdigit() else 0) for p in (version.split("+")[0].split(".") + ["0"] * 4)[:4]
    )
    strings = {
        "CompanyName": ORGANISATION,
        "FileDescription": f"{APP_NAME} chest X-ray viewer ({RESEARCH_USE.rstrip('.').lower()})",
        "FileVersion": version,
        "InternalName": APP_NAME,
        "LegalCopyright": f"MIT licence. {RESEARCH_USE}",
        "OriginalFilename": f"{APP_NAME}.exe",
        "ProductName": APP_NAME,
        "ProductVersion": version,
    }
    info = vi.VSVersionInfo(
        ffi=vi.FixedFileInfo(filevers=numbers, prodvers=numbers),
        kids=[
            vi.StringFileInfo(
                [vi.StringTable("040904B0", [vi.StringStruct(k, v) for k, v in strings.items()])]
            ),
            vi.VarFileInfo([vi.VarStruct("Translation", [0x0409, 1200])]),
        ],
    )
    (work / "version_info.txt").write_text(str(info), encoding="utf-8")  # for inspection
    return info


def info_plist(version: str) -> dict:
    return {
        "CFBundleName": APP_NAME,
        "CFBundleDisplayName": APP_NAME,
        "CFBundleShortVersionString": version,
        "NSHighResolutionCapable": True,
        "NSRequiresAquaSystemAppearance": False,
        "LSApplicationCategoryType": "public.app-category.medical",
    }


def size_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 1e6
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6


def executable(dist: Path) -> Path:
    """The built app's executable in a one-folder build under ``dist``."""
    if IS_MAC:
        return dist / f"{APP_NAME}.app" / "Contents" / "MacOS" / APP_NAME
    return dist / APP_NAME / (f"{APP_NAME}.exe" if IS_WIN else APP_NAME)


__all__ = [
    "APP_NAME",
    "BUNDLE_ID",
    "EXCLUDES",
    "FORBIDDEN",
    "FORBIDDEN_FILES",
    "IS_MAC",
    "IS_WIN",
    "MODEL_DEST",
    "QT_PLUGIN_DROP",
    "REQUIRED_METADATA",
    "REQUIRED_MODULES",
    "asset_datas",
    "check_analysis",
    "dropped_plugin",
    "executable",
    "icon",
    "info_plist",
    "parse_options",
    "project_version",
    "prune_orphan_libraries",
    "strip_debug_info",
    "version_info",
    "with_model",
    "write_launcher",
]
