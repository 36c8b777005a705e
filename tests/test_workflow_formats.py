"""The pipeline reads every scan format: a samples sheet mixing .mat and Table exports, and a real
Renishaw map super-resolved as an LR-only scan with the .test model."""

import json
import shutil

import pytest
import yaml
from conftest import copy_repo
from io_helpers import RENISHAW
from workflow_helpers import TEST_CONFIG, rules_of, snakemake

from ramansr.io import read_scan, write_table

pytestmark = pytest.mark.slow

WDF = RENISHAW
AREAS = [("A", "1"), ("A", "2"), ("F", "1"), ("F", "2")]


@pytest.fixture(scope="module")
def finished_run(local_test_run):
    """The complete local run of the .test config (shared with the other workflow tests)."""
    return local_test_run.wait()


def write_config(workdir, **changes):
    config = yaml.safe_load((workdir / TEST_CONFIG).read_text())
    config.update(changes)
    (workdir / TEST_CONFIG).write_text(yaml.safe_dump(config, sort_keys=False))


def test_a_sheet_of_mat_files_and_table_exports_gives_the_same_registration(finished_run, tmp_path):
    """LR scans as the simulator's .mat, HR scans as Table exports (with header for A, without for F)."""
    workdir = copy_repo(tmp_path / "formats")
    rows = ["sample\tarea\tlowres\thighres\thighres_shape\thighres_step_um"]
    for sample, area in AREAS:
        folder = workdir / "data" / sample / area
        folder.mkdir(parents=True)
        shutil.copy(finished_run / f"results/simulated/{sample}/{area}/lowres.mat", folder / "lowres.mat")
        highres = read_scan(finished_run / f"results/simulated/{sample}/{area}/highres.mat")
        with_header = sample == "A"
        write_table(highres, folder / "highres.txt", header=with_header)
        # write_table writes the points along each line first; a square grid cannot show it, the sheet says it
        shape = "" if with_header else "{} x {}, x fastest".format(*highres.cube.shape[:2])
        # a Table export records no pixel size: the sheet gives it
        step = highres.pixel_size_um[0]
        rows.append(
            f"{sample}\t{area}\tdata/{sample}/{area}/lowres.mat\tdata/{sample}/{area}/highres.txt\t{shape}\t{step}"
        )
    (workdir / "samples.tsv").write_text("\n".join(rows) + "\n")
    write_config(workdir, source="samples", samples="samples.tsv")
    # One area per HR layout (A: with header, F: without) runs; the sheet lists all four.
    checked = [("A", "1"), ("F", "2")]
    stages = ("registration", "selection")
    snakemake(workdir, "--cores", "2", *(f"results/{stage}/{s}/{a}.json" for stage in stages for s, a in checked))
    for sample, area in checked:
        for stage in stages:
            ours = json.loads((workdir / f"results/{stage}/{sample}/{area}.json").read_text())
            simulated = json.loads((finished_run / f"results/{stage}/{sample}/{area}.json").read_text())
            assert ours == simulated, (stage, sample, area)


@pytest.mark.skipif(not WDF.exists(), reason=f"the real Renishaw map is not at {WDF} (../shared absent)")
def test_a_renishaw_map_is_super_resolved_as_an_lr_only_scan(finished_run, tmp_path):
    workdir = tmp_path / "run"
    shutil.copytree(finished_run, workdir, symlinks=True)
    config = yaml.safe_load((workdir / TEST_CONFIG).read_text())
    config["predict"]["scans"] = {"renishaw_map": str(WDF)}
    (workdir / TEST_CONFIG).write_text(yaml.safe_dump(config, sort_keys=False))  # same params, no retraining
    target = "results/predictions/renishaw_map/cube.mat"
    # a 2.6 um map against a model trained on 2 um steps: refused, naming both steps
    refused = snakemake(workdir, "--cores", "2", target, check=False)
    log = (workdir / "results/logs/predict/renishaw_map.log").read_text()
    assert refused.returncode != 0 and "step 2.6 x 2.6 um is not the LR step the model was trained on (2 um" in log
    config["predict"]["scans"] = {"renishaw_map": {"path": str(WDF), "allow_step_mismatch": True}}
    (workdir / TEST_CONFIG).write_text(yaml.safe_dump(config, sort_keys=False))
    result = snakemake(workdir, "--cores", "2", target)
    assert rules_of(
        {
            (line.split()[1].rstrip(":"), ())
            for line in result.stderr.splitlines()
            if line.startswith(("rule ", "localrule "))
        }
    ) == {"predict"}
    lowres = read_scan(WDF)
    cube = read_scan(workdir / target)
    assert cube.cube.shape == (4 * 49, 4 * 45, 394)
    assert cube.pixel_size_um == pytest.approx((2.6 / 4, 2.6 / 4))
    assert cube.wavenumbers == pytest.approx(lowres.wavenumbers)
