from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.api_registration_response_host_annotations import (
        ApiRegistrationResponseHostAnnotations,
    )
    from ..models.api_registration_response_host_labels import (
        ApiRegistrationResponseHostLabels,
    )
    from ..models.v1_beta_1_config import V1Beta1Config


T = TypeVar("T", bound="ApiRegistrationResponse")


@_attrs_define
class ApiRegistrationResponse:
    """
    Attributes:
        config (V1Beta1Config):
        host_annotations (ApiRegistrationResponseHostAnnotations | Unset):
        host_labels (ApiRegistrationResponseHostLabels | Unset):
    """

    config: V1Beta1Config
    host_annotations: ApiRegistrationResponseHostAnnotations | Unset = UNSET
    host_labels: ApiRegistrationResponseHostLabels | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        config = self.config.to_dict()

        host_annotations: dict[str, Any] | Unset = UNSET
        if not isinstance(self.host_annotations, Unset):
            host_annotations = self.host_annotations.to_dict()

        host_labels: dict[str, Any] | Unset = UNSET
        if not isinstance(self.host_labels, Unset):
            host_labels = self.host_labels.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "config": config,
            }
        )
        if host_annotations is not UNSET:
            field_dict["hostAnnotations"] = host_annotations
        if host_labels is not UNSET:
            field_dict["hostLabels"] = host_labels

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.api_registration_response_host_annotations import (
            ApiRegistrationResponseHostAnnotations,
        )
        from ..models.api_registration_response_host_labels import (
            ApiRegistrationResponseHostLabels,
        )
        from ..models.v1_beta_1_config import V1Beta1Config

        d = dict(src_dict)
        config = V1Beta1Config.from_dict(d.pop("config"))

        _host_annotations = d.pop("hostAnnotations", UNSET)
        host_annotations: ApiRegistrationResponseHostAnnotations | Unset
        if isinstance(_host_annotations, Unset):
            host_annotations = UNSET
        else:
            host_annotations = ApiRegistrationResponseHostAnnotations.from_dict(
                _host_annotations
            )

        _host_labels = d.pop("hostLabels", UNSET)
        host_labels: ApiRegistrationResponseHostLabels | Unset
        if isinstance(_host_labels, Unset):
            host_labels = UNSET
        else:
            host_labels = ApiRegistrationResponseHostLabels.from_dict(_host_labels)

        api_registration_response = cls(
            config=config,
            host_annotations=host_annotations,
            host_labels=host_labels,
        )

        api_registration_response.additional_properties = d
        return api_registration_response

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
