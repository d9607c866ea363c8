"""The wheel the Containerfile installs (the images themselves cannot be built here: no
container engine). It is built from exactly what the Containerfile copies, holds every module,
the contract and the generated models, declares the three programs, the agent's plugins and
the extras; installed into a fresh virtualenv with nothing but its declared dependencies, it
runs: with every extra (the provider image) the programs answer --help, the API serves its
spec and the Deployment's probe works; without extras (the agent image) only the agent's
dependency closure is installed, every agent module imports, and the servers name their extra.
"""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.controlplane import REPO_ROOT, free_port
from tests.deploy.processes import Process, clean_env

CONTAINERFILE = REPO_ROOT / "Containerfile"
PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
SCRIPTS = {
    "elemental-api": "elemental_api.cli:main",
    "elemental-operator": "elemental_operator.cli:main",
    "elemental-agent": "elemental_agent.cli:main",
}


# What the agent image must not carry: the server stack and the Kubernetes client.
NOT_IN_THE_AGENT = {
    "kubernetes",
    "connexion",
    "flask",
    "starlette",
    "gunicorn",
    "uvicorn",
    "prometheus-client",
}
# What a fresh virtualenv has before anything is installed.
VENV_OWN = {"pip", "setuptools", "wheel"}


def stages() -> dict[str, str]:
    """The Containerfile's stages, by name (`AS NAME`, else the image), in order: their lines."""
    found: dict[str, str] = {}
    name = ""
    for line in CONTAINERFILE.read_text().splitlines():
        start = re.match(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?\s*$", line, re.IGNORECASE)
        if start:
            name = start.group(2) or start.group(1)
            found[name] = ""
        if name:
            found[name] += line + "\n"
    return found


def build_stage_copies() -> list[tuple[str, str]]:
    """(source, destination) of every COPY in the Containerfile's first stage."""
    first_stage = next(iter(stages().values()))
    copies = []
    for line in first_stage.splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            *sources, destination = line.split()[1:]
            copies += [(source, destination) for source in sources]
    return copies


def pip_installs(stage: str) -> list[str]:
    """What a stage's `pip install --no-index --find-links /wheels ...` installs."""
    joined = stage.replace("\\\n", " ")
    return re.findall(r"pip install --no-index --find-links /wheels (\S+)", joined)


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


def test_containerfile_builds_the_wheels_of_every_extra_then_two_images() -> None:
    text = CONTAINERFILE.read_text()
    assert re.search(r"^ARG PYTHON_IMAGE=\S*python:3\.11-slim$", text, re.MULTILINE)
    found = stages()
    build, *_, last = found.values()
    assert 'pip wheel --no-cache-dir --wheel-dir /wheels ".[all]"' in build
    for source, _destination in build_stage_copies():
        assert (REPO_ROOT / source).exists(), f"the Containerfile copies {source}, which does not exist"
    # every package of the wheel is copied into the build stage
    copied = {source.rstrip("/") for source, _destination in build_stage_copies()}
    directories = PYPROJECT["tool"]["setuptools"]["package-dir"]
    for package in PYPROJECT["tool"]["setuptools"]["packages"]:
        top = package.split(".")[0]
        folder = directories.get(top, top)
        assert any(folder == c or folder.startswith(c + "/") for c in copied), f"{folder} is not copied"
    # the provider: the default target (last), every extra, a numeric non-root user
    assert pip_installs(last) == ['"elemental-capi[all]"']
    users = re.findall(r"^USER\s+(\S+)", last, re.MULTILINE)
    assert users and re.fullmatch(r"[1-9]\d*(:\d+)?", users[-1]), "the last USER must be numeric, not root"
    # the agent: `--target agent`, the wheel without extras, the agent as entrypoint
    agent = found["agent"]
    assert pip_installs(agent) == ["elemental-capi"]
    assert re.search(r'^ENTRYPOINT \["elemental-agent"\]$', agent, re.MULTILINE)


def test_wheel_holds_every_module_the_contract_and_the_generated_models(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert archive.read("elemental_api/openapi.yaml") == (REPO_ROOT / "openapi.yaml").read_bytes()
        generated = REPO_ROOT / "generated" / "elemental_models" / "api.py"
        assert archive.read("elemental_models/api.py") == generated.read_bytes()
        sdk = REPO_ROOT / "generated" / "elemental_client"
        for module in sdk.rglob("*.py"):
            assert archive.read(f"elemental_client/{module.relative_to(sdk)}") == module.read_bytes()
        assert "elemental_client/py.typed" in names
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        requires = {
            line.split(":", 1)[1].strip()
            for line in archive.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist:") and "extra ==" not in line
        }
        extras = {
            line.split(":", 1)[1].strip()
            for line in archive.read(metadata).decode().splitlines()
            if line.startswith("Provides-Extra:")
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
    for top in (
        "elemental_api",
        "elemental_operator",
        "elemental_agent",
        "elemental_models",
        "elemental_client",
    ):
        root = REPO_ROOT / directories.get(top, top)
        for init in root.rglob("__init__.py"):
            package = ".".join([top, *init.parent.relative_to(root).parts])
            assert package in PYPROJECT["tool"]["setuptools"]["packages"], f"{package} is not packaged"
    assert {_requirement(r) for r in requires} == {
        _requirement(d) for d in PYPROJECT["project"]["dependencies"]
    }
    assert extras == set(PYPROJECT["project"]["optional-dependencies"]) >= {"api", "operator", "all", "dev"}


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


def install(wheel: Path, venv: Path, extras: str = "") -> Path:
    """A fresh virtualenv with the wheel (and `extras`) and its declared dependencies, from the
    package index; its bin directory."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    requirement = f"{wheel}[{extras}]" if extras else str(wheel)
    result = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            requirement,
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"installing {requirement} failed:\n{result.stdout}\n{result.stderr}"
    return venv / "bin"


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The provider image's install: the wheel with every extra."""
    yield install(wheel, tmp_path_factory.mktemp("venv") / "v", "all")


@pytest.fixture(scope="module")
def agent_alone(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The agent image's install: the wheel without extras."""
    yield install(wheel, tmp_path_factory.mktemp("venv-agent") / "v")


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


# -- the agent alone -------------------------------------------------------------------------------


def distributions(bin_dir: Path) -> dict[str, metadata.Distribution]:
    """The distributions installed in a virtualenv, by canonical name."""
    purelib = subprocess.run(
        [str(bin_dir / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    return {canonicalize_name(d.metadata["Name"]): d for d in metadata.distributions(path=[purelib])}


def closure(installed: dict[str, metadata.Distribution], name: str) -> set[str]:
    """`name` and everything its requirements need, transitively (markers evaluated here: the
    virtualenv runs this interpreter)."""
    needed: set[str] = set()
    todo: list[tuple[str, frozenset[str]]] = [(canonicalize_name(name), frozenset())]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        current, extras = todo.pop()
        if (current, extras) in seen:
            continue
        seen.add((current, extras))
        needed.add(current)
        assert current in installed, f"{current} is required but not installed"
        for text in installed[current].requires or []:
            requirement = Requirement(text)
            environments = [{"extra": extra} for extra in extras] or [{"extra": ""}]
            if requirement.marker and not any(requirement.marker.evaluate(e) for e in environments):
                continue
            todo.append((canonicalize_name(requirement.name), frozenset(requirement.extras)))
    return needed


def test_the_agent_alone_installs_only_its_dependency_closure(agent_alone: Path) -> None:
    installed = distributions(agent_alone)
    assert set(installed) - VENV_OWN == closure(installed, "elemental-capi")
    # What the agent image carries (the README says how many): the project, its six direct
    # dependencies and theirs.
    assert len(set(installed) - VENV_OWN) == 18, sorted(installed)
    assert not NOT_IN_THE_AGENT & set(installed)
    # the base dependencies are the agent's (and elemental_core's) own imports
    direct = {canonicalize_name(Requirement(d).name) for d in PYPROJECT["project"]["dependencies"]}
    # (attrs: the generated SDK's models, elemental_client)
    assert direct == {"pyjwt", "cryptography", "pydantic", "pyyaml", "httpx", "attrs"}


def test_the_agent_alone_imports_every_module_of_the_agent_the_core_and_the_models(agent_alone: Path) -> None:
    program = (
        "import importlib, pkgutil\n"
        "for top in ('elemental_agent', 'elemental_core', 'elemental_models', 'elemental_client'):\n"
        "    package = importlib.import_module(top)\n"
        "    print(package.__file__)\n"
        "    for module in pkgutil.walk_packages(package.__path__, top + '.'):\n"
        "        importlib.import_module(module.name)\n"
        "        print(module.name)\n"
    )
    result = subprocess.run(
        [str(agent_alone / "python"), "-c", program],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=agent_alone,  # not the checkout: the installed modules only
        env={k: v for k, v in clean_env().items() if k != "PYTHONPATH"},
    )
    assert result.returncode == 0, result.stderr
    imported = set(result.stdout.split())
    files = [line for line in imported if line.endswith("__init__.py")]
    assert len(files) == 4 and all(Path(f).is_relative_to(agent_alone.parent) for f in files), files
    assert {
        "elemental_agent.cli",
        "elemental_agent.plugins.elemental",
        "elemental_core.tokens",
        "elemental_client.api.hosts.patch_host",
    } <= imported


@pytest.mark.parametrize("args", [["--help"], ["version"]])
def test_the_agent_alone_runs(agent_alone: Path, args: list[str]) -> None:
    result = subprocess.run(
        [str(agent_alone / "elemental-agent"), *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        "usage: elemental-agent" if args == ["--help"] else "elemental-agent version"
    )


@pytest.mark.parametrize(("program", "extra"), [("elemental-api", "api"), ("elemental-operator", "operator")])
def test_without_their_extra_the_servers_name_it(agent_alone: Path, program: str, extra: str) -> None:
    result = subprocess.run(
        [str(agent_alone / program), "serve" if extra == "api" else "run", "--help"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
    )
    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"{program}: needs ")
    assert line.endswith(f"pip install 'elemental-capi[{extra}]'")
