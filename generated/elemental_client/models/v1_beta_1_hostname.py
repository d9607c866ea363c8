from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="V1Beta1Hostname")


@_attrs_define
class V1Beta1Hostname:
    """
    Attributes:
        prefix (str | Unset):
        use_existing (bool | Unset):  Default: False.
    """

    prefix: str | Unset = UNSET
    use_existing: bool | Unset = False
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        prefix = self.prefix

        use_existing = self.use_existing

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if prefix is not UNSET:
            field_dict["prefix"] = prefix
        if use_existing is not UNSET:
            field_dict["useExisting"] = use_existing

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        prefix = d.pop("prefix", UNSET)

        use_existing = d.pop("useExisting", UNSET)

        v1_beta_1_hostname = cls(
            prefix=prefix,
            use_existing=use_existing,
        )

        v1_beta_1_hostname.additional_properties = d
        return v1_beta_1_hostname

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
