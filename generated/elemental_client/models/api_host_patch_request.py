from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.annotations import Annotations
    from ..models.host_address import HostAddress
    from ..models.labels import Labels
    from ..models.v1_beta_1_condition import V1Beta1Condition


T = TypeVar("T", bound="ApiHostPatchRequest")


@_attrs_define
class ApiHostPatchRequest:
    """
    Attributes:
        annotations (Annotations | Unset): Kubernetes annotations; same key rules as labels, values of any text (256 KiB
            in all).
        labels (Labels | Unset): Kubernetes labels. Keys are `[prefix/]name` (prefix a DNS-1123 subdomain, name 63
            characters at most); keys under `elementalhost.infrastructure.cluster.x-k8s.io/` and
            `cluster.x-k8s.io/` belong to the provider and are refused from clients.
        bootstrapped (bool | None | Unset): Marks the host bootstrapped. Refused (400) while no bootstrap data is
            attached.
        installed (bool | None | Unset): Marks the host installed.
        reset (bool | None | Unset): Marks the host reset; a host marked for deletion then goes away.
        in_place_update (None | str | Unset): In-place update state (`pending` or `done`).
        condition (V1Beta1Condition | Unset): A Cluster API v1beta1 condition.
        phase (None | str | Unset): Host phase: Registering, Finalizing Registration, Installing, Bootstrapping,
            Running, Triggering Reset, Resetting, Reconciling OS Version.
        addresses (list[HostAddress] | Unset): The host's addresses as it reports them (its host name, its non-loopback
            IP
            addresses); recorded as the ElementalHost's `status.addresses`, which the
            ElementalMachine's `status.addresses` copies. When sent, the list replaces the one
            recorded (an empty list clears it); left out, the recorded one stays.
             Example: [{'type': 'Hostname', 'address': 'my-host'}, {'type': 'InternalIP', 'address': '192.168.122.10'}].
        reboot_accepted (None | str | Unset): The agent took the reboot request with this id (the answer's
            `rebootRequest`) and
            is about to reboot. Recorded as the ElementalHost's `status.rebootAccepted` when it
            is the request still pending; an id no longer pending (the remediation ended
            meanwhile) is accepted and ignored. Sending the recorded id again changes nothing.
    """

    annotations: Annotations | Unset = UNSET
    labels: Labels | Unset = UNSET
    bootstrapped: bool | None | Unset = UNSET
    installed: bool | None | Unset = UNSET
    reset: bool | None | Unset = UNSET
    in_place_update: None | str | Unset = UNSET
    condition: V1Beta1Condition | Unset = UNSET
    phase: None | str | Unset = UNSET
    addresses: list[HostAddress] | Unset = UNSET
    reboot_accepted: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        annotations: dict[str, Any] | Unset = UNSET
        if not isinstance(self.annotations, Unset):
            annotations = self.annotations.to_dict()

        labels: dict[str, Any] | Unset = UNSET
        if not isinstance(self.labels, Unset):
            labels = self.labels.to_dict()

        bootstrapped: bool | None | Unset
        if isinstance(self.bootstrapped, Unset):
            bootstrapped = UNSET
        else:
            bootstrapped = self.bootstrapped

        installed: bool | None | Unset
        if isinstance(self.installed, Unset):
            installed = UNSET
        else:
            installed = self.installed

        reset: bool | None | Unset
        if isinstance(self.reset, Unset):
            reset = UNSET
        else:
            reset = self.reset

        in_place_update: None | str | Unset
        if isinstance(self.in_place_update, Unset):
            in_place_update = UNSET
        else:
            in_place_update = self.in_place_update

        condition: dict[str, Any] | Unset = UNSET
        if not isinstance(self.condition, Unset):
            condition = self.condition.to_dict()

        phase: None | str | Unset
        if isinstance(self.phase, Unset):
            phase = UNSET
        else:
            phase = self.phase

        addresses: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.addresses, Unset):
            addresses = []
            for componentsschemas_host_addresses_item_data in self.addresses:
                componentsschemas_host_addresses_item = (
                    componentsschemas_host_addresses_item_data.to_dict()
                )
                addresses.append(componentsschemas_host_addresses_item)

        reboot_accepted: None | str | Unset
        if isinstance(self.reboot_accepted, Unset):
            reboot_accepted = UNSET
        else:
            reboot_accepted = self.reboot_accepted

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if annotations is not UNSET:
            field_dict["annotations"] = annotations
        if labels is not UNSET:
            field_dict["labels"] = labels
        if bootstrapped is not UNSET:
            field_dict["bootstrapped"] = bootstrapped
        if installed is not UNSET:
            field_dict["installed"] = installed
        if reset is not UNSET:
            field_dict["reset"] = reset
        if in_place_update is not UNSET:
            field_dict["inPlaceUpdate"] = in_place_update
        if condition is not UNSET:
            field_dict["condition"] = condition
        if phase is not UNSET:
            field_dict["phase"] = phase
        if addresses is not UNSET:
            field_dict["addresses"] = addresses
        if reboot_accepted is not UNSET:
            field_dict["rebootAccepted"] = reboot_accepted

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.annotations import Annotations
        from ..models.host_address import HostAddress
        from ..models.labels import Labels
        from ..models.v1_beta_1_condition import V1Beta1Condition

        d = dict(src_dict)
        _annotations = d.pop("annotations", UNSET)
        annotations: Annotations | Unset
        if isinstance(_annotations, Unset):
            annotations = UNSET
        else:
            annotations = Annotations.from_dict(_annotations)

        _labels = d.pop("labels", UNSET)
        labels: Labels | Unset
        if isinstance(_labels, Unset):
            labels = UNSET
        else:
            labels = Labels.from_dict(_labels)

        def _parse_bootstrapped(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        bootstrapped = _parse_bootstrapped(d.pop("bootstrapped", UNSET))

        def _parse_installed(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        installed = _parse_installed(d.pop("installed", UNSET))

        def _parse_reset(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        reset = _parse_reset(d.pop("reset", UNSET))

        def _parse_in_place_update(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        in_place_update = _parse_in_place_update(d.pop("inPlaceUpdate", UNSET))

        _condition = d.pop("condition", UNSET)
        condition: V1Beta1Condition | Unset
        if isinstance(_condition, Unset):
            condition = UNSET
        else:
            condition = V1Beta1Condition.from_dict(_condition)

        def _parse_phase(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        phase = _parse_phase(d.pop("phase", UNSET))

        _addresses = d.pop("addresses", UNSET)
        addresses: list[HostAddress] | Unset = UNSET
        if _addresses is not UNSET:
            addresses = []
            for componentsschemas_host_addresses_item_data in _addresses:
                componentsschemas_host_addresses_item = HostAddress.from_dict(
                    componentsschemas_host_addresses_item_data
                )

                addresses.append(componentsschemas_host_addresses_item)

        def _parse_reboot_accepted(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        reboot_accepted = _parse_reboot_accepted(d.pop("rebootAccepted", UNSET))

        api_host_patch_request = cls(
            annotations=annotations,
            labels=labels,
            bootstrapped=bootstrapped,
            installed=installed,
            reset=reset,
            in_place_update=in_place_update,
            condition=condition,
            phase=phase,
            addresses=addresses,
            reboot_accepted=reboot_accepted,
        )

        api_host_patch_request.additional_properties = d
        return api_host_patch_request

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
