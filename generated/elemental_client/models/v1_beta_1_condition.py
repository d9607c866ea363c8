from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.v1_beta_1_condition_severity import (
    V1Beta1ConditionSeverity,
    check_v1_beta_1_condition_severity,
)
from ..models.v1_beta_1_condition_status import (
    V1Beta1ConditionStatus,
    check_v1_beta_1_condition_status,
)
from ..types import UNSET, Unset

T = TypeVar("T", bound="V1Beta1Condition")


@_attrs_define
class V1Beta1Condition:
    """A Cluster API v1beta1 condition.

    Attributes:
        type_ (str):
        status (V1Beta1ConditionStatus):
        severity (V1Beta1ConditionSeverity | Unset):
        reason (str | Unset):
        message (str | Unset):
        last_transition_time (None | str | Unset): Set by the server; clients may send null.
    """

    type_: str
    status: V1Beta1ConditionStatus
    severity: V1Beta1ConditionSeverity | Unset = UNSET
    reason: str | Unset = UNSET
    message: str | Unset = UNSET
    last_transition_time: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        type_ = self.type_

        status: str = self.status

        severity: str | Unset = UNSET
        if not isinstance(self.severity, Unset):
            severity = self.severity

        reason = self.reason

        message = self.message

        last_transition_time: None | str | Unset
        if isinstance(self.last_transition_time, Unset):
            last_transition_time = UNSET
        else:
            last_transition_time = self.last_transition_time

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "type": type_,
                "status": status,
            }
        )
        if severity is not UNSET:
            field_dict["severity"] = severity
        if reason is not UNSET:
            field_dict["reason"] = reason
        if message is not UNSET:
            field_dict["message"] = message
        if last_transition_time is not UNSET:
            field_dict["lastTransitionTime"] = last_transition_time

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        type_ = d.pop("type")

        status = check_v1_beta_1_condition_status(d.pop("status"))

        _severity = d.pop("severity", UNSET)
        severity: V1Beta1ConditionSeverity | Unset
        if isinstance(_severity, Unset):
            severity = UNSET
        else:
            severity = check_v1_beta_1_condition_severity(_severity)

        reason = d.pop("reason", UNSET)

        message = d.pop("message", UNSET)

        def _parse_last_transition_time(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        last_transition_time = _parse_last_transition_time(
            d.pop("lastTransitionTime", UNSET)
        )

        v1_beta_1_condition = cls(
            type_=type_,
            status=status,
            severity=severity,
            reason=reason,
            message=message,
            last_transition_time=last_transition_time,
        )

        v1_beta_1_condition.additional_properties = d
        return v1_beta_1_condition

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
