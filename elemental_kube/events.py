"""core/v1 Events about the objects a program reconciles: what `kubectl describe` shows
under Events, for a person following a remediation. Best effort: an Event that cannot be
written is logged and dropped, never a failure of the work it reports."""

from __future__ import annotations

import datetime
import time
from typing import Any

from kubernetes import client

NORMAL, WARNING = "Normal", "Warning"


def event_body(
    obj: dict[str, Any], event_type: str, reason: str, message: str, *, component: str
) -> client.CoreV1Event:
    """An Event about `obj` (which carries its apiVersion and kind), named as client-go's
    recorder names them: the object's name and the time in hex nanoseconds."""
    metadata = obj["metadata"]
    now = datetime.datetime.now(datetime.UTC)
    return client.CoreV1Event(
        metadata=client.V1ObjectMeta(
            name=f"{metadata['name']}.{time.time_ns():x}", namespace=metadata["namespace"]
        ),
        involved_object=client.V1ObjectReference(
            api_version=obj["apiVersion"],
            kind=obj["kind"],
            name=metadata["name"],
            namespace=metadata["namespace"],
            uid=metadata.get("uid"),
            resource_version=metadata.get("resourceVersion"),
        ),
        type=event_type,
        reason=reason,
        message=message[:1024],
        count=1,
        first_timestamp=now,
        last_timestamp=now,
        source=client.V1EventSource(component=component),
        reporting_component=component,
    )
