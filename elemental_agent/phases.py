"""The host phases (upstream's doc/HOST_PHASES.md) and what each reports to the Elemental API.

Registering -> Finalizing Registration -> Installing -> (Running, Reconciling OS Version,
Bootstrapping)* -> Triggering Reset -> Resetting. Phases and failure conditions are reported
best effort; the conditions that mark a step done (`...Ready: True`) are retried until the
API has them. Network errors and 5xx answers are retried every reconciliation period.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import ValidationError

from elemental_agent import reboots, smbios
from elemental_agent.addresses import host_addresses
from elemental_agent.config import Config, PostAction
from elemental_agent.context import AgentContext
from elemental_agent.encoding import go_json
from elemental_agent.errors import AgentError, ApiError, RequestRefused, RetryableError
from elemental_agent.hostname import choose_hostname, is_random
from elemental_agent.identity import key_path
from elemental_agent.plugins.base import Plugin
from elemental_core.vocabulary import (
    BOOTSTRAP_FAILED,
    BOOTSTRAP_READY,
    CLOUD_CONFIG_INSTALLATION_FAILED,
    IN_PLACE_UPDATE_DONE,
    IN_PLACE_UPDATE_PENDING,
    INSTALLATION_FAILED,
    INSTALLATION_READY,
    OS_VERSION_READY,
    OS_VERSION_RECONCILIATION_FAILED,
    PHASE_BOOTSTRAPPING,
    PHASE_FINALIZING_REGISTRATION,
    PHASE_INSTALLING,
    PHASE_OS_VERSION_RECONCILE,
    PHASE_REGISTERING,
    PHASE_RESETTING,
    PHASE_RUNNING,
    PHASE_TRIGGERING_RESET,
    REGISTRATION_FAILED,
    REGISTRATION_READY,
    RESET_FAILED,
    RESET_READY,
    WAITING_FOR_BOOTSTRAP,
    WAITING_FOR_INSTALLATION,
    WAITING_FOR_POST_RECONCILE_REBOOT,
    WAITING_FOR_RESET,
)
from elemental_models.api import (
    ApiHostCreateRequest,
    ApiHostPatchRequest,
    ApiHostResponse,
    ApiRegistrationResponse,
    V1Beta1Condition,
)

log = logging.getLogger(__name__)

MAX_MESSAGE = 10240

Status = Literal["True", "False", "Unknown"]
Severity = Literal["", "Error", "Warning", "Info"]


def condition(
    type_: str, status: Status, severity: Severity, reason: str = "", message: str = ""
) -> V1Beta1Condition:
    return V1Beta1Condition(
        type=type_, status=status, severity=severity, reason=reason, message=message[:MAX_MESSAGE]
    )


def set_phase(ctx: AgentContext, phase: str) -> None:
    """Best effort: a failed phase report is logged; the next one will do."""
    try:
        ctx.client.patch_host(ApiHostPatchRequest(phase=phase), ctx.hostname)
    except ApiError as error:
        log.error("Could not report phase %s: %s", phase, error)


def update_condition(ctx: AgentContext, cond: V1Beta1Condition) -> None:
    """Best effort, for failure conditions: if reporting fails too, the log has it."""
    try:
        ctx.client.patch_host(ApiHostPatchRequest(condition=cond), ctx.hostname)
    except ApiError as error:
        log.error("Could not report condition %s (%s): %s", cond.type, cond.reason, error)


def update_condition_or_fail(ctx: AgentContext, cond: V1Beta1Condition) -> None:
    try:
        ctx.client.patch_host(ApiHostPatchRequest(condition=cond), ctx.hostname)
    except ApiError as error:
        raise type(error)(
            f"reporting condition {cond.type}: {error}", status=error.status, detail=error.detail
        ) from error


def handle_post(plugin: Plugin, post: PostAction) -> bool:
    """Powers off or reboots as asked (power-off first); True when the agent should exit."""
    if post.power_off:
        log.info("Powering off system")
        try:
            plugin.power_off()
        except AgentError as error:
            log.error("Powering off system: %s", error)
        return True
    if post.reboot:
        log.info("Rebooting system")
        try:
            plugin.reboot()
        except AgentError as error:
            log.error("Rebooting system: %s", error)
        return True
    return False


def _config_value(registration: ApiRegistrationResponse, *path: str) -> Any:
    """A free-form part of the registration config as plain JSON (None when absent)."""
    value: Any = registration.model_dump(mode="json").get("config")
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


# -- Registering, Finalizing Registration -----------------------------------------------------


def register(ctx: AgentContext) -> None:
    """Fetches the registration, picks a hostname and creates the host (or finds it already
    registered under that name and key); afterwards the agent works with the config the
    registration hands out. Network errors and 5xx are retried each period; a 4xx ends it
    (a random name already taken is retried at once under a new name)."""
    public_key = ctx.identity.public_pem()
    labels = {} if ctx.config.agent.no_smbios else smbios.host_labels(ctx.host.runner)
    wait = False
    while True:
        if wait:
            ctx.stopper.wait(ctx.period)
        ctx.stopper.check()
        try:
            hostname, remote = _register_once(ctx, public_key, labels)
            break
        except _TryAgain as again:
            wait = not again.now
    log.info("Successfully registered as '%s'", hostname)
    ctx.hostname = hostname
    ctx.config = remote
    # The phase is set once the host exists: before, there is nothing to patch.
    set_phase(ctx, PHASE_REGISTERING)


class _TryAgain(Exception):
    def __init__(self, now: bool = False) -> None:
        super().__init__()
        self.now = now


def _register_once(ctx: AgentContext, public_key: str, labels: dict[str, str]) -> tuple[str, Config]:
    log.debug("Fetching remote registration")
    try:
        registration = ctx.client.get_registration()
    except RetryableError as error:
        log.error("Registering: %s", error)
        raise _TryAgain from error
    except RequestRefused as error:
        raise AgentError(f"registering: {error}") from error
    remote = Config.from_api(registration)
    try:
        hostname = choose_hostname(remote.agent.hostname, ctx.plugin.get_hostname)
    except AgentError as error:
        log.error("Picking new hostname: %s", error)
        raise _TryAgain from error
    log.debug("Selected hostname: %s", hostname)
    # Already registered? (a previous `register` may have failed after creating the host)
    try:
        ctx.client.patch_host(ApiHostPatchRequest(), hostname)
        log.info("Found existing ElementalHost: %s. Skipping new registration.", hostname)
        return hostname, remote
    except ApiError:
        pass
    try:
        request = ApiHostCreateRequest.model_validate(
            {
                "name": hostname,
                "pubKey": public_key,
                "labels": {**labels, **(registration.hostLabels or {})} or None,
                "annotations": registration.hostAnnotations or None,
            }
        )
    except ValidationError as error:
        raise AgentError(
            f"registering: host {hostname!r} can't be created: {_first_problem(error)}"
        ) from error
    log.debug("Registering new host: %s", hostname)
    try:
        ctx.client.create_host(request)
    except RetryableError as error:
        log.error("Registering: %s", error)
        raise _TryAgain from error
    except RequestRefused as error:
        if error.status == 409 and is_random(remote.agent.hostname):
            log.warning("Host name %s is taken, picking another one", hostname)
            raise _TryAgain(now=True) from error
        raise AgentError(f"registering: {error}") from error
    return hostname, remote


def finalize_registration(ctx: AgentContext) -> None:
    """Installs the hostname, the config the registration handed out (at the agent's config
    path) and the private key (in that config's workDir) through the plugin."""
    set_phase(ctx, PHASE_FINALIZING_REGISTRATION)
    try:
        ctx.plugin.install_hostname(ctx.hostname)
        ctx.plugin.install_file(ctx.config.to_yaml(), ctx.config_path, 0o640, 0, 0)
        ctx.plugin.install_file(ctx.identity.to_pem(), key_path(ctx.config.agent.work_dir), 0o640, 0, 0)
    except AgentError as error:
        update_condition(
            ctx, condition(REGISTRATION_READY, "False", "Error", REGISTRATION_FAILED, str(error))
        )
        raise AgentError(f"finalizing registration: {error}") from error
    # Retried: once this command exits, a new `register` would start over.
    while True:
        try:
            update_condition_or_fail(ctx, condition(REGISTRATION_READY, "True", "Info"))
            break
        except RetryableError as error:
            log.error("Updating RegistrationReady True condition: %s", error)
            ctx.stopper.wait(ctx.period)
        except RequestRefused as error:
            raise AgentError(f"finalizing registration: {error}") from error
    update_condition(
        ctx,
        condition(
            INSTALLATION_READY,
            "False",
            "Info",
            WAITING_FOR_INSTALLATION,
            "Host is registered successfully. Waiting for installation.",
        ),
    )


# -- Installing ---------------------------------------------------------------------------------


def install(ctx: AgentContext) -> None:
    """Cloud-config, then the plugin's install, then `installed: true`; every failure is
    reported and retried each period (the registration's instructions may be fixed meanwhile)."""
    set_phase(ctx, PHASE_INSTALLING)
    cloud_config_applied = installed = False
    failure: tuple[str, str] | None = None
    while True:
        if failure is not None:
            message, reason = failure
            log.error("Installing host: %s", message)
            update_condition(ctx, condition(INSTALLATION_READY, "False", "Error", reason, message))
            failure = None
            ctx.stopper.wait(ctx.period)
        ctx.stopper.check()
        registration: ApiRegistrationResponse | None = None
        if not (cloud_config_applied and installed):
            try:
                registration = ctx.client.get_registration()
            except ApiError as error:
                failure = (f"getting remote Registration: {error}", INSTALLATION_FAILED)
                continue
        if not cloud_config_applied and registration is not None:
            try:
                ctx.plugin.install_cloud_init(go_json(_config_value(registration, "cloudConfig")))
            except AgentError as error:
                failure = (f"installing cloud config: {error}", CLOUD_CONFIG_INSTALLATION_FAILED)
                continue
            cloud_config_applied = True
        if not installed and registration is not None:
            try:
                ctx.plugin.install(go_json(_config_value(registration, "elemental", "install")))
            except AgentError as error:
                failure = (f"installing host: {error}", INSTALLATION_FAILED)
                continue
            installed = True
        try:
            ctx.client.patch_host(
                ApiHostPatchRequest(installed=True, condition=condition(INSTALLATION_READY, "True", "Info")),
                ctx.hostname,
            )
        except ApiError as error:
            failure = (f"patching host with installation successful: {error}", INSTALLATION_FAILED)
            continue
        log.info("Host installed")
        return


# -- Bootstrapping ------------------------------------------------------------------------------


def bootstrap(ctx: AgentContext) -> PostAction:
    """Applies the bootstrap data and asks for a reboot; after the reboot, the sentinel the
    bootstrap wrote makes it report `bootstrapped: true`."""
    set_phase(ctx, PHASE_BOOTSTRAPPING)
    try:
        return _bootstrap(ctx)
    except AgentError as error:
        update_condition(ctx, condition(BOOTSTRAP_READY, "False", "Error", BOOTSTRAP_FAILED, str(error)))
        raise


def _bootstrap(ctx: AgentContext) -> PostAction:
    sentinel = ctx.bootstrap_sentinel
    if ctx.host.exists(sentinel):
        log.info("Found file: %s. System is bootstrapped.", sentinel)
        try:
            ctx.client.patch_host(
                ApiHostPatchRequest(bootstrapped=True, condition=condition(BOOTSTRAP_READY, "True", "Info")),
                ctx.hostname,
            )
        except ApiError as error:
            raise type(error)(
                f"updating bootstrapped status: {error}", status=error.status, detail=error.detail
            ) from error
        log.info("Bootstrap config applied successfully")
        return PostAction()
    log.debug("Fetching bootstrap config")
    try:
        data = ctx.client.get_bootstrap(ctx.hostname)
    except ApiError as error:
        raise type(error)(
            f"fetching bootstrap config: {error}", status=error.status, detail=error.detail
        ) from error
    log.info("Applying bootstrap config")
    try:
        ctx.plugin.bootstrap(data.format or "cloud-config", (data.config or "").encode())
    except AgentError as error:
        raise AgentError(f"applying bootstrap config: {error}") from error
    update_condition(
        ctx,
        condition(
            BOOTSTRAP_READY, "False", "Info", WAITING_FOR_BOOTSTRAP, "Waiting for bootstrap to be executed"
        ),
    )
    log.info("System is rebooting to execute the bootstrap configuration...")
    return PostAction(reboot=True)


# -- Reconciling OS Version ---------------------------------------------------------------------


def reconcile_os_version(
    ctx: AgentContext, os_version_management: dict[str, Any] | None, in_place_update: bool
) -> PostAction:
    """Hands osVersionManagement to the plugin; a reboot it asks for is the post action. Done
    without reboot: OSVersionReady, and a pending in-place update becomes `done`."""
    data = go_json(os_version_management)
    try:
        reboot = ctx.plugin.reconcile_os_version(data)
    except AgentError as error:
        message = f"reconciling osVersion: {error}"
        update_condition(
            ctx, condition(OS_VERSION_READY, "False", "Error", OS_VERSION_RECONCILIATION_FAILED, message)
        )
        raise AgentError(message) from error
    if reboot:
        # Only when rebooting: otherwise the phase would flicker at every check-in.
        set_phase(ctx, PHASE_OS_VERSION_RECONCILE)
        update_condition(
            ctx,
            condition(
                OS_VERSION_READY,
                "False",
                "Info",
                WAITING_FOR_POST_RECONCILE_REBOOT,
                "Waiting for Host to reboot after OS Version has been reconciled.",
            ),
        )
        return PostAction(reboot=True)
    update_condition_or_fail(ctx, condition(OS_VERSION_READY, "True", "Info"))
    if in_place_update:
        try:
            ctx.client.patch_host(ApiHostPatchRequest(inPlaceUpdate=IN_PLACE_UPDATE_DONE), ctx.hostname)
        except ApiError as error:
            raise type(error)(
                f"updating InPlaceUpgrade done label: {error}", status=error.status, detail=error.detail
            ) from error
    return PostAction()


# -- Triggering Reset, Resetting ----------------------------------------------------------------


def trigger_reset(ctx: AgentContext) -> None:
    set_phase(ctx, PHASE_TRIGGERING_RESET)
    try:
        ctx.plugin.trigger_reset()
    except AgentError as error:
        message = f"triggering reset: {error}"
        update_condition(ctx, condition(RESET_READY, "False", "Error", RESET_FAILED, message))
        raise AgentError(message) from error
    update_condition(
        ctx,
        condition(
            RESET_READY,
            "False",
            "Info",
            WAITING_FOR_RESET,
            "Reset was triggered successfully. Waiting for host to reset.",
        ),
    )


def reset(ctx: AgentContext) -> None:
    """Deletes the host (it stays until reset), resets through the plugin with the
    registration's reset config, then reports `reset: true` so the host can go away."""
    set_phase(ctx, PHASE_RESETTING)
    already_reset = False
    failure: str | None = None
    while True:
        if failure is not None:
            log.error("Resetting: %s", failure)
            update_condition(ctx, condition(RESET_READY, "False", "Error", RESET_FAILED, failure))
            failure = None
            ctx.stopper.wait(ctx.period)
        ctx.stopper.check()
        log.debug("Marking ElementalHost for deletion: %s", ctx.hostname)
        try:
            ctx.client.delete_host(ctx.hostname)
        except RequestRefused as error:
            if error.status != 404:
                failure = f"marking host for deletion: {error}"
                continue
            log.warning("ElementalHost %s is gone already", ctx.hostname)
        except ApiError as error:
            failure = f"marking host for deletion: {error}"
            continue
        if not already_reset:
            try:
                registration = ctx.client.get_registration()
            except ApiError as error:
                failure = f"getting remote Registration: {error}"
                continue
            log.debug("Resetting...")
            try:
                ctx.plugin.reset(go_json(_config_value(registration, "elemental", "reset")))
            except AgentError as error:
                failure = f"resetting host: {error}"
                continue
            already_reset = True
        log.debug("Patching ElementalHost as reset")
        try:
            ctx.client.patch_host(
                ApiHostPatchRequest(reset=True, condition=condition(RESET_READY, "True", "Info")),
                ctx.hostname,
            )
        except RequestRefused as error:
            if error.status != 404:
                failure = f"patching host with reset successful: {error}"
                continue
            log.warning("ElementalHost %s is gone already", ctx.hostname)
        except ApiError as error:
            failure = f"patching host with reset successful: {error}"
            continue
        log.info("Host reset")
        return


# -- Running ------------------------------------------------------------------------------------


def run(ctx: AgentContext) -> None:
    """The check-in loop: every period, PATCH phase Running and act on the answer. Returns
    once a reset was triggered, or a reboot/power-off is under way (a requested one too)."""
    log.info("Entering reconciliation loop")
    while True:
        ctx.stopper.check()
        if step(ctx):
            return
        ctx.stopper.wait(ctx.period)


def step(ctx: AgentContext) -> bool:
    """One check-in; True when the agent should exit."""
    addresses = host_addresses(ctx.host, ctx.hostname)
    changed = addresses != ctx.reported_addresses  # sent only when changed: a no-op check-in writes nothing
    patch = ApiHostPatchRequest.model_validate(
        {"phase": PHASE_RUNNING, **({"addresses": addresses} if changed else {})}
    )
    try:
        host = ctx.client.patch_host(patch, ctx.hostname)
    except ApiError as error:
        log.error("Could not patch ElementalHost during normal reconcile: %s", error)
        return False
    ctx.reported_addresses = addresses
    # Reset first: it is how a host stuck in another phase (a failed bootstrap) recovers.
    if host.needsReset:
        log.info("Triggering reset")
        try:
            trigger_reset(ctx)
        except AgentError as error:
            log.error("Handling reset trigger: %s", error)
            return False
        log.info("Reset was triggered successfully. Exiting program.")
        return True
    # Then a remediation's reboot: the machine is unhealthy, nothing else is worth doing first.
    if host.rebootRequest:
        return reboots.take(ctx, host.rebootRequest)
    in_place_update = host.inPlaceUpgrade == IN_PLACE_UPDATE_PENDING
    if not host.bootstrapped or in_place_update:
        log.debug("Reconciling OS Version")
        try:
            post = reconcile_os_version(ctx, _os_version_management(host), in_place_update)
        except AgentError as error:
            log.error("Handling OS reconciliation: %s", error)
            return False
        if handle_post(ctx.plugin, post):
            return True
    if host.bootstrapReady and not host.bootstrapped:
        log.info("Handling bootstrap application")
        try:
            post = bootstrap(ctx)
        except AgentError as error:
            log.error("Handling bootstrap: %s", error)
            return False
        if handle_post(ctx.plugin, post):
            return True
    return False


def _os_version_management(host: ApiHostResponse) -> dict[str, Any] | None:
    value = host.model_dump(mode="json").get("osVersionManagement")
    return value if isinstance(value, dict) else None


def _first_problem(error: ValidationError) -> str:
    problems = error.errors()
    if not problems:
        return str(error)
    first = problems[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    return f"{where}: {first.get('msg', '')}" if where else str(first.get("msg", ""))
