"""Super-resolve a new LR-only scan with a trained model.

The ``ramansr-predict`` command: ``ramansr-predict LOWRES.mat CHECKPOINT.pt [--out-prefix PREFIX]``
writes ``PREFIX_maps.npz``, ``PREFIX.png`` and ``PREFIX.mat`` (:func:`ramansr.prediction.scan.predict_scan`),
with the calibrated uncertainty when the model has a calibration (``calibration.json`` beside the
checkpoint, or ``--calibration``).
"""

import argparse
import json
from pathlib import Path

from ramansr.optics import DEFAULT_EXCITATION_NM, DEFAULT_LOWRES_NA
from ramansr.prediction.scan import predict_scan
from ramansr.prediction.trust import CALIBRATION_NAME, default_calibration


def argument_parser():
    """The ``ramansr-predict`` command's arguments."""
    parser = argparse.ArgumentParser(prog="ramansr-predict", description=__doc__.splitlines()[0])
    parser.add_argument("lowres", type=Path, help="LR scan (.mat)")
    parser.add_argument("checkpoint", type=Path, help="trained model checkpoint (best.pt or last.pt)")
    parser.add_argument(
        "--out-prefix",
        type=Path,
        help="writes PREFIX_maps.npz, PREFIX.png, PREFIX.mat (default: LOWRES without suffix + '_sr')",
    )
    parser.add_argument("--out-maps", type=Path, help="overrides PREFIX_maps.npz")
    parser.add_argument("--out-png", type=Path, help="overrides PREFIX.png")
    parser.add_argument("--out-mat", type=Path, help="overrides PREFIX.mat")
    # the checkpoint stores the settings it was trained with; these may repeat them, never contradict them
    parser.add_argument("--n-components", type=int, help="NMF components (default: the checkpoint's)")
    parser.add_argument("--window-length", type=int, help="Savitzky-Golay window (default: the checkpoint's)")
    parser.add_argument("--polyorder", type=int, help="Savitzky-Golay order (default: the checkpoint's)")
    parser.add_argument("--seed", type=int, help="NMF seed (default: the checkpoint's)")
    parser.add_argument("--max-iter", type=int, help="NMF iterations at most (default: the checkpoint's)")
    parser.add_argument("--tol", type=float, help="NMF convergence tolerance (default: the checkpoint's)")
    parser.add_argument("--device", help="cpu, cuda, cuda:1, ... (default: CUDA when available)")
    parser.add_argument("--variable", help="the map to read from a file that holds several")
    parser.add_argument("--image-shape", help="'rows x cols' of a WITec Table export without header lines")
    parser.add_argument(
        "--lowres-na",
        type=float,
        default=DEFAULT_LOWRES_NA,
        help=f"NA of the LR objective, for the LR consistency check (default {DEFAULT_LOWRES_NA})",
    )
    parser.add_argument(
        "--excitation-nm",
        type=float,
        default=DEFAULT_EXCITATION_NM,
        help=f"laser wavelength (nm), for the LR consistency check (default {DEFAULT_EXCITATION_NM:g})",
    )
    parser.add_argument(
        "--allow-step-mismatch",
        action="store_true",
        help="predict a scan whose pixel size differs from the model's trained LR step (default: refuse it)",
    )
    parser.add_argument(
        "--calibration",
        type=Path,
        help=f"the model's calibration, for the per-pixel uncertainty (default: {CALIBRATION_NAME} beside the "
        "checkpoint, when it exists)",
    )
    parser.add_argument("--no-uncertainty", action="store_true", help="skip the uncertainty")
    parser.add_argument(
        "--threshold-rmse",
        type=float,
        help="name the maps whose predicted RMSE is above this in the log (take the HR scan; default: none)",
    )
    return parser


def calibration_path(args):
    """The calibration to use: none with --no-uncertainty, else --calibration or the checkpoint's."""
    if args.no_uncertainty:
        return None
    return args.calibration or default_calibration(args.checkpoint)


def main(argv=None):
    """Command line entry point (``ramansr-predict``); prints the result as JSON."""
    args = argument_parser().parse_args(argv)
    prefix = args.out_prefix or args.lowres.with_name(args.lowres.stem + "_sr")
    result = predict_scan(
        args.lowres,
        args.checkpoint,
        args.out_maps or prefix.with_name(prefix.name + "_maps.npz"),
        args.out_png or prefix.with_name(prefix.name + ".png"),
        args.out_mat or prefix.with_name(prefix.name + ".mat"),
        overrides={
            "n_components": args.n_components,
            "window_length": args.window_length,
            "polyorder": args.polyorder,
            "seed": args.seed,
            "max_iter": args.max_iter,
            "tol": args.tol,
        },
        device=args.device,
        variable=args.variable,
        image_shape=args.image_shape,
        lowres_na=args.lowres_na,
        excitation_nm=args.excitation_nm,
        allow_step_mismatch=args.allow_step_mismatch,
        calibration=calibration_path(args),
        threshold_rmse=args.threshold_rmse,
    )
    print(json.dumps(result, indent=2))
    return 0
