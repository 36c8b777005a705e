"""What a workflow job spends before its first line of work (issue 13's per-job overhead).

A stage runs as a Snakemake ``script:`` job: a fresh Python interpreter runs
Snakemake's preamble (it unpickles the job's ``snakemake`` object, which imports
part of Snakemake), then the stage's script imports the package. For each
stage this times, in fresh interpreters (median of ``--repeats``):

- ``interpreter``: ``python -c pass`` (site-packages' .pth files included);
- ``preamble``: the imports of Snakemake's script preamble, beyond the interpreter;
- ``imports``: the script's own imports (read from ``workflow/scripts/<stage>.py``)
  plus the libraries its stage imports only inside the function that needs
  them (``LAZY_IMPORTS``), beyond the preamble;

and, from ``python -X importtime``, the three libraries those imports spend
most on (a library imported by another counts in both). ``left of 0.5 s`` is
what issue 13's overhead target leaves for reading and writing the stage's
files once the job has started. Bytecode caching is on (PYTHONDONTWRITEBYTECODE
is dropped from the environment), as on a user's machine; without it every job
compiles the package anew.

    python benchmarks/bench_startup.py
    python benchmarks/bench_startup.py --stages convert register --repeats 9
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STAGES = ["convert", "area_geometry", "preprocess", "decompose", "register", "select", "clean_maps", "simulate"]
OVERHEAD_TARGET_S = 0.5
# imported inside the stage's functions, so that the stages that do not smooth need not pay for it
LAZY_IMPORTS = {"preprocess": ["scipy.signal"], "clean_maps": ["scipy.signal"]}
PREAMBLE = "import pickle; from snakemake.logging import logger; from snakemake.iocontainers import Snakemake"


def script_imports(stage):
    """The import statements of a stage's workflow script, and its function-level imports."""
    source = (REPO / "workflow" / "scripts" / f"{stage}.py").read_text()
    statements = [line for line in source.splitlines() if re.match(r"(from \S+ )?import ", line)]
    return statements + [f"import {module}" for module in LAZY_IMPORTS.get(stage, [])]


def median_seconds(code, repeats, environment):
    """Median wall seconds of ``python -c code`` in a fresh interpreter."""
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=environment, cwd=REPO)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def heaviest_libraries(code, environment, count=3):
    """The ``count`` libraries that cost ``code`` the most import time (s), from ``python -X importtime``.

    A library's cost is the cumulative time of each import that enters it from
    another package (the package itself and Python's start-up modules aside).
    """
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True, env=environment
    )
    entries = [re.match(r"import time:\s+\d+ \|\s+(\d+) \| ( *)(\S+)", line) for line in result.stderr.splitlines()]
    costs, parents = {}, {}
    # importtime lists a module after its imports, indented one step deeper: reversed, parents come first
    for match in reversed([entry for entry in entries if entry]):
        level, library = len(match.group(2)) // 2, match.group(3).split(".")[0]
        parents[level] = library
        if level == 0 or parents[level - 1] != library:
            costs[library] = costs.get(library, 0) + int(match.group(1))
    shown = [(name, cost) for name, cost in costs.items() if name not in ("ramansr", "site", "encodings")]
    top = sorted(shown, key=lambda item: -item[1])[:count]
    return ", ".join(f"{name} {microseconds / 1e6:.2f}" for name, microseconds in top)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stages", nargs="+", default=STAGES, choices=STAGES)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    # the first runs write the package's bytecode; time what follows
    for stage in args.stages:
        subprocess.run([sys.executable, "-c", "; ".join(script_imports(stage))], check=True, env=environment)
    interpreter = median_seconds("pass", args.repeats, environment)
    preamble = median_seconds(PREAMBLE, args.repeats, environment)
    print(f"interpreter {interpreter:.2f} s; Snakemake's script preamble {preamble - interpreter:.2f} s beyond it")
    print()
    print("| stage | interpreter + preamble (s) | imports (s) | start-up (s) | left of 0.5 s | heaviest imports (s) |")
    print("|---|---|---|---|---|---|")
    for stage in args.stages:
        code = "; ".join([PREAMBLE, *script_imports(stage)])
        startup = median_seconds(code, args.repeats, environment)
        heaviest = heaviest_libraries("; ".join(script_imports(stage)), environment)
        print(
            f"| {stage} | {preamble:.2f} | {startup - preamble:.2f} | {startup:.2f} | "
            f"{OVERHEAD_TARGET_S - startup:+.2f} | {heaviest} |"
        )


if __name__ == "__main__":
    main()
