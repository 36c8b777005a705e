"""Time the whole pipeline on this machine, and show where the time goes.

Runs ``snakemake --cores N`` with a config (default: config.yaml, the paper-scale
simulated run) in a scratch copy of the repository, then prints the wall time
and, per rule, the number of jobs and the summed and largest job seconds, CPU
seconds and peak memory from Snakemake's ``benchmark:`` files.

    python benchmarks/bench_pipeline.py --cores 2
    python benchmarks/bench_pipeline.py --cores 2 --configfile .test/config.yaml
    python benchmarks/bench_pipeline.py --cores 2 -- --resources gpu=2 --set-threads train=1   # more options

With the default config it also checks issue 13's targets: the run within ``TARGET_MINUTES`` on 2 cores,
and on the test table (against the noise-free truth) the best learned model at or above
``TARGET_BEST_PSNR`` and every learned model above bicubic, on the LR scale and on the paper's min-max scale.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
TARGET_MINUTES = 10
# the best learned model's test PSNR (paper's min-max scale, against the truth) before the run was made faster
TARGET_BEST_PSNR = 28.10
IGNORE = shutil.ignore_patterns(".git", "results", ".snakemake", "__pycache__", "*.egg-info", ".pytest_cache")


def rule_table(benchmark_dir):
    """Per rule: jobs, summed and largest wall seconds, summed CPU seconds, peak RSS (MB)."""
    rows = []
    for path in benchmark_dir.rglob("*.tsv"):
        rule = path.relative_to(benchmark_dir).parts[0].removesuffix(".tsv")
        record = pd.read_csv(path, sep="\t").iloc[-1]
        rows.append({"rule": rule, "s": record["s"], "cpu_time": record["cpu_time"], "max_rss": record["max_rss"]})
    table = (
        pd.DataFrame(rows)
        .groupby("rule")
        .agg(
            jobs=("s", "size"),
            wall_s=("s", "sum"),
            longest_s=("s", "max"),
            cpu_s=("cpu_time", "sum"),
            peak_rss_mb=("max_rss", "max"),
        )
    )
    return table.sort_values("wall_s", ascending=False)


def quality_table(test_csv):
    """Mean test PSNR and SSIM against the clean truth per model and scale, from ``results/tables/test.csv``."""
    table = pd.read_csv(test_csv)
    table = table[(table["reference"] == "clean") & (table["statistic"] == "mean")]
    table = table.drop(columns=["reference", "statistic", "Measured HR (ceiling)"], errors="ignore")
    return table.set_index(["scale", "metric"])


def quality_targets(quality):
    """Lines saying whether every learned model beats bicubic and the best reaches ``TARGET_BEST_PSNR``."""
    learned = [name for name in quality.columns if name not in ("Linear interpolation", "Bicubic")]
    lines = []
    for (scale, metric), row in quality.iterrows():
        below = [name for name in learned if row[name] <= row["Bicubic"]]
        verdict = "met" if not below else "NOT met: " + ", ".join(below)
        lines.append(f"every learned model above bicubic, {metric}, {scale} scale: {verdict}")
    best = quality.loc[("minmax", "PSNR (dB)"), learned].max()
    verdict = "met" if best >= TARGET_BEST_PSNR else "NOT met"
    lines.append(f"best learned PSNR (min-max scale) {best:.2f} dB, target >= {TARGET_BEST_PSNR}: {verdict}")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--configfile", help="extra config file, relative to the repository")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy and print its path")
    parser.add_argument("snakemake_options", nargs="*", help="more Snakemake options, after --")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="ramansr-bench-")) / "repo"
    shutil.copytree(REPO, workdir, ignore=IGNORE)
    command = [sys.executable, "-m", "snakemake", "--cores", str(args.cores)]
    if args.configfile:
        command += ["--configfile", args.configfile]
    command += args.snakemake_options
    started = time.perf_counter()
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"snakemake failed:\n{result.stderr[-3000:]}")
    verdict = "met" if wall <= 60 * TARGET_MINUTES else "NOT met"
    options = " ".join(["--cores", str(args.cores), *args.snakemake_options])
    print(f"pipeline wall time: {wall:.0f} s ({wall / 60:.1f} min) with {options}", end="")
    print(f"; target <= {TARGET_MINUTES} min (default config, 2 cores): {verdict}\n" if not args.configfile else "\n")
    print(rule_table(workdir / "results/benchmarks").round(1).to_string())
    test_csv = workdir / "results/tables/test.csv"
    if test_csv.exists():
        quality = quality_table(test_csv)
        print("\ntest set against the noise-free truth (mean):")
        print(quality.round(3).to_string())
        print("\n".join(["", *quality_targets(quality)]))
    if args.keep:
        print(f"\nscratch copy kept at {workdir}")
    else:
        shutil.rmtree(workdir.parent)


if __name__ == "__main__":
    main()
