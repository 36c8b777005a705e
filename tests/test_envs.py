"""The conda environments in envs/ agree with pyproject.toml.

pip (`pip install -e .`) is the tested install; envs/*.yaml serve users who
deploy with `snakemake --sdm conda`. These tests keep the two from drifting:
every [project] dependency appears, with the same lower bound, in each
environment whose stages import it, and the environments list nothing else.

Name mapping from PyPI to conda (documented here because the tests rely on it):
  torch                  -> conda-forge `pytorch`
  opencv-python-headless -> kept as the PyPI wheel in the env's `pip:` section
                            (conda-forge's `opencv` drags in GUI libraries)
  witio                  -> the PyPI package in the `pip:` section (not on conda-forge)
  snakemake              -> in no env: it is the runner that creates the envs,
                            no job imports it
"""

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
ENVS = {"cpu": ROOT / "envs" / "ramansr.yaml", "torch": ROOT / "envs" / "torch.yaml"}

CONDA_NAME = {"torch": "pytorch"}
PIP_SECTION = {"opencv-python-headless", "witio"}
RUNNER_ONLY = {"snakemake"}
# The torch stages import the rest of the package as well, so the torch env
# holds everything; only torch itself stays out of the CPU env.
TORCH_ONLY = {"torch"}


def lower_bound(spec: str) -> str | None:
    """The version after `>=` in a requirement or conda match spec."""
    m = re.search(r">=\s*([0-9][0-9A-Za-z.]*)", spec)
    return m.group(1) if m else None


def pyproject():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = {}
    for line in data["dependencies"]:
        req = Requirement(line)
        deps[req.name.lower()] = lower_bound(str(req.specifier))
    return deps, lower_bound(data["requires-python"])


def env_packages(path: Path) -> tuple[dict, dict]:
    """(conda packages, pip packages), each {name: lower bound}."""
    conda, pip = {}, {}
    for entry in yaml.safe_load(path.read_text())["dependencies"]:
        if isinstance(entry, dict):
            for line in entry["pip"]:
                req = Requirement(line)
                pip[req.name.lower()] = lower_bound(str(req.specifier))
        else:
            name = re.match(r"[A-Za-z0-9_.\-]+", entry).group(0).lower()
            conda[name] = lower_bound(entry)
    return conda, pip


def expected_envs(dep: str) -> set[str]:
    if dep in RUNNER_ONLY:
        return set()
    return {"torch"} if dep in TORCH_ONLY else {"cpu", "torch"}


def find(dep: str, env: str) -> tuple[str, str | None] | None:
    """Where `dep` sits in an env: ('conda'|'pip', bound), or None."""
    conda, pip = env_packages(ENVS[env])
    if dep in PIP_SECTION:
        return ("pip", pip[dep]) if dep in pip else None
    name = CONDA_NAME.get(dep, dep)
    return ("conda", conda[name]) if name in conda else None


def test_every_pyproject_dependency_has_a_lower_bound():
    deps, python = pyproject()
    assert python == "3.11"
    assert set(deps) >= {"numpy", "torch", "opencv-python-headless", "snakemake"}
    assert all(deps.values()), {d: b for d, b in deps.items() if not b}


@pytest.mark.parametrize("dep", sorted(pyproject()[0]))
def test_dependency_is_in_the_envs_that_need_it_with_the_same_bound(dep):
    bound = pyproject()[0][dep]
    for env in ("cpu", "torch"):
        found = find(dep, env)
        if env in expected_envs(dep):
            assert found is not None, f"{dep} missing from {ENVS[env].name}"
            kind, env_bound = found
            assert kind == ("pip" if dep in PIP_SECTION else "conda")
            assert env_bound == bound, f"{ENVS[env].name}: {dep} >={env_bound}, pyproject >={bound}"
        else:
            assert found is None, f"{dep} should not be in {ENVS[env].name}"


@pytest.mark.parametrize("env", sorted(ENVS))
def test_env_lists_only_pyproject_dependencies(env):
    deps, python = pyproject()
    to_pypi = {v: k for k, v in CONDA_NAME.items()}
    conda, pip = env_packages(ENVS[env])
    assert conda.pop("python") == python
    assert conda.pop("pip") is None
    for name, bound in conda.items():
        dep = to_pypi.get(name, name)
        assert dep in deps and dep not in PIP_SECTION, f"{ENVS[env].name}: {name} is not a pyproject dependency"
        assert bound == deps[dep]
    for name, bound in pip.items():
        assert name in PIP_SECTION and bound == deps[name], f"{ENVS[env].name}: pip {name}"


def test_envs_together_cover_every_dependency_but_the_runner():
    deps, _ = pyproject()
    covered = {dep for dep in deps for env in ENVS if find(dep, env)}
    assert covered == set(deps) - RUNNER_ONLY
    assert set(deps) >= RUNNER_ONLY


def test_cpu_env_stays_free_of_torch():
    conda, pip = env_packages(ENVS["cpu"])
    assert not {"pytorch", "torch", "torchvision"} & (set(conda) | set(pip))
