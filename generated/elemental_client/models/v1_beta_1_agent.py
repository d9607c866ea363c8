from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.v1_beta_1_hostname import V1Beta1Hostname
    from ..models.v1_beta_1_post_action import V1Beta1PostAction


T = TypeVar("T", bound="V1Beta1Agent")


@_attrs_define
class V1Beta1Agent:
    """
    Attributes:
        debug (bool | Unset):
        hostname (V1Beta1Hostname | Unset):
        insecure_allow_http (bool | Unset):
        insecure_skip_tls_verify (bool | Unset):
        no_smbios (bool | Unset):
        os_plugin (str | Unset):  Default: '/usr/lib/elemental/plugins/elemental.so'.
        post_install (V1Beta1PostAction | Unset):
        post_reset (V1Beta1PostAction | Unset):
        reconciliation (int | Unset): Check-in period in nanoseconds (a Go duration). Default: 10000000000.
        use_system_cert_pool (bool | Unset):
        work_dir (str | Unset):  Default: '/var/lib/elemental/agent'.
    """

    debug: bool | Unset = UNSET
    hostname: V1Beta1Hostname | Unset = UNSET
    insecure_allow_http: bool | Unset = UNSET
    insecure_skip_tls_verify: bool | Unset = UNSET
    no_smbios: bool | Unset = UNSET
    os_plugin: str | Unset = "/usr/lib/elemental/plugins/elemental.so"
    post_install: V1Beta1PostAction | Unset = UNSET
    post_reset: V1Beta1PostAction | Unset = UNSET
    reconciliation: int | Unset = 10000000000
    use_system_cert_pool: bool | Unset = UNSET
    work_dir: str | Unset = "/var/lib/elemental/agent"
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        debug = self.debug

        hostname: dict[str, Any] | Unset = UNSET
        if not isinstance(self.hostname, Unset):
            hostname = self.hostname.to_dict()

        insecure_allow_http = self.insecure_allow_http

        insecure_skip_tls_verify = self.insecure_skip_tls_verify

        no_smbios = self.no_smbios

        os_plugin = self.os_plugin

        post_install: dict[str, Any] | Unset = UNSET
        if not isinstance(self.post_install, Unset):
            post_install = self.post_install.to_dict()

        post_reset: dict[str, Any] | Unset = UNSET
        if not isinstance(self.post_reset, Unset):
            post_reset = self.post_reset.to_dict()

        reconciliation = self.reconciliation

        use_system_cert_pool = self.use_system_cert_pool

        work_dir = self.work_dir

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if debug is not UNSET:
            field_dict["debug"] = debug
        if hostname is not UNSET:
            field_dict["hostname"] = hostname
        if insecure_allow_http is not UNSET:
            field_dict["insecureAllowHttp"] = insecure_allow_http
        if insecure_skip_tls_verify is not UNSET:
            field_dict["insecureSkipTlsVerify"] = insecure_skip_tls_verify
        if no_smbios is not UNSET:
            field_dict["noSmbios"] = no_smbios
        if os_plugin is not UNSET:
            field_dict["osPlugin"] = os_plugin
        if post_install is not UNSET:
            field_dict["postInstall"] = post_install
        if post_reset is not UNSET:
            field_dict["postReset"] = post_reset
        if reconciliation is not UNSET:
            field_dict["reconciliation"] = reconciliation
        if use_system_cert_pool is not UNSET:
            field_dict["useSystemCertPool"] = use_system_cert_pool
        if work_dir is not UNSET:
            field_dict["workDir"] = work_dir

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.v1_beta_1_hostname import V1Beta1Hostname
        from ..models.v1_beta_1_post_action import V1Beta1PostAction

        d = dict(src_dict)
        debug = d.pop("debug", UNSET)

        _hostname = d.pop("hostname", UNSET)
        hostname: V1Beta1Hostname | Unset
        if isinstance(_hostname, Unset):
            hostname = UNSET
        else:
            hostname = V1Beta1Hostname.from_dict(_hostname)

        insecure_allow_http = d.pop("insecureAllowHttp", UNSET)

        insecure_skip_tls_verify = d.pop("insecureSkipTlsVerify", UNSET)

        no_smbios = d.pop("noSmbios", UNSET)

        os_plugin = d.pop("osPlugin", UNSET)

        _post_install = d.pop("postInstall", UNSET)
        post_install: V1Beta1PostAction | Unset
        if isinstance(_post_install, Unset):
            post_install = UNSET
        else:
            post_install = V1Beta1PostAction.from_dict(_post_install)

        _post_reset = d.pop("postReset", UNSET)
        post_reset: V1Beta1PostAction | Unset
        if isinstance(_post_reset, Unset):
            post_reset = UNSET
        else:
            post_reset = V1Beta1PostAction.from_dict(_post_reset)

        reconciliation = d.pop("reconciliation", UNSET)

        use_system_cert_pool = d.pop("useSystemCertPool", UNSET)

        work_dir = d.pop("workDir", UNSET)

        v1_beta_1_agent = cls(
            debug=debug,
            hostname=hostname,
            insecure_allow_http=insecure_allow_http,
            insecure_skip_tls_verify=insecure_skip_tls_verify,
            no_smbios=no_smbios,
            os_plugin=os_plugin,
            post_install=post_install,
            post_reset=post_reset,
            reconciliation=reconciliation,
            use_system_cert_pool=use_system_cert_pool,
            work_dir=work_dir,
        )

        v1_beta_1_agent.additional_properties = d
        return v1_beta_1_agent

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
