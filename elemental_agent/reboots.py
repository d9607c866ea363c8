"""Reboot requests (remediation of an unhealthy machine, no BMC needed): a check-in answer's
`rebootRequest` is an id the agent acknowledges (`rebootAccepted`), then it reboots through
its plugin and exits, as after the bootstrap reboot.

The id taken is remembered in `<workDir>/reboot.accepted`: should the API ask for it again
(its record of the acknowledgement lost, e.g. by `clusterctl move`, which does not carry
status over), the agent acknowledges it again and does not reboot a second time for it.
"""

from __future__ import annotations

import logging
import posixpath

from elemental_agent.context import AgentContext
from elemental_agent.errors import AgentError, ApiError
from elemental_models.api import ApiHostPatchRequest

log = logging.getLogger(__name__)

ACCEPTED_FILE = "reboot.accepted"


def accepted_path(ctx: AgentContext) -> str:
    return posixpath.join(ctx.config.agent.work_dir, ACCEPTED_FILE)


def remembered(ctx: AgentContext) -> str | None:
    """The last reboot request this host took (None when none, or unreadable)."""
    path = accepted_path(ctx)
    if not ctx.host.exists(path):
        return None
    try:
        return ctx.host.read_file(path).decode().strip() or None
    except (AgentError, UnicodeDecodeError) as error:
        log.warning("Reading %s: %s", path, error)
        return None


def take(ctx: AgentContext, request: str) -> bool:
    """Acknowledges the reboot request `request` and reboots; True when the agent should exit.

    The acknowledgement comes first: the reboot waits until the API has it (a failed one is
    retried at the next check-in), so the remediation knows the host is rebooting and does
    not count the wait for it against the host. A request already taken is acknowledged
    again, without a reboot."""
    again = remembered(ctx) == request
    try:
        answer = ctx.client.patch_host(ApiHostPatchRequest(rebootAccepted=request), ctx.hostname)
    except ApiError as error:
        log.error("Acknowledging reboot request %s: %s", request, error)
        return False
    if again:
        log.info("Reboot request %s was taken already: acknowledged again, not rebooting", request)
        return False
    if answer.needsReset or (answer.rebootRequest and answer.rebootRequest != request):
        # The remediation moved on meanwhile (a reset, a new attempt): the next check-in acts.
        log.info("Reboot request %s is no longer pending: not rebooting", request)
        return False
    _remember(ctx, request)
    log.info("Rebooting system as requested (%s)", request)
    try:
        ctx.plugin.reboot()
    except AgentError as error:
        log.error("Rebooting system: %s", error)
    return True


def _remember(ctx: AgentContext, request: str) -> None:
    """Best effort: a host that cannot write its work dir still reboots as asked."""
    path = accepted_path(ctx)
    try:
        ctx.host.write_file(path, f"{request}\n".encode(), mode=0o600)
    except AgentError as error:
        log.error("Remembering reboot request %s in %s: %s", request, path, error)
