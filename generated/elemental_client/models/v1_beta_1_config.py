from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.v1_beta_1_config_cloud_config import V1Beta1ConfigCloudConfig
    from ..models.v1_beta_1_elemental import V1Beta1Elemental


T = TypeVar("T", bound="V1Beta1Config")


@_attrs_define
class V1Beta1Config:
    """
    Attributes:
        cloud_config (V1Beta1ConfigCloudConfig | Unset): Cloud-config applied to the host at install (free-form).
        elemental (V1Beta1Elemental | Unset):
    """

    cloud_config: V1Beta1ConfigCloudConfig | Unset = UNSET
    elemental: V1Beta1Elemental | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        cloud_config: dict[str, Any] | Unset = UNSET
        if not isinstance(self.cloud_config, Unset):
            cloud_config = self.cloud_config.to_dict()

        elemental: dict[str, Any] | Unset = UNSET
        if not isinstance(self.elemental, Unset):
            elemental = self.elemental.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if cloud_config is not UNSET:
            field_dict["cloudConfig"] = cloud_config
        if elemental is not UNSET:
            field_dict["elemental"] = elemental

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.v1_beta_1_config_cloud_config import V1Beta1ConfigCloudConfig
        from ..models.v1_beta_1_elemental import V1Beta1Elemental

        d = dict(src_dict)
        _cloud_config = d.pop("cloudConfig", UNSET)
        cloud_config: V1Beta1ConfigCloudConfig | Unset
        if isinstance(_cloud_config, Unset):
            cloud_config = UNSET
        else:
            cloud_config = V1Beta1ConfigCloudConfig.from_dict(_cloud_config)

        _elemental = d.pop("elemental", UNSET)
        elemental: V1Beta1Elemental | Unset
        if isinstance(_elemental, Unset):
            elemental = UNSET
        else:
            elemental = V1Beta1Elemental.from_dict(_elemental)

        v1_beta_1_config = cls(
            cloud_config=cloud_config,
            elemental=elemental,
        )

        v1_beta_1_config.additional_properties = d
        return v1_beta_1_config

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
