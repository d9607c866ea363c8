"""The watch-fed cache against a real kube-apiserver: it follows changes, and when its watch
has expired (410 Gone) it lists again instead of serving a stale cache."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import watch

from elemental_core.vocabulary import GROUP, HOSTS, VERSION
from elemental_kube.client import api_client
from elemental_kube.indexes import Index
from elemental_kube.informer import Informer
from elemental_kube.objects import Kube
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


ROLE = Index("role", lambda obj: [r] if (r := (obj["metadata"].get("labels") or {}).get("role")) else [])


def labelled(name: str, role: str | None) -> dict[str, Any]:
    body = host(name)
    if role is not None:
        body["metadata"]["labels"] = {"role": role}
    return body


def names(objects: list[dict[str, Any]]) -> list[str]:
    return [o["metadata"]["name"] for o in objects]


def set_role(custom: k8s.CustomObjectsApi, namespace: str, name: str, role: str | None) -> dict[str, Any]:
    patch = {"metadata": {"labels": {"role": role}}}
    answer: dict[str, Any] = custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, "elementalhosts", name, patch
    )
    return answer


def test_an_index_follows_what_the_watch_brings(control_plane: ControlPlane, kube_namespace: str) -> None:
    api = api_client(str(control_plane.kubeconfig_path), field_manager="elemental-test")
    custom = k8s.CustomObjectsApi(api)
    for name, role in (("c", "worker"), ("a", "worker"), ("b", "server"), ("d", None)):
        custom.create_namespaced_custom_object(
            GROUP, VERSION, kube_namespace, "elementalhosts", labelled(name, role)
        )
    informer = Informer(custom, HOSTS)
    informer.start()
    try:
        assert informer.wait_synced(15)
        # Built on first use from what is cached, in name order, one namespace only.
        assert names(informer.indexed(ROLE, kube_namespace, "worker")) == ["a", "c"]
        assert names(informer.indexed(ROLE, kube_namespace, "server")) == ["b"]
        assert informer.indexed(ROLE, "elsewhere", "worker") == []
        set_role(custom, kube_namespace, "b", "worker")  # moves between keys
        set_role(custom, kube_namespace, "c", None)  # leaves the index
        custom.delete_namespaced_custom_object(GROUP, VERSION, kube_namespace, "elementalhosts", "a")
        custom.create_namespaced_custom_object(
            GROUP, VERSION, kube_namespace, "elementalhosts", labelled("e", "worker")
        )
        wait_for(
            lambda: names(informer.indexed(ROLE, kube_namespace, "worker")) == ["b", "e"],
            what="the index after the watch's events",
        )
        assert informer.indexed(ROLE, kube_namespace, "server") == []
        # A program's own write lands in the index at once, before its watch event.
        informer.upsert(set_role(custom, kube_namespace, "d", "server"))
        assert names(informer.indexed(ROLE, kube_namespace, "server")) == ["d"]
        # What it hands out is the cached object itself (as scan), not a copy.
        assert informer.indexed(ROLE, kube_namespace, "server")[0] is informer.get(kube_namespace, "d")
    finally:
        informer.stop()
        api.close()


class HeldRelistInformer(ExpiringInformer):
    """Its second listing waits until the test has changed the server behind its back."""

    def __init__(self, custom: k8s.CustomObjectsApi) -> None:
        super().__init__(custom, HOSTS)
        self.release = threading.Event()

    def _relist(self) -> str:
        if self.relists == 1:
            assert self.release.wait(20)
        return super()._relist()


def test_a_relist_rebuilds_the_indexes(control_plane: ControlPlane, kube_namespace: str) -> None:
    """A change no watch event reports (it happened while the watch was down) reaches the
    index through the listing that follows."""
    api = api_client(str(control_plane.kubeconfig_path), field_manager="elemental-test")
    custom = k8s.CustomObjectsApi(api)
    custom.create_namespaced_custom_object(
        GROUP, VERSION, kube_namespace, "elementalhosts", labelled("a", "worker")
    )
    informer = HeldRelistInformer(custom)
    informer.start()
    try:
        assert informer.wait_synced(15)
        assert names(informer.indexed(ROLE, kube_namespace, "worker")) == ["a"]
        set_role(custom, kube_namespace, "a", "server")
        custom.create_namespaced_custom_object(
            GROUP, VERSION, kube_namespace, "elementalhosts", labelled("b", "worker")
        )
        informer.release.set()
        wait_for(lambda: informer.relists >= 2, what="the second listing")
        wait_for(
            lambda: names(informer.indexed(ROLE, kube_namespace, "worker")) == ["b"],
            what="the index after the relist",
        )
        assert names(informer.indexed(ROLE, kube_namespace, "server")) == ["a"]
    finally:
        informer.release.set()
        informer.stop()
        api.close()


def test_an_unwatched_resource_is_indexed_from_a_listing(
    control_plane: ControlPlane, kube_namespace: str
) -> None:
    """Kube.indexed answers the same without a cache (a fresh listing, filtered)."""
    kube = Kube(api_client(str(control_plane.kubeconfig_path), field_manager="elemental-test"))
    custom = k8s.CustomObjectsApi(kube.api)
    try:
        for name, role in (("b", "worker"), ("a", "worker"), ("c", "server")):
            custom.create_namespaced_custom_object(
                GROUP, VERSION, kube_namespace, "elementalhosts", labelled(name, role)
            )
        assert not kube.is_watched(HOSTS)
        assert names(kube.indexed(HOSTS, ROLE, kube_namespace, "worker")) == ["a", "b"]
    finally:
        kube.close()


def test_a_stopped_informer_says_nothing_when_its_connection_breaks(
    control_plane: ControlPlane, caplog: pytest.LogCaptureFixture
) -> None:
    """stop() cannot interrupt a watch blocked on its socket: the connection ends later (here
    with kube-apiserver itself), and that is the end of a stopped watch, not a lost one."""
    api = api_client(str(control_plane.kubeconfig_path), field_manager="elemental-test")
    informer = Informer(k8s.CustomObjectsApi(api), HOSTS)
    informer.start()
    try:
        assert informer.wait_synced(15)
        informer.stop()
        with caplog.at_level("WARNING", logger="elemental_kube.informer"):
            control_plane.stop(graceful=False)
            try:
                informer._thread.join(30)
                assert not informer._thread.is_alive()
            finally:
                control_plane.start()  # the control plane is shared by the whole session
        assert "watch lost" not in caplog.messages
    finally:
        api.close()
