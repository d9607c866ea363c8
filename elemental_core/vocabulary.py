"""The words the API, the operator and the agent share: API group, kinds, labels, finalizer,
phases, condition types and reasons, defaults. One place, so no spelling drifts."""

from __future__ import annotations

from dataclasses import dataclass

# -- API group, kinds and the REST API's prefix -----------------------------------------------

GROUP = "infrastructure.cluster.x-k8s.io"
VERSION = "v1beta1"
API_VERSION = f"{GROUP}/{VERSION}"
CAPI_GROUP = "cluster.x-k8s.io"
CAPI_VERSION = "v1beta2"  # Cluster and Machine as Cluster API >= 1.11 stores them
API_PREFIX = "/elemental/v1"


@dataclass(frozen=True)
class Resource:
    """A kind as kube-apiserver serves it."""

    group: str
    version: str
    plural: str
    kind: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


REGISTRATIONS = Resource(GROUP, VERSION, "elementalregistrations", "ElementalRegistration")
HOSTS = Resource(GROUP, VERSION, "elementalhosts", "ElementalHost")
ELEMENTAL_MACHINES = Resource(GROUP, VERSION, "elementalmachines", "ElementalMachine")
ELEMENTAL_CLUSTERS = Resource(GROUP, VERSION, "elementalclusters", "ElementalCluster")
REMEDIATIONS = Resource(GROUP, VERSION, "elementalremediations", "ElementalRemediation")
REMEDIATION_TEMPLATES = Resource(
    GROUP, VERSION, "elementalremediationtemplates", "ElementalRemediationTemplate"
)
MACHINES = Resource(CAPI_GROUP, CAPI_VERSION, "machines", "Machine")
CLUSTERS = Resource(CAPI_GROUP, CAPI_VERSION, "clusters", "Cluster")

# -- labels, annotations, finalizer ----------------------------------------------------------

_HOST = "elementalhost.infrastructure.cluster.x-k8s.io"
LABEL_MACHINE_NAME = f"{_HOST}/machine-name"
LABEL_ELEMENTAL_MACHINE_NAME = f"{_HOST}/elemental-machine-name"
LABEL_INSTALLED = f"{_HOST}/installed"
LABEL_BOOTSTRAPPED = f"{_HOST}/bootstrapped"
LABEL_NEEDS_RESET = f"{_HOST}/needs-reset"
LABEL_RESET = f"{_HOST}/reset"
LABEL_IN_PLACE_UPDATE = f"{_HOST}/in-place-update"
LABEL_CLUSTER_NAME = "cluster.x-k8s.io/cluster-name"
# Cluster API's pause of one object, and the mark clusterctl move puts on what it deletes
# from the cluster it moves away from (neither may make a host reset).
ANNOTATION_PAUSED = "cluster.x-k8s.io/paused"
ANNOTATION_DELETE_FOR_MOVE = "clusterctl.cluster.x-k8s.io/delete-for-move"

# Held on an ElementalRemediation until its host's reboot request and the Machine's
# ExternallyRemediated condition are cleaned up.
REMEDIATION_FINALIZER = "elementalremediation.infrastructure.cluster.x-k8s.io"

# Upstream's one finalizer name, on ElementalHosts (held until the host has reset) and on
# ElementalMachines (held until the machine's host is asked to reset).
FINALIZER = "elementalmachine.infrastructure.cluster.x-k8s.io"

# Label and annotation key prefixes that only the provider may set.
PROVIDER_OWNED_PREFIXES = (f"{_HOST}/", "cluster.x-k8s.io/")

# -- Secrets -----------------------------------------------------------------------------------

SIGNING_KEY_FIELD = "privKey"
BOOTSTRAP_VALUE_FIELD = "value"
BOOTSTRAP_FORMAT_FIELD = "format"
DEFAULT_BOOTSTRAP_FORMAT = "cloud-config"
KUBECONFIG_SECRET_SUFFIX = "-kubeconfig"  # noqa: S105 - a name suffix
KUBECONFIG_VALUE_FIELD = "value"

