"""``python -m training {train,calibrate,evaluate,export,gate,study}``: the training package's command line."""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "train": ("training.train", "train a model on a {NORMAL,PNEUMONIA} folder (patient-grouped validation)"),
    "calibrate": (
        "training.recalibrate",
        "fit temperature, operating points and heatmap scale of a run again",
    ),
    "evaluate": ("training.evaluate", "score a checkpoint or an ONNX model and write the evaluation report"),
    "export": ("training.export", "export checkpoint(s) to ONNX with probability, Grad-CAM and OOD outputs"),
    "study": (
        "training.study",
        "score recipes (checkpoints, ensembles, TTA) on validation and a test folder",
    ),
    "gate": ("training.gate", "measure the AI gate of an exported model (acceptance, rejection, OOD AUROC)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )
        importlib.import_module(module).add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(importlib.import_module(args._module).main(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
