from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.v1_beta_1_agent import V1Beta1Agent
    from ..models.v1_beta_1_elemental_install import V1Beta1ElementalInstall
    from ..models.v1_beta_1_elemental_reset import V1Beta1ElementalReset
    from ..models.v1_beta_1_registration import V1Beta1Registration


T = TypeVar("T", bound="V1Beta1Elemental")


@_attrs_define
class V1Beta1Elemental:
    """
    Attributes:
        agent (V1Beta1Agent | Unset):
        install (V1Beta1ElementalInstall | Unset): elemental-toolkit install configuration (free-form).
        registration (V1Beta1Registration | Unset):
        reset (V1Beta1ElementalReset | Unset): elemental-toolkit reset configuration (free-form).
    """

    agent: V1Beta1Agent | Unset = UNSET
    install: V1Beta1ElementalInstall | Unset = UNSET
    registration: V1Beta1Registration | Unset = UNSET
    reset: V1Beta1ElementalReset | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        agent: dict[str, Any] | Unset = UNSET
        if not isinstance(self.agent, Unset):
            agent = self.agent.to_dict()

        install: dict[str, Any] | Unset = UNSET
        if not isinstance(self.install, Unset):
            install = self.install.to_dict()

        registration: dict[str, Any] | Unset = UNSET
        if not isinstance(self.registration, Unset):
            registration = self.registration.to_dict()

        reset: dict[str, Any] | Unset = UNSET
        if not isinstance(self.reset, Unset):
            reset = self.reset.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if agent is not UNSET:
            field_dict["agent"] = agent
        if install is not UNSET:
            field_dict["install"] = install
        if registration is not UNSET:
            field_dict["registration"] = registration
        if reset is not UNSET:
            field_dict["reset"] = reset

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.v1_beta_1_agent import V1Beta1Agent
        from ..models.v1_beta_1_elemental_install import V1Beta1ElementalInstall
        from ..models.v1_beta_1_elemental_reset import V1Beta1ElementalReset
        from ..models.v1_beta_1_registration import V1Beta1Registration

        d = dict(src_dict)
        _agent = d.pop("agent", UNSET)
        agent: V1Beta1Agent | Unset
        if isinstance(_agent, Unset):
            agent = UNSET
        else:
            agent = V1Beta1Agent.from_dict(_agent)

        _install = d.pop("install", UNSET)
        install: V1Beta1ElementalInstall | Unset
        if isinstance(_install, Unset):
            install = UNSET
        else:
            install = V1Beta1ElementalInstall.from_dict(_install)

        _registration = d.pop("registration", UNSET)
        registration: V1Beta1Registration | Unset
        if isinstance(_registration, Unset):
            registration = UNSET
        else:
            registration = V1Beta1Registration.from_dict(_registration)

        _reset = d.pop("reset", UNSET)
        reset: V1Beta1ElementalReset | Unset
        if isinstance(_reset, Unset):
            reset = UNSET
        else:
            reset = V1Beta1ElementalReset.from_dict(_reset)

        v1_beta_1_elemental = cls(
            agent=agent,
            install=install,
            registration=registration,
            reset=reset,
        )

        v1_beta_1_elemental.additional_properties = d
        return v1_beta_1_elemental

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
