"""JSON merge patches (RFC 7386) between two versions of an object, split the way the API
server needs them: metadata and spec on the object, status on its status subresource."""

from __future__ import annotations

from typing import Any

_MISSING = object()


def merge_diff(old: Any, new: Any) -> Any:
    """The merge patch turning `old` into `new` (lists are replaced whole); _MISSING if equal."""
    if isinstance(old, dict) and isinstance(new, dict):
        patch: dict[str, Any] = {}
        for key, value in new.items():
            sub = merge_diff(old.get(key, _MISSING), value)
            if sub is not _MISSING:
                patch[key] = sub
        for key in old.keys() - new.keys():
            patch[key] = None
        return patch if patch else _MISSING
    if old is _MISSING or old != new:
        return new
    return _MISSING


def object_patch(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any] | None:
    """Patch of labels, annotations, finalizers and spec, with the resourceVersion it builds
    on (the API server refuses it with 409 if the object changed meanwhile); None if equal."""
    before = {"metadata": _meta(old), "spec": old.get("spec", {})}
    after = {"metadata": _meta(new), "spec": new.get("spec", {})}
    patch = merge_diff(before, after)
    if patch is _MISSING:
        return None
    patch.setdefault("metadata", {})["resourceVersion"] = old["metadata"]["resourceVersion"]
    result: dict[str, Any] = patch
    return result


def status_patch(old: dict[str, Any], new: dict[str, Any], resource_version: str) -> dict[str, Any] | None:
    patch = merge_diff(old.get("status", {}), new.get("status", {}))
    if patch is _MISSING:
        return None
    return {"metadata": {"resourceVersion": resource_version}, "status": patch}


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = obj.get("metadata", {})
    return {
        "labels": metadata.get("labels") or {},
        "annotations": metadata.get("annotations") or {},
        "finalizers": metadata.get("finalizers") or [],
    }
