"""Assembles the clusterctl provider files from operator/config and operator/templates.

Plain text concatenation: the ${VARIABLE} placeholders are clusterctl's and must reach it
untouched (a YAML round trip would quote them and change what they render to). Every file is
still parsed, with the placeholders filled by stand-ins, to fail here on a broken manifest.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
CONFIG = ROOT / "operator" / "config"
TEMPLATES = ROOT / "operator" / "templates"
PROVIDER = "infrastructure-elemental"
NAMESPACE = "elemental-system"
IMAGE_PLACEHOLDER = "elemental-capi:dev"
DEFAULT_IMAGE_REPOSITORY = "ghcr.io/elemental-capi/elemental-capi"
# Cluster API's contract the provider implements: v1beta2 (the CRDs also keep the v1beta1
# contract's fields for Cluster API <= 1.10 readers; docs/CAPI-CONTRACT.md).
CONTRACT = "v1beta2"
# `clusterctl generate cluster` without --flavor reads cluster-template.yaml: this flavor's.
DEFAULT_FLAVOR = "k3s"
VERSION = re.compile(r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$")
# ${VAR}, ${VAR:=default}, ${VAR:-default}, ${VAR=default}, ${VAR-default}: what clusterctl reads.
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[=-])([^}]*))?\}")

# The components, in apply order: the namespace, the CRDs, then what refers to them.
COMPONENTS = (
    "manager/namespace.yaml",
    "crd/bases/*.yaml",
    "rbac/operator.yaml",
    "rbac/api.yaml",
    "manager/configmap.yaml",
    "manager/services.yaml",
    "manager/operator.yaml",
    "manager/api.yaml",
    "certmanager/issuer.yaml",
    "certmanager/certificate.yaml",
)
# Under operator/config but not released: the minimal Cluster API CRDs the tests install.
NOT_RELEASED = ("metadata.yaml",)


class ReleaseError(Exception):
    pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/release", description=__doc__)
    parser.add_argument("version", help="release version, e.g. v0.1.0 (also the image tag)")
    parser.add_argument("outdir", type=Path, help="where infrastructure-elemental/VERSION/ is written")
    parser.add_argument(
        "--image-repository",
        default=DEFAULT_IMAGE_REPOSITORY,
        help=f"image repository; the image is REPO:VERSION (default {DEFAULT_IMAGE_REPOSITORY})",
    )
    args = parser.parse_args(argv)
    try:
        written = release(args.version, args.outdir, f"{args.image_repository}:{args.version}")
    except ReleaseError as error:
        print(f"scripts/release: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


def release(version: str, outdir: Path, image: str) -> list[Path]:
    match = VERSION.match(version)
    if not match:
        raise ReleaseError(f"version {version!r} must look like v1.2.3 (clusterctl's version folders)")
    target = outdir / PROVIDER / version
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    written = [
        _write(target / "infrastructure-components.yaml", components(image)),
        _write(target / "metadata.yaml", metadata(int(match[1]), int(match[2]))),
    ]
    for template in sorted(TEMPLATES.glob("*.yaml")):
        if not template.name.startswith(("cluster-template-", "clusterclass-")):
            raise ReleaseError(f"{template}: not a clusterctl template name")
        text = template.read_text()
        _check(template.name, text)
        written.append(_write(target / template.name, text))
    default = target / f"cluster-template-{DEFAULT_FLAVOR}.yaml"
    if not default.exists():
        raise ReleaseError(f"the default flavor {DEFAULT_FLAVOR} has no {default.name}")
    written.append(_write(target / "cluster-template.yaml", default.read_text()))
    return written


def components(image: str) -> str:
    files = _component_files()
    parts = []
    for path in files:
        text = path.read_text()
        _check(str(path.relative_to(ROOT)), text, namespaced_in=NAMESPACE)
        parts.append(text.strip("\n") + "\n")
    text = "---\n".join(parts)
    if text.count(f"image: {IMAGE_PLACEHOLDER}") < 2:
        raise ReleaseError(f"the Deployments should use the image placeholder {IMAGE_PLACEHOLDER}")
    return text.replace(f"image: {IMAGE_PLACEHOLDER}", f"image: {image}")


def _component_files() -> list[Path]:
    files: list[Path] = []
    for pattern in COMPONENTS:
        matched = sorted(CONFIG.glob(pattern))
        if not matched:
            raise ReleaseError(f"operator/config/{pattern}: no such file")
        files += matched
    left_out = set(CONFIG.rglob("*.yaml")) - set(files)
    left_out -= {p for pattern in NOT_RELEASED for p in CONFIG.glob(pattern)}
    if left_out:
        names = ", ".join(sorted(str(p.relative_to(CONFIG)) for p in left_out))
        raise ReleaseError(f"not in the components, nor listed as NOT_RELEASED: {names}")
    return files


def metadata(major: int, minor: int) -> str:
    """operator/config/metadata.yaml, with the version's release series added if missing."""
    data = yaml.safe_load((CONFIG / "metadata.yaml").read_text())
    series = data.setdefault("releaseSeries", [])
    if not any(s["major"] == major and s["minor"] == minor for s in series):
        print(
            f"scripts/release: release series {major}.{minor} added to metadata.yaml; "
            "add it to operator/config/metadata.yaml too",
            file=sys.stderr,
        )
        series.append({"major": major, "minor": minor, "contract": CONTRACT})
    series.sort(key=lambda s: (s["major"], s["minor"]))
    return yaml.safe_dump(data, sort_keys=False)


def stand_ins(text: str) -> str:
    """The text with every placeholder replaced by its default, or by a string."""
    return VARIABLE.sub(lambda m: m[3] if m[2] else "stand-in", text)


def _check(name: str, text: str, namespaced_in: str | None = None) -> None:
    filled = stand_ins(text)
    # clusterctl's envsubst reads `${NAME}` and `$NAME`; a `$` before anything else (a
    # pattern's end anchor) is kept as it is.
    found = re.search(r"\$[{A-Za-z_]", filled)
    if found:
        raise ReleaseError(
            f"{name}: a '$' clusterctl would read as a variable: {filled[found.start() :][:40]}"
        )
    try:
        docs: list[Any] = [d for d in yaml.safe_load_all(filled) if d is not None]
    except yaml.YAMLError as error:
        raise ReleaseError(f"{name}: not YAML: {error}") from error
    for doc in docs:
        if not isinstance(doc, dict) or not doc.get("apiVersion") or not doc.get("kind"):
            raise ReleaseError(f"{name}: every document needs apiVersion and kind")
        if not (doc.get("metadata") or {}).get("name"):
            raise ReleaseError(f"{name}: a {doc['kind']} without metadata.name")
        namespace = doc["metadata"].get("namespace")
        if namespaced_in and namespace not in (None, namespaced_in):
            raise ReleaseError(
                f"{name}: {doc['kind']} in {namespace}, not {namespaced_in} (clusterctl wants one)"
            )


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


if __name__ == "__main__":
    sys.exit(main())
