from __future__ import annotations

from typing import Any

from tests.helpers import wait_for
from tests.operator.conftest import API_ENDPOINT

G, V = "infrastructure.cluster.x-k8s.io", "v1beta1"


def test_registration_gets_uri_key_and_token(
    start_operator: Any, custom: Any, core: Any, kube_namespace: str
) -> None:
    start_operator()
    custom.create_namespaced_custom_object(
        G,
        V,
        kube_namespace,
        "elementalregistrations",
        {
            "apiVersion": f"{G}/{V}",
            "kind": "ElementalRegistration",
            "metadata": {"name": "reg"},
            "spec": {"config": {"elemental": {"registration": {"tokenDuration": 3600_000_000_000}}}},
        },
    )

    def done() -> Any:
        obj = custom.get_namespaced_custom_object(G, V, kube_namespace, "elementalregistrations", "reg")
        return obj if obj["spec"]["config"]["elemental"]["registration"].get("token") else None

    obj = wait_for(done)
    reg = obj["spec"]["config"]["elemental"]["registration"]
    assert reg["uri"] == f"{API_ENDPOINT}/elemental/v1/namespaces/{kube_namespace}/registrations/reg"
    assert obj["spec"]["privateKeyRef"]["name"] == "reg"
    secret = core.read_namespaced_secret("reg", kube_namespace)
    assert "privKey" in secret.data
    assert any(c["type"] == "Ready" and c["status"] == "True" for c in obj["status"]["conditions"])
