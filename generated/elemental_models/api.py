# Generated from openapi.yaml by scripts/generate: do not edit.

from __future__ import annotations

from typing import Annotated, Any, Literal
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, RootModel
from typing_extensions import TypeAliasType


class Problem(BaseModel):
    """
    RFC 7807 problem details, the shape of every error answer.
    """

    type: Annotated[
        str | None, Field(description="A URI reference naming the kind of problem (`about:blank` when none).")
    ] = None
    title: Annotated[str, Field(description="Short summary of the kind of problem.")]
    status: Annotated[int, Field(description="The HTTP status code.")]
    detail: Annotated[
        str | None, Field(description="What was wrong with this request, in general terms.")
    ] = None


class DnsLabel(RootModel[str]):
    root: Annotated[
        str,
        Field(
            description="A Kubernetes DNS-1123 label.",
            max_length=63,
            min_length=1,
            pattern="^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        ),
    ]


class DnsSubdomain(RootModel[str]):
    root: Annotated[
        str,
        Field(
            description="A Kubernetes DNS-1123 subdomain.",
            max_length=253,
            min_length=1,
            pattern="^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
        ),
    ]


class LabelValue(RootModel[str]):
    root: Annotated[
        str,
        Field(
            description="A Kubernetes label value (empty, or 63 characters at most of alphanumerics, `-`, `_`, `.`, starting and ending with an alphanumeric).",
            max_length=63,
            pattern="^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$",
        ),
    ]


class Labels(RootModel[dict[str, LabelValue]]):
    """
    Kubernetes labels. Keys are `[prefix/]name` (prefix a DNS-1123 subdomain, name 63
    characters at most); keys under `elementalhost.infrastructure.cluster.x-k8s.io/` and
    `cluster.x-k8s.io/` belong to the provider and are refused from clients.

    """

    root: Annotated[dict[str, LabelValue], Field(max_length=128)]


class Annotations(RootModel[dict[str, str]]):
    """
    Kubernetes annotations; same key rules as labels, values of any text (256 KiB in all).
    """

    root: Annotated[dict[str, str], Field(max_length=128)]


class RuntimeRawExtension(RootModel[Any]):
    root: Annotated[Any, Field(description="Any JSON value, kept as given.")]


class ApiBootstrapResponse(BaseModel):
    config: Annotated[
        str | None, Field(description="The bootstrap data (for example a cloud-config document).")
    ] = None
    format: Annotated[str | None, Field(description="`cloud-config` or `ignition`.")] = None


class ApiHostCreateRequest(BaseModel):
    name: DnsSubdomain
    pubKey: Annotated[
        str, Field(description="The host's Ed25519 public key, PEM (`PUBLIC KEY`).", max_length=4096)
    ]
    labels: Labels | None = None
    annotations: Annotations | None = None


class ApiHostResponse(BaseModel):
    name: str | None = None
    annotations: dict[str, str] | None = None
    labels: dict[str, str] | None = None
    bootstrapReady: Annotated[
        bool | None, Field(description="Bootstrap data is attached; the agent should fetch and apply it.")
    ] = None
    bootstrapped: bool | None = None
    installed: bool | None = None
    needsReset: Annotated[
        bool | None,
        Field(description="The host must reset itself (its machine went away or it was deleted)."),
    ] = None
    inPlaceUpgrade: str | None = None
    osVersionManagement: dict[str, RuntimeRawExtension] | None = None


class V1Beta1Condition(BaseModel):
    """
    A Cluster API v1beta1 condition.
    """

    type: Annotated[str, Field(max_length=316, min_length=1)]
    status: Literal["True", "False", "Unknown"]
    severity: Literal["", "Error", "Warning", "Info"] | None = None
    reason: Annotated[str | None, Field(max_length=1024)] = None
    message: Annotated[str | None, Field(max_length=10240)] = None
    lastTransitionTime: Annotated[
        str | None, Field(description="Set by the server; clients may send null.")
    ] = None


class V1Beta1Hostname(BaseModel):
    prefix: str | None = None
    useExisting: bool | None = False


class V1Beta1PostAction(BaseModel):
    powerOff: bool | None = None
    reboot: bool | None = None


class V1Beta1Registration(BaseModel):
    caCert: str | None = None
    token: str | None = None
    tokenDuration: Annotated[
        int | None,
        Field(description="Registration token lifetime in nanoseconds (a Go duration); 0 means no expiry."),
    ] = None
    uri: str | None = None


class ObjectReference(BaseModel):
    """
    A reference to a Kubernetes object (core/v1 ObjectReference).
    """

    apiVersion: str | None = None
    fieldPath: str | None = None
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None
    resourceVersion: str | None = None
    uid: str | None = None


class ObjectMeta(BaseModel):
    """
    Kubernetes object metadata (validated by the API server itself).
    """

    model_config = ConfigDict(
        extra="allow",
    )


class TemplateObjectMeta(BaseModel):
    """
    Standard object's metadata of a template (an object whose fields are pruned, as upstream).
    """


class Condition(BaseModel):
    """
    A Cluster API v1beta1 condition as stored in a resource's status.
    """

    lastTransitionTime: Annotated[AwareDatetime, Field(description="When the condition last changed status.")]
    message: str | None = None
    reason: str | None = None
    severity: Annotated[
        str | None, Field(description="Error, Warning or Info; empty when status is True.")
    ] = None
    status: Annotated[str, Field(description="True, False or Unknown.")]
    type: str


class Conditions(RootModel[list[Condition]]):
    root: list[Condition]


class APIEndpoint(BaseModel):
    host: Annotated[str, Field(description="The hostname or IP on which the API server is serving.")]
    port: Annotated[int, Field(description="The port on which the API server is serving.")]


class FailureDomains1(BaseModel):
    attributes: dict[str, str] | None = None
    controlPlane: bool | None = None


class FailureDomains(RootModel[dict[str, FailureDomains1]]):
    root: dict[str, FailureDomains1]


class MatchExpression(BaseModel):
    key: str
    operator: Annotated[str, Field(description="In, NotIn, Exists or DoesNotExist.")]
    values: list[str] | None = None


class LabelSelector(BaseModel):
    """
    A Kubernetes label selector (matchLabels AND matchExpressions).
    """

    matchExpressions: list[MatchExpression] | None = None
    matchLabels: dict[str, str] | None = None


HostLabelsAdditionalProperty = TypeAliasType(
    "HostLabelsAdditionalProperty",
    Annotated[str, Field(max_length=63, pattern="^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")],
)


class ElementalRegistrationStatus(BaseModel):
    conditions: Conditions | None = None


class ElementalHostSpec(BaseModel):
    pubKey: Annotated[
        str | None, Field(description="The host's PEM Ed25519 public key; host tokens are verified with it.")
    ] = None
    bootstrapSecret: ObjectReference | None = None
    machineRef: ObjectReference | None = None
    osVersionManagement: Annotated[
        dict[str, Any] | None,
        Field(description="OS version management instructions for the agent (free-form)."),
    ] = None


class ElementalHostStatus(BaseModel):
    conditions: Conditions | None = None
    phase: str | None = None


class ElementalMachineSpec(BaseModel):
    providerID: Annotated[
        str | None, Field(description="elemental://NAMESPACE/HOST once the node is known.")
    ] = None
    selector: LabelSelector | None = None
    hostRef: ObjectReference | None = None
    osVersionManagement: Annotated[
        dict[str, Any] | None,
        Field(description="OS version management instructions passed to the host (free-form)."),
    ] = None


class ElementalMachineStatus(BaseModel):
    ready: bool | None = False
    conditions: Conditions | None = None
    failureDomains: FailureDomains | None = None


class Template(BaseModel):
    metadata: TemplateObjectMeta | None = None
    spec: ElementalMachineSpec | None = None


class ElementalMachineTemplateSpec(BaseModel):
    template: Template


class ElementalClusterSpec(BaseModel):
    controlPlaneEndpoint: APIEndpoint | None = None


class ElementalClusterStatus(BaseModel):
    ready: bool | None = False
    conditions: Conditions | None = None
    failureDomains: FailureDomains | None = None


class Template1(BaseModel):
    metadata: TemplateObjectMeta | None = None
    spec: ElementalClusterSpec


class ElementalClusterTemplateSpec(BaseModel):
    template: Template1


class ApiHostPatchRequest(BaseModel):
    annotations: Annotations | None = None
    labels: Labels | None = None
    bootstrapped: Annotated[
        bool | None,
        Field(description="Marks the host bootstrapped. Refused (400) while no bootstrap data is attached."),
    ] = None
    installed: Annotated[bool | None, Field(description="Marks the host installed.")] = None
    reset: Annotated[
        bool | None, Field(description="Marks the host reset; a host marked for deletion then goes away.")
    ] = None
    inPlaceUpdate: Annotated[
        str | None,
        Field(
            description="In-place update state (`pending` or `done`).",
            max_length=63,
            min_length=1,
            pattern="^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$",
        ),
    ] = None
    condition: V1Beta1Condition | None = None
    phase: Annotated[
        str | None,
        Field(
            description="Host phase: Registering, Finalizing Registration, Installing, Bootstrapping,\nRunning, Triggering Reset, Resetting, Reconciling OS Version.\n",
            max_length=63,
            pattern="^[ -~]*$",
        ),
    ] = None


class V1Beta1Agent(BaseModel):
    debug: bool | None = None
    hostname: V1Beta1Hostname | None = None
    insecureAllowHttp: bool | None = None
    insecureSkipTlsVerify: bool | None = None
    noSmbios: bool | None = None
    osPlugin: str | None = "/usr/lib/elemental/plugins/elemental.so"
    postInstall: V1Beta1PostAction | None = None
    postReset: V1Beta1PostAction | None = None
    reconciliation: Annotated[
        int | None, Field(description="Check-in period in nanoseconds (a Go duration).")
    ] = 10000000000
    useSystemCertPool: bool | None = None
    workDir: str | None = "/var/lib/elemental/agent"


class V1Beta1Elemental(BaseModel):
    agent: V1Beta1Agent | None = None
    install: Annotated[
        dict[str, RuntimeRawExtension] | None,
        Field(description="elemental-toolkit install configuration (free-form)."),
    ] = None
    registration: V1Beta1Registration | None = None
    reset: Annotated[
        dict[str, RuntimeRawExtension] | None,
        Field(description="elemental-toolkit reset configuration (free-form)."),
    ] = None


class V1Beta1Config(BaseModel):
    cloudConfig: Annotated[
        dict[str, RuntimeRawExtension] | None,
        Field(description="Cloud-config applied to the host at install (free-form)."),
    ] = None
    elemental: V1Beta1Elemental | None = None


class ElementalRegistrationSpec(BaseModel):
    hostLabels: Annotated[
        dict[str, HostLabelsAdditionalProperty] | None,
        Field(description="Labels propagated to each ElementalHost of this registration.", max_length=64),
    ] = None
    hostAnnotations: Annotated[
        dict[str, str] | None,
        Field(
            description="Annotations propagated to each ElementalHost of this registration.", max_length=64
        ),
    ] = None
    config: V1Beta1Config | None = None
    privateKeyRef: ObjectReference | None = None


class ApiRegistrationResponse(BaseModel):
    config: V1Beta1Config | None = None
    hostAnnotations: dict[str, str] | None = None
    hostLabels: dict[str, str] | None = None
