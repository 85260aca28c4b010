"""The conda environment, the Makefile and pyproject.toml must agree on dependencies."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[; ]", req.strip(), maxsplit=1)[0].lower()


def _pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    return {_name(r): r.replace(" ", "") for r in reqs}


def _conda_pip_requirements() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return {_name(r): r.replace(" ", "") for r in pip if not r.startswith("-")}


def _conda_packages() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    return {_name(d.split("=")[0]): d for d in env["dependencies"] if isinstance(d, str)}


def test_environment_yml_lists_the_pyproject_dependencies():
    py, conda = _pyproject_requirements(), _conda_pip_requirements()
    # packages conda-forge builds (pyradiomics: an sdist on PyPI) come from conda, same version
    for name, spec in _conda_packages().items():
        if name in py and name not in conda:
            version = re.search(r"==([\d.]+)", py[name])
            assert version and spec.split("=")[-1] == version.group(1), (name, spec, py[name])
            conda[name] = py[name]
    assert set(py) == set(conda), f"only in pyproject: {set(py) - set(conda)}; only in environment.yml: {set(conda) - set(py)}"
    for name, req in py.items():
        if name != "torch":  # pinned exactly in environment.yml and the Makefile, a floor in pyproject
            assert conda[name] == req, (name, conda[name], req)


def test_torch_is_pinned_the_same_everywhere():
    pin = re.search(r"torch==([\d.]+)", (ROOT / "Makefile").read_text()).group(1)
    assert _conda_pip_requirements()["torch"] == f"torch=={pin}"
    floor = re.search(r"torch>=([\d.]+)", _pyproject_requirements()["torch"]).group(1)
    assert tuple(map(int, floor.split("."))) <= tuple(map(int, pin.split(".")))
