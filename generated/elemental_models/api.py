# Generated from openapi.yaml by scripts/generate: do not edit.

from __future__ import annotations

from typing import Annotated, Any, Literal
from pydantic import BaseModel, Field, RootModel


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


class HostAddress(BaseModel):
    """
    One address of the host, as Cluster API's MachineAddress.
    """

    type: Literal["Hostname", "InternalIP", "ExternalIP", "InternalDNS", "ExternalDNS"]
    address: Annotated[
        str,
        Field(
            description="A host name, DNS name or IP address (printable ASCII, no spaces).",
            max_length=253,
            min_length=1,
            pattern="^[!-~]+$",
        ),
    ]


class HostAddresses(RootModel[list[HostAddress]]):
    """
    The host's addresses as it reports them (its host name, its non-loopback IP
    addresses); recorded as the ElementalHost's `status.addresses`, which the
    ElementalMachine's `status.addresses` copies. When sent, the list replaces the one
    recorded (an empty list clears it); left out, the recorded one stays.

    """

    root: Annotated[
        list[HostAddress],
        Field(
            description="The host's addresses as it reports them (its host name, its non-loopback IP\naddresses); recorded as the ElementalHost's `status.addresses`, which the\nElementalMachine's `status.addresses` copies. When sent, the list replaces the one\nrecorded (an empty list clears it); left out, the recorded one stays.\n",
            examples=[
                [
                    {"type": "Hostname", "address": "my-host"},
                    {"type": "InternalIP", "address": "192.168.122.10"},
                ]
            ],
            max_length=32,
        ),
    ]


class ApiBootstrapResponse(BaseModel):
    config: Annotated[str, Field(description="The bootstrap data (for example a cloud-config document).")]
    format: Annotated[str, Field(description="`cloud-config` or `ignition`.")]


class ApiHostCreateRequest(BaseModel):
    name: DnsSubdomain
    pubKey: Annotated[
        str, Field(description="The host's Ed25519 public key, PEM (`PUBLIC KEY`).", max_length=4096)
    ]
    labels: Labels | None = None
    annotations: Annotations | None = None
    addresses: HostAddresses | None = None


class ApiHostResponse(BaseModel):
    name: str
    annotations: dict[str, str] | None = None
    labels: dict[str, str] | None = None
    bootstrapReady: Annotated[
        bool, Field(description="Bootstrap data is attached; the agent should fetch and apply it.")
    ]
    bootstrapped: bool
    installed: bool
    needsReset: Annotated[
        bool, Field(description="The host must reset itself (its machine went away or it was deleted).")
    ]
    rebootRequest: Annotated[
        str | None,
        Field(
            description="The host is asked to reboot (a remediation of its unhealthy machine): an opaque id,\nsent until the agent acknowledges it with patchHost `rebootAccepted`. Absent when\nno reboot is pending, when the pending one was acknowledged, and when the host is\nasked to reset (`needsReset` wins). Agents that do not know it ignore it.\n"
        ),
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
    addresses: HostAddresses | None = None
    rebootAccepted: Annotated[
        str | None,
        Field(
            description="The agent took the reboot request with this id (the answer's `rebootRequest`) and\nis about to reboot. Recorded as the ElementalHost's `status.rebootAccepted` when it\nis the request still pending; an id no longer pending (the remediation ended\nmeanwhile) is accepted and ignored. Sending the recorded id again changes nothing.\n",
            max_length=100,
            min_length=1,
            pattern="^[A-Za-z0-9][-A-Za-z0-9_.]*$",
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


class ApiRegistrationResponse(BaseModel):
    config: V1Beta1Config
    hostAnnotations: dict[str, str] | None = None
    hostLabels: dict[str, str] | None = None