# -- host phases (ElementalHost.status.phase, upstream's doc/HOST_PHASES.md) -----------------

PHASE_REGISTERING = "Registering"
PHASE_FINALIZING_REGISTRATION = "Finalizing Registration"
PHASE_INSTALLING = "Installing"
PHASE_BOOTSTRAPPING = "Bootstrapping"
PHASE_RUNNING = "Running"
PHASE_TRIGGERING_RESET = "Triggering Reset"
PHASE_RESETTING = "Resetting"
PHASE_OS_VERSION_RECONCILE = "Reconciling OS Version"
PHASES = (
    PHASE_REGISTERING,
    PHASE_FINALIZING_REGISTRATION,
    PHASE_INSTALLING,
    PHASE_BOOTSTRAPPING,
    PHASE_RUNNING,
    PHASE_TRIGGERING_RESET,
    PHASE_RESETTING,
    PHASE_OS_VERSION_RECONCILE,
)

# -- remediation (ElementalRemediation, the enums and defaults of its CRD in openapi.yaml) -----

REMEDIATION_REBOOTING = "Rebooting"
REMEDIATION_WAITING_FOR_RECOVERY = "WaitingForRecovery"
REMEDIATION_RECOVERED = "Recovered"
REMEDIATION_REPLACING_MACHINE = "ReplacingMachine"
REMEDIATION_FAILED = "Failed"
REMEDIATION_PHASES = (
    REMEDIATION_REBOOTING,
    REMEDIATION_WAITING_FOR_RECOVERY,
    REMEDIATION_RECOVERED,
    REMEDIATION_REPLACING_MACHINE,
    REMEDIATION_FAILED,
)
REMEDIATION_STRATEGY_REBOOT = "Reboot"
DEFAULT_REMEDIATION_RETRY_LIMIT = 1
DEFAULT_REBOOT_TIMEOUT_SECONDS = 300
DEFAULT_RECOVERY_TIMEOUT_SECONDS = 600
# A reboot request id (ElementalHost spec.rebootRequest, status.rebootAccepted; patchHost's
# rebootAccepted): "<ElementalRemediation uid>-<attempt>", opaque to the API and the agent.
REBOOT_REQUEST_PATTERN = r"^[A-Za-z0-9][-A-Za-z0-9_.]*$"
REBOOT_REQUEST_MAX_LENGTH = 100

# -- condition types -----------------------------------------------------------------------------

READY = "Ready"
REGISTRATION_READY = "RegistrationReady"
INSTALLATION_READY = "InstallationReady"
BOOTSTRAP_READY = "BootstrapReady"
RESET_READY = "ResetReady"
OS_VERSION_READY = "OSVersionReady"
ASSOCIATION_READY = "AssociationReady"
HOST_READY = "HostReady"
PROVIDER_ID_READY = "ProviderIDReady"
CAPI_CLUSTER_READY = "CAPIClusterReady"
CONTROL_PLANE_ENDPOINT_READY = "ControlPlaneEndpointReady"
CONTROL_PLANE_INITIALIZED = "ControlPlaneInitialized"
PAUSED = "Paused"

# -- condition reasons ---------------------------------------------------------------------------

REGISTRATION_FAILED = "RegistrationFailed"
WAITING_FOR_INSTALLATION = "WaitingForInstallation"
CLOUD_CONFIG_INSTALLATION_FAILED = "CloudConfigInstallationFailed"
INSTALLATION_FAILED = "InstallationFailed"
WAITING_FOR_BOOTSTRAP = "WaitingForBootstrap"
BOOTSTRAP_FAILED = "BootstrapFailed"
WAITING_FOR_RESET = "WaitingForReset"
RESET_FAILED = "ResetFailed"
OS_VERSION_RECONCILIATION_FAILED = "OSVersionReconciliationFailed"
WAITING_FOR_POST_RECONCILE_REBOOT = "WaitingForPostReconcileReboot"
WAITING_FOR_OS_RECONCILE = "WaitingForOSReconcile"
IN_PLACE_UPDATE_NOT_PENDING = "InPlaceUpdateNotPending"
MISSING_MACHINE_OWNER = "MissingMachineOwner"
MISSING_ASSOCIATED_CLUSTER = "MissingAssociatedCluster"
MISSING_CLUSTER_INFRASTRUCTURE_READY = "MissingClusterInfrastructureReady"
MISSING_BOOTSTRAP_SECRET = "MissingBootstrapSecret"  # noqa: S105 - a reason
ASSOCIATED_HOST_NOT_FOUND = "AssociatedHostNotFound"
MISSING_AVAILABLE_HOSTS = "MissingAvailableHosts"
INVALID_SELECTOR = "InvalidSelector"

