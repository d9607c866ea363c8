from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.host_address_type import HostAddressType, check_host_address_type

T = TypeVar("T", bound="HostAddress")


@_attrs_define
class HostAddress:
    """One address of the host, as Cluster API's MachineAddress.

    Example:
        {'type': 'InternalIP', 'address': '192.168.122.10'}

    Attributes:
        type_ (HostAddressType):
        address (str): A host name, DNS name or IP address (printable ASCII, no spaces).
    """

    type_: HostAddressType
    address: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        type_: str = self.type_

        address = self.address

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "type": type_,
                "address": address,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        type_ = check_host_address_type(d.pop("type"))

        address = d.pop("address")

        host_address = cls(
            type_=type_,
            address=address,
        )

        host_address.additional_properties = d
        return host_address

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
