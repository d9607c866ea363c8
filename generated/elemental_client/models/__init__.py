"""Contains all the data models used in inputs/outputs"""

from .annotations import Annotations
from .api_bootstrap_response import ApiBootstrapResponse
from .api_host_create_request import ApiHostCreateRequest
from .api_host_patch_request import ApiHostPatchRequest
from .api_host_response import ApiHostResponse
from .api_host_response_annotations import ApiHostResponseAnnotations
from .api_host_response_labels import ApiHostResponseLabels
from .api_host_response_os_version_management import ApiHostResponseOsVersionManagement
from .api_registration_response import ApiRegistrationResponse
from .api_registration_response_host_annotations import (
    ApiRegistrationResponseHostAnnotations,
)
from .api_registration_response_host_labels import ApiRegistrationResponseHostLabels
from .host_address import HostAddress
from .host_address_type import HostAddressType
from .labels import Labels
from .problem import Problem
from .v1_beta_1_agent import V1Beta1Agent
from .v1_beta_1_condition import V1Beta1Condition
from .v1_beta_1_condition_severity import V1Beta1ConditionSeverity
from .v1_beta_1_condition_status import V1Beta1ConditionStatus
from .v1_beta_1_config import V1Beta1Config
from .v1_beta_1_config_cloud_config import V1Beta1ConfigCloudConfig
from .v1_beta_1_elemental import V1Beta1Elemental
from .v1_beta_1_elemental_install import V1Beta1ElementalInstall
from .v1_beta_1_elemental_reset import V1Beta1ElementalReset
from .v1_beta_1_hostname import V1Beta1Hostname
from .v1_beta_1_post_action import V1Beta1PostAction
from .v1_beta_1_registration import V1Beta1Registration

__all__ = (
    "Annotations",
    "ApiBootstrapResponse",
    "ApiHostCreateRequest",
    "ApiHostPatchRequest",
    "ApiHostResponse",
    "ApiHostResponseAnnotations",
    "ApiHostResponseLabels",
    "ApiHostResponseOsVersionManagement",
    "ApiRegistrationResponse",
    "ApiRegistrationResponseHostAnnotations",
    "ApiRegistrationResponseHostLabels",
    "HostAddress",
    "HostAddressType",
    "Labels",
    "Problem",
    "V1Beta1Agent",
    "V1Beta1Condition",
    "V1Beta1ConditionSeverity",
    "V1Beta1ConditionStatus",
    "V1Beta1Config",
    "V1Beta1ConfigCloudConfig",
    "V1Beta1Elemental",
    "V1Beta1ElementalInstall",
    "V1Beta1ElementalReset",
    "V1Beta1Hostname",
    "V1Beta1PostAction",
    "V1Beta1Registration",
)
