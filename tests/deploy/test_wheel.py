"""The wheel the Containerfile installs (the image itself cannot be built here: no container
engine). It is built from exactly what the Containerfile copies, holds every module, the
contract and the generated models, declares the three programs and the agent's plugins, and,
installed into a fresh virtualenv with nothing but its declared dependencies, runs: the
programs answer --help, the API serves its spec, and the Deployment's probe works."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement

from tests.controlplane import REPO_ROOT, free_port
from tests.deploy.processes import Process, clean_env

CONTAINERFILE = REPO_ROOT / "Containerfile"
PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
SCRIPTS = {
    "elemental-api": "elemental_api.cli:main",
    "elemental-operator": "elemental_operator.cli:main",
    "elemental-agent": "elemental_agent.cli:main",
}


def build_stage_copies() -> list[tuple[str, str]]:
    """(source, destination) of every COPY in the Containerfile's first stage."""
    text = CONTAINERFILE.read_text()
    first_stage = text.split("\nFROM ", 2)[1]
    copies = []
    for line in first_stage.splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            *sources, destination = line.split()[1:]
            copies += [(source, destination) for source in sources]
    return copies


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip wheel --no-deps` of a copy of what the Containerfile copies into its build stage."""
    source = tmp_path_factory.mktemp("wheel-source")
    for item, destination in build_stage_copies():
        origin = REPO_ROOT / item
        target = source / item if destination.endswith("/") and item.endswith("/") else source / origin.name
        if origin.is_dir():
            # Symbolic links are followed: elemental_api/openapi.yaml becomes the file.
            shutil.copytree(origin, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(origin, target)
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(source)],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"pip wheel failed:\n{result.stdout}\n{result.stderr}"
    (built,) = out.glob("elemental_capi-*.whl")
    return built


def test_containerfile_builds_the_wheel_and_installs_it_as_a_non_root_user() -> None:
    text = CONTAINERFILE.read_text()
    stages = re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE)
    assert len(stages) == 2, "a build stage and a runtime stage"
    assert re.search(r"^ARG PYTHON_IMAGE=\S*python:3\.11-slim$", text, re.MULTILINE)
    assert "pip wheel" in text and "--no-index --find-links /wheels elemental-capi" in text
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and re.fullmatch(r"[1-9]\d*(:\d+)?", users[-1]), "the last USER must be numeric, not root"
    for source, _destination in build_stage_copies():
        assert (REPO_ROOT / source).exists(), f"the Containerfile copies {source}, which does not exist"


def test_wheel_holds_every_module_the_contract_and_the_generated_models(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert archive.read("elemental_api/openapi.yaml") == (REPO_ROOT / "openapi.yaml").read_bytes()
        generated = REPO_ROOT / "generated" / "elemental_models" / "api.py"
        assert archive.read("elemental_models/api.py") == generated.read_bytes()
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        requires = {
            line.split(":", 1)[1].strip()
            for line in archive.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist:") and "extra ==" not in line
        }
    directories = PYPROJECT["tool"]["setuptools"]["package-dir"]
    for package in PYPROJECT["tool"]["setuptools"]["packages"]:
        top = package.split(".")[0]
        folder = REPO_ROOT / directories.get(top, top) / Path(*package.split(".")[1:])
        for module in folder.glob("*.py"):
            assert f"{package.replace('.', '/')}/{module.name}" in names, (
                f"{package}.{module.stem} is not in the wheel"
            )
    # No package directory left out of pyproject.toml's list.
    for top in ("elemental_api", "elemental_operator", "elemental_agent", "elemental_models"):
        root = REPO_ROOT / directories.get(top, top)
        for init in root.rglob("__init__.py"):
            package = ".".join([top, *init.parent.relative_to(root).parts])
            assert package in PYPROJECT["tool"]["setuptools"]["packages"], f"{package} is not packaged"
    assert {_requirement(r) for r in requires} == {
        _requirement(d) for d in PYPROJECT["project"]["dependencies"]
    }


def _requirement(text: str) -> tuple[str, frozenset[str], str]:
    requirement = Requirement(text)
    return requirement.name.lower(), frozenset(requirement.extras), str(requirement.specifier)


def test_wheel_declares_the_programs_and_the_agents_plugins(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        (entry_points,) = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
        parser = configparser.ConfigParser()
        parser.read_string(archive.read(entry_points).decode())
    assert dict(parser["console_scripts"]) == SCRIPTS
    assert dict(parser["elemental_agent.os_plugins"]) == {
        "dummy": "elemental_agent.plugins.dummy:DummyPlugin",
        "elemental": "elemental_agent.plugins.elemental:ElementalPlugin",
    }


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh virtualenv with the wheel and its declared dependencies (from the package index)."""
    venv = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    result = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            str(wheel),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"installing the wheel failed:\n{result.stdout}\n{result.stderr}"
    yield venv / "bin"


@pytest.mark.parametrize(
    ("program", "args"),
    [
        ("elemental-api", ["serve", "--help"]),
        ("elemental-operator", ["run", "--help"]),
        ("elemental-agent", ["--help"]),
    ],
)
def test_installed_programs_run(installed: Path, program: str, args: list[str]) -> None:
    result = subprocess.run(
        [str(installed / program), *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: {program}")


def test_installed_api_serves_its_spec_and_answers_the_deployments_probe(
    installed: Path, tmp_path: Path
) -> None:
    port = free_port()
    command = [
        str(installed / "elemental-api"),
        "serve",
        "--port",
        str(port),
        "--workers",
        "1",
        "--store",
        f"sqlite:///{tmp_path / 'e.db'}",
    ]
    env = clean_env({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)})
    server = Process("elemental-api (wheel)", command, env, tmp_path / "server.log")
    try:

        def spec() -> httpx.Response | None:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/elemental/v1/openapi.json", timeout=2)
            except httpx.HTTPError:
                return None
            return response if response.status_code == 200 else None

        served = server.wait_for(spec, 60, "the spec")
        assert served.json()["info"]["title"]
        probe = [
            str(installed / "python"),
            "-m",
            "elemental_api.tls",
            "probe",
            "--port",
            str(port),
            "/readyz",
        ]
        assert subprocess.run(probe, check=False, env=env, timeout=30).returncode == 0
    finally:
        assert server.stop() == 0, server.log()