# Host liveness (elemental_core.hosts.seen, the host controller).
HOST_REACHABLE = "HostReachable"
CHECKED_IN = "CheckedIn"
CHECK_IN_OVERDUE = "CheckInOverdue"
NO_CHECK_IN_RECORDED = "NoCheckInRecorded"

# Remediation without a BMC: the Machine conditions of Cluster API a remediation answers
# (v1beta2, metav1 shape; the reasons of ExternallyRemediated are the remediation's phases).
EXTERNALLY_REMEDIATED = "ExternallyRemediated"
OWNER_REMEDIATED = "OwnerRemediated"
HEALTH_CHECK_SUCCEEDED = "HealthCheckSucceeded"
WAITING_FOR_REMEDIATION = "WaitingForRemediation"
# The remediation's Events.
EVENT_REBOOT_REQUESTED = "RebootRequested"
EVENT_REBOOT_ACCEPTED = "RebootAccepted"
EVENT_REBOOT_TIMED_OUT = "RebootTimedOut"
EVENT_RECOVERY_TIMED_OUT = "RecoveryTimedOut"
EVENT_HOST_RECOVERED = "HostRecovered"
EVENT_MACHINE_REPLACEMENT_REQUESTED = "MachineReplacementRequested"
EVENT_REMEDIATION_FAILED = "RemediationFailed"
# Deleted before it finished: by the MachineHealthCheck (Machine healthy) or with its Machine.
EVENT_REMEDIATION_ENDED = "RemediationEnded"

HOST_WAITING_FOR_INSTALL = "HostWaitingForInstall"
HOST_WAITING_FOR_BOOTSTRAP = "HostWaitingForBootstrap"
WAITING_FOR_CONTROL_PLANE_INITIALIZED = "WaitingForControlPlaneInitialized"
WAITING_FOR_KUBECONFIG = "WaitingForKubeconfig"
NODE_NOT_FOUND = "NodeNotFound"
MISSING_CLUSTER_OWNER = "MissingClusterOwner"
MISSING_CONTROL_PLANE_ENDPOINT = "MissingControlPlaneEndpoint"
MISSING_API_ENDPOINT = "MissingAPIEndpoint"
MISSING_SIGNING_KEY = "MissingSigningKey"
PAUSED_REASON = "Paused"
NOT_PAUSED = "NotPaused"

# In-place update label values.
IN_PLACE_UPDATE_PENDING = "pending"
IN_PLACE_UPDATE_DONE = "done"

# -- defaults ----------------------------------------------------------------------------------

NANOSECONDS = 1_000_000_000
DEFAULT_OS_PLUGIN = "/usr/lib/elemental/plugins/elemental.so"
DEFAULT_WORK_DIR = "/var/lib/elemental/agent"
DEFAULT_RECONCILIATION = 10 * NANOSECONDS


def registration_uri(endpoint: str, namespace: str, name: str) -> str:
    """The URI an agent uses for a registration, as upstream's operator writes it."""
    return f"{endpoint.rstrip('/')}{API_PREFIX}/namespaces/{namespace}/registrations/{name}"


def host_path(namespace: str, registration: str, host: str) -> str:
    return f"{API_PREFIX}/namespaces/{namespace}/registrations/{registration}/hosts/{host}"
