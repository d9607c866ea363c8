from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="V1Beta1Registration")


@_attrs_define
class V1Beta1Registration:
    """
    Attributes:
        ca_cert (str | Unset):
        token (str | Unset):
        token_duration (int | Unset): Registration token lifetime in nanoseconds (a Go duration); 0 means no expiry.
        uri (str | Unset):
    """

    ca_cert: str | Unset = UNSET
    token: str | Unset = UNSET
    token_duration: int | Unset = UNSET
    uri: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        ca_cert = self.ca_cert

        token = self.token

        token_duration = self.token_duration

        uri = self.uri

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if ca_cert is not UNSET:
            field_dict["caCert"] = ca_cert
        if token is not UNSET:
            field_dict["token"] = token
        if token_duration is not UNSET:
            field_dict["tokenDuration"] = token_duration
        if uri is not UNSET:
            field_dict["uri"] = uri

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        ca_cert = d.pop("caCert", UNSET)

        token = d.pop("token", UNSET)

        token_duration = d.pop("tokenDuration", UNSET)

        uri = d.pop("uri", UNSET)

        v1_beta_1_registration = cls(
            ca_cert=ca_cert,
            token=token,
            token_duration=token_duration,
            uri=uri,
        )

        v1_beta_1_registration.additional_properties = d
        return v1_beta_1_registration

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
