from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.api_host_response_annotations import ApiHostResponseAnnotations
    from ..models.api_host_response_labels import ApiHostResponseLabels
    from ..models.api_host_response_os_version_management import (
        ApiHostResponseOsVersionManagement,
    )


T = TypeVar("T", bound="ApiHostResponse")


@_attrs_define
class ApiHostResponse:
    """
    Attributes:
        name (str):
        bootstrap_ready (bool): Bootstrap data is attached; the agent should fetch and apply it.
        bootstrapped (bool):
        installed (bool):
        needs_reset (bool): The host must reset itself (its machine went away or it was deleted).
        annotations (ApiHostResponseAnnotations | Unset):
        labels (ApiHostResponseLabels | Unset):
        reboot_request (str | Unset): The host is asked to reboot (a remediation of its unhealthy machine): an opaque
            id,
            sent until the agent acknowledges it with patchHost `rebootAccepted`. Absent when
            no reboot is pending, when the pending one was acknowledged, and when the host is
            asked to reset (`needsReset` wins). Agents that do not know it ignore it.
        in_place_upgrade (str | Unset):
        os_version_management (ApiHostResponseOsVersionManagement | Unset):
    """

    name: str
    bootstrap_ready: bool
    bootstrapped: bool
    installed: bool
    needs_reset: bool
    annotations: ApiHostResponseAnnotations | Unset = UNSET
    labels: ApiHostResponseLabels | Unset = UNSET
    reboot_request: str | Unset = UNSET
    in_place_upgrade: str | Unset = UNSET
    os_version_management: ApiHostResponseOsVersionManagement | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        bootstrap_ready = self.bootstrap_ready

        bootstrapped = self.bootstrapped

        installed = self.installed

        needs_reset = self.needs_reset

        annotations: dict[str, Any] | Unset = UNSET
        if not isinstance(self.annotations, Unset):
            annotations = self.annotations.to_dict()

        labels: dict[str, Any] | Unset = UNSET
        if not isinstance(self.labels, Unset):
            labels = self.labels.to_dict()

        reboot_request = self.reboot_request

        in_place_upgrade = self.in_place_upgrade

        os_version_management: dict[str, Any] | Unset = UNSET
        if not isinstance(self.os_version_management, Unset):
            os_version_management = self.os_version_management.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "bootstrapReady": bootstrap_ready,
                "bootstrapped": bootstrapped,
                "installed": installed,
                "needsReset": needs_reset,
            }
        )
        if annotations is not UNSET:
            field_dict["annotations"] = annotations
        if labels is not UNSET:
            field_dict["labels"] = labels
        if reboot_request is not UNSET:
            field_dict["rebootRequest"] = reboot_request
        if in_place_upgrade is not UNSET:
            field_dict["inPlaceUpgrade"] = in_place_upgrade
        if os_version_management is not UNSET:
            field_dict["osVersionManagement"] = os_version_management

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.api_host_response_annotations import ApiHostResponseAnnotations
        from ..models.api_host_response_labels import ApiHostResponseLabels
        from ..models.api_host_response_os_version_management import (
            ApiHostResponseOsVersionManagement,
        )

        d = dict(src_dict)
        name = d.pop("name")

        bootstrap_ready = d.pop("bootstrapReady")

        bootstrapped = d.pop("bootstrapped")

        installed = d.pop("installed")

        needs_reset = d.pop("needsReset")

        _annotations = d.pop("annotations", UNSET)
        annotations: ApiHostResponseAnnotations | Unset
        if isinstance(_annotations, Unset):
            annotations = UNSET
        else:
            annotations = ApiHostResponseAnnotations.from_dict(_annotations)

        _labels = d.pop("labels", UNSET)
        labels: ApiHostResponseLabels | Unset
        if isinstance(_labels, Unset):
            labels = UNSET
        else:
            labels = ApiHostResponseLabels.from_dict(_labels)

        reboot_request = d.pop("rebootRequest", UNSET)

        in_place_upgrade = d.pop("inPlaceUpgrade", UNSET)

        _os_version_management = d.pop("osVersionManagement", UNSET)
        os_version_management: ApiHostResponseOsVersionManagement | Unset
        if isinstance(_os_version_management, Unset):
            os_version_management = UNSET
        else:
            os_version_management = ApiHostResponseOsVersionManagement.from_dict(
                _os_version_management
            )

        api_host_response = cls(
            name=name,
            bootstrap_ready=bootstrap_ready,
            bootstrapped=bootstrapped,
            installed=installed,
            needs_reset=needs_reset,
            annotations=annotations,
            labels=labels,
            reboot_request=reboot_request,
            in_place_upgrade=in_place_upgrade,
            os_version_management=os_version_management,
        )

        api_host_response.additional_properties = d
        return api_host_response

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
