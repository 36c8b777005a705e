"""Each light stage imports only what it uses: a job's start-up is part of its cost (issue 13)."""

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "sklearn", "matplotlib", "scipy.signal")
# stage -> what else it must not import: the per-area stages that write no table need no pandas
EXTRA_HEAVY = {"register": ("pandas",), "select": ("pandas",)}

# stage -> the package modules its workflow script imports
STAGES = {
    "convert": ("ramansr.geometry.areas", "ramansr.io", "ramansr.io_utils"),
    "area_geometry, geometry": ("ramansr.geometry.areas",),
    "register": ("ramansr.register",),
    "select": ("ramansr.selection",),
    "dataset, cv_split": ("ramansr.dataset",),
    # a test area's check runs in envs/ramansr.yaml, which has no torch
    "prediction_check": ("ramansr.prediction.check",),
}


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_light_stages_do_not_import_heavy_libraries(stage):
    code = (
        "import importlib, json, sys\n"
        f"for name in {STAGES[stage]!r}: importlib.import_module(name)\n"
        f"print(json.dumps([m for m in {HEAVY + EXTRA_HEAVY.get(stage, ())!r} if m in sys.modules]))"
    )
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert loaded == [], f"{stage} imports {loaded}"


def test_prediction_and_the_models_image_with_the_optics_not_the_simulator():
    code = (
        "import importlib, json, pkgutil, sys\n"
        "for package in ('ramansr.prediction', 'ramansr.models'):\n"
        "    path = importlib.import_module(package).__path__\n"
        "    for module in pkgutil.walk_packages(path, package + '.'): importlib.import_module(module.name)\n"
        "print(json.dumps([m for m in sys.modules if m.startswith('ramansr.simulate')]))"
    )
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert loaded == []
