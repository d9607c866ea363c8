from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="V1Beta1PostAction")


@_attrs_define
class V1Beta1PostAction:
    """
    Attributes:
        power_off (bool | Unset):
        reboot (bool | Unset):
    """

    power_off: bool | Unset = UNSET
    reboot: bool | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        power_off = self.power_off

        reboot = self.reboot

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if power_off is not UNSET:
            field_dict["powerOff"] = power_off
        if reboot is not UNSET:
            field_dict["reboot"] = reboot

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        power_off = d.pop("powerOff", UNSET)

        reboot = d.pop("reboot", UNSET)

        v1_beta_1_post_action = cls(
            power_off=power_off,
            reboot=reboot,
        )

        v1_beta_1_post_action.additional_properties = d
        return v1_beta_1_post_action

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
