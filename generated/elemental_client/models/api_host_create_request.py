from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.annotations import Annotations
    from ..models.host_address import HostAddress
    from ..models.labels import Labels


T = TypeVar("T", bound="ApiHostCreateRequest")


@_attrs_define
class ApiHostCreateRequest:
    """
    Attributes:
        name (str): A Kubernetes DNS-1123 subdomain.
        pub_key (str): The host's Ed25519 public key, PEM (`PUBLIC KEY`).
        labels (Labels | Unset): Kubernetes labels. Keys are `[prefix/]name` (prefix a DNS-1123 subdomain, name 63
            characters at most); keys under `elementalhost.infrastructure.cluster.x-k8s.io/` and
            `cluster.x-k8s.io/` belong to the provider and are refused from clients.
        annotations (Annotations | Unset): Kubernetes annotations; same key rules as labels, values of any text (256 KiB
            in all).
        addresses (list[HostAddress] | Unset): The host's addresses as it reports them (its host name, its non-loopback
            IP
            addresses); recorded as the ElementalHost's `status.addresses`, which the
            ElementalMachine's `status.addresses` copies. When sent, the list replaces the one
            recorded (an empty list clears it); left out, the recorded one stays.
             Example: [{'type': 'Hostname', 'address': 'my-host'}, {'type': 'InternalIP', 'address': '192.168.122.10'}].
    """

    name: str
    pub_key: str
    labels: Labels | Unset = UNSET
    annotations: Annotations | Unset = UNSET
    addresses: list[HostAddress] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        pub_key = self.pub_key

        labels: dict[str, Any] | Unset = UNSET
        if not isinstance(self.labels, Unset):
            labels = self.labels.to_dict()

        annotations: dict[str, Any] | Unset = UNSET
        if not isinstance(self.annotations, Unset):
            annotations = self.annotations.to_dict()

        addresses: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.addresses, Unset):
            addresses = []
            for componentsschemas_host_addresses_item_data in self.addresses:
                componentsschemas_host_addresses_item = (
                    componentsschemas_host_addresses_item_data.to_dict()
                )
                addresses.append(componentsschemas_host_addresses_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "pubKey": pub_key,
            }
        )
        if labels is not UNSET:
            field_dict["labels"] = labels
        if annotations is not UNSET:
            field_dict["annotations"] = annotations
        if addresses is not UNSET:
            field_dict["addresses"] = addresses

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.annotations import Annotations
        from ..models.host_address import HostAddress
        from ..models.labels import Labels

        d = dict(src_dict)
        name = d.pop("name")

        pub_key = d.pop("pubKey")

        _labels = d.pop("labels", UNSET)
        labels: Labels | Unset
        if isinstance(_labels, Unset):
            labels = UNSET
        else:
            labels = Labels.from_dict(_labels)

        _annotations = d.pop("annotations", UNSET)
        annotations: Annotations | Unset
        if isinstance(_annotations, Unset):
            annotations = UNSET
        else:
            annotations = Annotations.from_dict(_annotations)

        _addresses = d.pop("addresses", UNSET)
        addresses: list[HostAddress] | Unset = UNSET
        if _addresses is not UNSET:
            addresses = []
            for componentsschemas_host_addresses_item_data in _addresses:
                componentsschemas_host_addresses_item = HostAddress.from_dict(
                    componentsschemas_host_addresses_item_data
                )

                addresses.append(componentsschemas_host_addresses_item)

        api_host_create_request = cls(
            name=name,
            pub_key=pub_key,
            labels=labels,
            annotations=annotations,
            addresses=addresses,
        )

        api_host_create_request.additional_properties = d
        return api_host_create_request

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
