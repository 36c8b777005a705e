"""The detector's offset and fluorescence against the decomposition: do HR component maps survive?

For simulated areas at the default geometry, each area is decomposed as the pipeline does (the
preprocessing, NMF fitted on the LR scan and applied to the HR scan on the LR scan's scale): its
scans from the ideal detector of earlier versions (no offset, no fluorescence), and from the default,
realistic detector under several preprocess settings. Printed per case: the collection ratio against
the true efficiency ratio (and first the ratio of median total counts of the scans as recorded, the
calibration before the offset was removed), the smallest HR/LR map contrast ratio (a collapsed HR map is near
0; a window on fewer phases than the field lowers it too), the worst HR component map's correlation
with its best-matching true phase abundance, and the seconds the preprocessing and decomposition took.

    python benchmarks/bench_detector.py [--areas A/1 C/2 F/3]
"""

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np
import yaml

from ramansr.decompose import fit_nmf, highres_in_lowres_units, transform_nmf
from ramansr.preprocess import preprocess_cube
from ramansr.simulate import simulate_area

CONFIG = yaml.safe_load(Path("config.yaml").read_text())


def decompose(lowres, highres, preprocess, decompose_settings):
    """Preprocess both scans and decompose them as the pipeline's stages do."""
    scans = {}
    for name, scan in (("lowres", lowres), ("highres", highres)):
        cube, data_min, data_max, record = preprocess_cube(scan.cube, scan.wavenumbers, preprocess, name=name)
        scans[name] = {"cube": cube, "data_min": data_min, "data_max": data_max, "baseline": record["baseline"]}
    d = decompose_settings
    lr_maps, _, model = fit_nmf(scans["lowres"]["cube"], d["n_components"], d["seed"], d["max_iter"], d["tol"])
    hr_cube, gain = highres_in_lowres_units(scans["lowres"], scans["highres"])
    return lr_maps, transform_nmf(model, hr_cube), gain


def contrast(maps):
    """Each map's 99th minus 1st percentile."""
    return np.percentile(maps, 99, axis=(1, 2)) - np.percentile(maps, 1, axis=(1, 2))


def truth_correlation(maps, abundances):
    """The worst component's best correlation with a true phase abundance map."""
    return min(
        max(abs(np.corrcoef(component.ravel(), phase.ravel())[0, 1]) for phase in abundances) for component in maps
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", nargs="+", default=["A/1", "C/2", "F/3"])
    args = parser.parse_args(argv)
    base = CONFIG["preprocess"]
    with_baseline = {**base, "baseline": {**base["baseline"], "enabled": True}}
    variants = {
        "offset estimated (default)": base,
        "offset estimated, baseline removed": with_baseline,
        "counts as recorded": {**base, "offset": "none"},
    }
    rows = []
    for label in args.areas:
        sample, area = label.split("/")
        realistic = simulate_area(CONFIG["simulation"], sample, int(area))
        ideal = copy.deepcopy(CONFIG["simulation"])
        ideal["offset"], ideal["baseline"] = {"enabled": False}, {"enabled": False}
        ideal_scans = simulate_area(ideal, sample, int(area))
        truth = realistic[2]
        true_ratio = truth["highres_scale"] / truth["lowres_scale"]
        # the ratio of median total counts as recorded, the calibration before the offset came off
        totals = [np.median(scan.cube.sum(axis=-1)) for scan in realistic[:2]]
        rows.append((label, "ratio of total counts (before)", totals[1] / totals[0] / true_ratio - 1.0, *[np.nan] * 3))
        cases = [("ideal detector, counts as recorded", ideal_scans, {**base, "offset": "none"})]
        cases += [(name, realistic, preprocess) for name, preprocess in variants.items()]
        for name, scans, preprocess in cases:
            started = time.perf_counter()
            lr_maps, hr_maps, gain = decompose(*scans[:2], preprocess, CONFIG["decompose"])
            seconds = time.perf_counter() - started
            ratio = contrast(hr_maps) / np.maximum(contrast(lr_maps), 1e-12)
            correlation = truth_correlation(hr_maps, scans[2]["highres_abundance"])
            rows.append((label, name, gain / true_ratio - 1.0, ratio.min(), correlation, seconds))
    print("| area | scans, preprocessing | ratio error | min HR/LR contrast | min HR map-truth corr. | seconds |")
    print("|---|---|---|---|---|---|")
    for label, name, error, ratio, correlation, seconds in rows:
        print(f"| {label} | {name} | {error:+.1%} | {ratio:.2f} | {correlation:.3f} | {seconds:.1f} |")


if __name__ == "__main__":
    sys.exit(main())
