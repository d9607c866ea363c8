"""The watch-fed cache against a real kube-apiserver: it follows changes, and when its watch
has expired (410 Gone) it lists again instead of serving a stale cache."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import watch

from elemental_core.vocabulary import GROUP, HOSTS, VERSION
from elemental_kube.client import api_client
from elemental_kube.informer import Informer
from tests.controlplane import ControlPlane
from tests.helpers import wait_for


class ExpiringInformer(Informer):
    """Starts its first watch from resourceVersion 1, long gone from the server's window."""

    relists = 0

    def _relist(self) -> str:
        self.relists += 1
        version = super()._relist()
        return "1" if self.relists == 1 else version


def host(name: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ElementalHost",
        "metadata": {"name": name},
        "spec": {},
    }


def test_an_expired_watch_is_answered_by_a_relist(control_plane: ControlPlane, kube_namespace: str) -> None:
    api = api_client(str(control_plane.kubeconfig_path), field_manager="elemental-test")
    custom = k8s.CustomObjectsApi(api)
    custom.create_namespaced_custom_object(GROUP, VERSION, kube_namespace, "elementalhosts", host("before"))
    informer = ExpiringInformer(custom, HOSTS)
    events: list[tuple[str, str]] = []
    informer.add_handler(lambda event, obj, _previous: events.append((event, obj["metadata"]["name"])))
    informer.start()
    try:
        assert informer.wait_synced(15)
        wait_for(lambda: informer.relists >= 2)  # the 410 sent it back to a list
        custom.create_namespaced_custom_object(
            GROUP, VERSION, kube_namespace, "elementalhosts", host("after")
        )
        wait_for(lambda: informer.get(kube_namespace, "after") is not None)
        assert informer.get(kube_namespace, "before") is not None
        assert informer.connected
        custom.delete_namespaced_custom_object(GROUP, VERSION, kube_namespace, "elementalhosts", "after")
        wait_for(lambda: informer.get(kube_namespace, "after") is None)
        assert ("DELETED", "after") in events
    finally:
        informer.stop()
        api.close()


def test_the_server_answers_410_to_a_watch_from_resource_version_1(control_plane: ControlPlane) -> None:
    """What the test above relies on: watching from version 1 is a 410 on this server."""
    api = api_client(str(control_plane.kubeconfig_path), field_manager="elemental-test")
    custom = k8s.CustomObjectsApi(api)
    try:
        with pytest.raises(k8s.ApiException) as caught:
            for _event in watch.Watch().stream(
                custom.list_cluster_custom_object,
                GROUP,
                VERSION,
                "elementalhosts",
                resource_version="1",
                timeout_seconds=5,
            ):
                pass
        assert caught.value.status == 410
    finally:
        api.close()


def test_cached_objects_carry_no_managed_fields(control_plane: ControlPlane, kube_namespace: str) -> None:
    """managedFields are dropped from what the cache holds (listed, watched or remembered
    from a write's answer); the server keeps them."""
    api = api_client(str(control_plane.kubeconfig_path), field_manager="elemental-test")
    custom = k8s.CustomObjectsApi(api)
    custom.create_namespaced_custom_object(GROUP, VERSION, kube_namespace, "elementalhosts", host("listed"))
    informer = Informer(custom, HOSTS)
    informer.start()
    try:
        assert informer.wait_synced(15)
        custom.create_namespaced_custom_object(
            GROUP, VERSION, kube_namespace, "elementalhosts", host("watched")
        )
        wait_for(lambda: informer.get(kube_namespace, "watched") is not None)
        answer = custom.create_namespaced_custom_object(
            GROUP, VERSION, kube_namespace, "elementalhosts", host("remembered")
        )
        assert answer["metadata"]["managedFields"]
        informer.upsert(answer)
        for name in ("listed", "watched", "remembered"):
            cached = informer.get(kube_namespace, name)
            assert cached is not None and cached["metadata"]["name"] == name
            assert "managedFields" not in cached["metadata"], name
            assert cached["metadata"]["resourceVersion"]
        on_server = custom.get_namespaced_custom_object(
            GROUP, VERSION, kube_namespace, "elementalhosts", "listed"
        )
        assert {m["manager"] for m in on_server["metadata"]["managedFields"]} == {"elemental-test"}
    finally:
        informer.stop()
