"""The CLI's registration and host commands against the Kubernetes store."""

from __future__ import annotations

import json

import pytest
import yaml

from elemental_api import cli
from elemental_api.store import open_store
from elemental_core import tokens
from elemental_core.records import Bootstrap, Host
from elemental_core.vocabulary import LABEL_NEEDS_RESET
from tests.controlplane import ControlPlane
from tests.inprocess_operator import RunningOperator


def run(capsys: pytest.CaptureFixture[str], control_plane: ControlPlane, *argv: str) -> str:
    status = cli.main([*argv, "--store", "kubernetes", "--kubeconfig", str(control_plane.kubeconfig_path)])
    out, err = capsys.readouterr()
    assert status == 0, err
    return out


def test_registration_and_host_commands_work_on_kubernetes(
    capsys: pytest.CaptureFixture[str],
    control_plane: ControlPlane,
    kube_namespace: str,
    operator_beside_the_api: RunningOperator,
) -> None:
    ns = ("-n", kube_namespace)
    run(
        capsys,
        control_plane,
        "registration",
        "create",
        "reg",
        *ns,
        "--host-label",
        "site=lab",
        "--api-endpoint",
        "https://elemental.example",
    )
    shown = json.loads(run(capsys, control_plane, "registration", "show", "reg", *ns))
    assert shown["hostLabels"] == {"site": "lab"}
    config = yaml.safe_load(run(capsys, control_plane, "registration", "agent-config", "reg", *ns))
    assert config["registration"]["uri"] == (
        f"https://elemental.example/elemental/v1/namespaces/{kube_namespace}/registrations/reg"
    )
    assert "reg" in run(capsys, control_plane, "registration", "list", *ns)

    store = open_store("kubernetes", kubeconfig=str(control_plane.kubeconfig_path), watch=False)
    try:
        registration = store.get_registration(kube_namespace, "reg")
        assert registration is not None
        signing_key = store.get_signing_key(registration)
        assert signing_key is not None
        tokens.verify_registration_token(
            config["registration"]["token"], signing_key_pem=signing_key, uri=registration.uri
        )
        store.create_host(
            Host(
                namespace=kube_namespace,
                name="m-1",
                registration="reg",
                pub_key=tokens.SigningKey.generate().public_pem(),
            )
        )
        assert "m-1" in run(capsys, control_plane, "host", "list", *ns)
        assert json.loads(run(capsys, control_plane, "host", "show", "m-1", *ns))["registration"] == "reg"

        bootstrap = control_plane.workdir / "bootstrap.yaml"
        bootstrap.write_text("#cloud-config\n")
        run(capsys, control_plane, "host", "bootstrap", "m-1", *ns, "--file", str(bootstrap))
        host = store.get_host(kube_namespace, "m-1")
        assert host is not None
        assert store.get_bootstrap(host) == Bootstrap(config="#cloud-config\n")

        run(capsys, control_plane, "host", "delete", "m-1", *ns)
        deleted = store.get_host(kube_namespace, "m-1")
        assert deleted is not None and deleted.deleting  # held by the finalizer until reset
        assert deleted.labels[LABEL_NEEDS_RESET] == "true"
    finally:
        store.close()
