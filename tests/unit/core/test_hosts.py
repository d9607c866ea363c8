"""Host rules: a host from a create request, a check-in's patch, the answer to the agent,
reset on deletion and release."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from elemental_core import hosts
from elemental_core.hosts import PatchRefused
from elemental_core.records import Host, ObjectRef, Registration
from elemental_core.vocabulary import (
    LABEL_BOOTSTRAPPED,
    LABEL_IN_PLACE_UPDATE,
    LABEL_INSTALLED,
    LABEL_NEEDS_RESET,
    LABEL_RESET,
)
from elemental_models.api import ApiHostCreateRequest, ApiHostPatchRequest
from tests.unit.core.clock import window

EARLIER = "2020-01-01T00:00:00Z"
PEM = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n"


NONE = hosts.Assigned(labels={}, annotations={})


def registration(**fields: Any) -> Registration:
    return Registration(namespace="ns", name="reg", **fields)


def create_request(**fields: Any) -> ApiHostCreateRequest:
    return ApiHostCreateRequest.model_validate({"name": "host-1", "pubKey": PEM, **fields})


def patch(**fields: Any) -> ApiHostPatchRequest:
    return ApiHostPatchRequest.model_validate(fields)


def host(**fields: Any) -> Host:
    return Host(namespace="ns", name="host-1", registration="reg", **fields)


def without_times(conditions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in c.items() if k != "lastTransitionTime"} for c in conditions]


# -- new_host ------------------------------------------------------------------------------------


def test_a_new_host_is_what_the_request_asks_in_the_registrations_namespace() -> None:
    created = hosts.new_host(registration(), create_request(labels={"app": "x"}, annotations={"note": "y"}))
    assert created == Host(
        namespace="ns",
        name="host-1",
        registration="reg",
        pub_key=PEM,
        labels={"app": "x"},
        annotations={"note": "y"},
    )


def test_a_new_host_gets_the_registrations_labels_and_annotations() -> None:
    created = hosts.new_host(
        registration(host_labels={"site": "lab"}, host_annotations={"owner": "ops"}), create_request()
    )
    assert created.labels == {"site": "lab"}
    assert created.annotations == {"owner": "ops"}


def test_the_registrations_labels_win_over_the_requests() -> None:
    """A host may not pick its own value for a label its registration sets (refused); it
    may repeat the registration's values (the Go agent echoes them)."""
    reg = registration(host_labels={"site": "lab", "tier": "edge"}, host_annotations={"owner": "ops"})
    with pytest.raises(hosts.PatchRefused, match="site"):
        hosts.new_host(reg, create_request(labels={"site": "home"}))
    with pytest.raises(hosts.PatchRefused, match="owner"):
        hosts.new_host(reg, create_request(annotations={"owner": "me"}))
    created = hosts.new_host(
        reg, create_request(labels={"site": "lab", "app": "x"}, annotations={"owner": "ops", "note": "y"})
    )
    assert created.labels == {"site": "lab", "tier": "edge", "app": "x"}
    assert created.annotations == {"owner": "ops", "note": "y"}


def test_a_new_host_does_not_share_the_registrations_dicts() -> None:
    reg = registration(host_labels={"site": "lab"}, host_annotations={"owner": "ops"})
    created = hosts.new_host(reg, create_request())
    created.labels["x"] = "1"
    created.annotations["x"] = "1"
    assert reg.host_labels == {"site": "lab"}
    assert reg.host_annotations == {"owner": "ops"}


# -- apply_patch: flags ----------------------------------------------------------------------------

FLAGS = [
    ("installed", LABEL_INSTALLED),
    ("bootstrapped", LABEL_BOOTSTRAPPED),
    ("reset", LABEL_RESET),
]
ATTACHED = ObjectRef(namespace="ns", name="bootstrap-secret")


@pytest.mark.parametrize(("field", "label"), FLAGS)
@pytest.mark.parametrize(("value", "text"), [(True, "true"), (False, "false")])
def test_each_flag_is_written_as_its_value(field: str, label: str, value: bool, text: str) -> None:
    before = host(bootstrap_secret=ATTACHED, labels={label: "false" if value else "true"})
    after = hosts.apply_patch(before, patch(**{field: value}), NONE)
    assert after.labels == {label: text}


@pytest.mark.parametrize(("field", "label"), FLAGS)
@pytest.mark.parametrize("existing", ["true", "false"])
def test_a_flag_left_out_leaves_its_label(field: str, label: str, existing: str) -> None:
    before = host(bootstrap_secret=ATTACHED, labels={label: existing})
    assert hosts.apply_patch(before, patch(), NONE).labels == {label: existing}


def test_installed_false_does_not_answer_installed() -> None:
    after = hosts.apply_patch(host(labels={LABEL_INSTALLED: "true"}), patch(installed=False), NONE)
    assert hosts.host_response(after).installed is False


def test_bootstrapped_is_refused_without_bootstrap_data() -> None:
    before = host()
    with pytest.raises(PatchRefused) as refused:
        hosts.apply_patch(before, patch(bootstrapped=True, installed=True), NONE)
    assert str(refused.value) == "can't mark the host bootstrapped: no bootstrap data is attached yet"
    assert before == host()


def test_bootstrapped_false_is_allowed_without_bootstrap_data() -> None:
    assert hosts.apply_patch(host(), patch(bootstrapped=False), NONE).labels == {LABEL_BOOTSTRAPPED: "false"}


def test_bootstrapped_is_allowed_with_bootstrap_data() -> None:
    assert hosts.apply_patch(host(bootstrap_secret=ATTACHED), patch(bootstrapped=True), NONE).labels == {
        LABEL_BOOTSTRAPPED: "true"
    }


def test_reset_marks_the_host_and_does_not_release_one_never_deleted() -> None:
    after = hosts.apply_patch(host(), patch(reset=True), NONE)
    assert after.labels == {LABEL_RESET: "true"}
    assert after.deleting is False
    assert hosts.may_be_released(after) is False


# -- apply_patch: labels, annotations, in-place update, phase ------------------------------------


def test_labels_and_annotations_are_merged_into_the_hosts() -> None:
    before = host(labels={"keep": "1", "change": "old"}, annotations={"keep": "1", "change": "old"})
    after = hosts.apply_patch(
        before, patch(labels={"change": "new", "add": "2"}, annotations={"change": "new"}), NONE
    )
    assert after.labels == {"keep": "1", "change": "new", "add": "2"}
    assert after.annotations == {"keep": "1", "change": "new"}


def test_empty_labels_and_annotations_change_nothing() -> None:
    before = host(labels={"keep": "1"}, annotations={"keep": "1"})
    assert hosts.apply_patch(before, patch(labels={}, annotations={}), NONE) == before


@pytest.mark.parametrize("state", ["pending", "done"])
def test_the_in_place_update_state_is_a_label(state: str) -> None:
    after = hosts.apply_patch(host(labels={LABEL_IN_PLACE_UPDATE: "other"}), patch(inPlaceUpdate=state), NONE)
    assert after.labels == {LABEL_IN_PLACE_UPDATE: state}


def test_no_in_place_update_leaves_its_label() -> None:
    before = host(labels={LABEL_IN_PLACE_UPDATE: "pending"})
    assert hosts.apply_patch(before, patch(), NONE).labels == {LABEL_IN_PLACE_UPDATE: "pending"}


def test_the_phase_is_set_and_kept_when_not_sent() -> None:
    installing = hosts.apply_patch(host(phase="Registering"), patch(phase="Installing"), NONE)
    assert installing.phase == "Installing"
    assert hosts.apply_patch(installing, patch(), NONE).phase == "Installing"


# -- apply_patch: conditions ------------------------------------------------------------------------


def test_a_reported_condition_is_set_with_the_ready_summary() -> None:
    with window() as span:
        after = hosts.apply_patch(
            host(),
            patch(
                condition={
                    "type": "InstallationReady",
                    "status": "False",
                    "severity": "Info",
                    "reason": "WaitingForInstallation",
                    "message": "installing",
                    "lastTransitionTime": None,
                }
            ),
            NONE,
        )
    assert without_times(after.conditions) == [
        {
            "type": "Ready",
            "status": "False",
            "severity": "Info",
            "reason": "WaitingForInstallation",
            "message": "installing",
        },
        {
            "type": "InstallationReady",
            "status": "False",
            "severity": "Info",
            "reason": "WaitingForInstallation",
            "message": "installing",
        },
    ]
    assert all(span.holds_rfc3339(c["lastTransitionTime"]) for c in after.conditions)


def test_a_reported_condition_keeps_only_the_fields_it_has() -> None:
    """Left-out fields are left out of the record, not written as nulls."""
    after = hosts.apply_patch(host(), patch(condition={"type": "Custom", "status": "True"}), NONE)
    [custom] = [c for c in after.conditions if c["type"] == "Custom"]
    assert set(custom) == {"type", "status", "lastTransitionTime"}


def settled_host() -> Host:
    return host(
        labels={LABEL_INSTALLED: "true"},
        phase="Running",
        conditions=[
            {"type": "Ready", "status": "True", "lastTransitionTime": EARLIER},
            {
                "type": "InstallationReady",
                "status": "True",
                "severity": "Info",
                "lastTransitionTime": EARLIER,
            },
            {
                "type": "RegistrationReady",
                "status": "True",
                "severity": "Info",
                "lastTransitionTime": EARLIER,
            },
        ],
    )


def test_an_empty_check_in_changes_nothing() -> None:
    """So a store writes nothing: the host is equal, transition times included."""
    before = settled_host()
    assert hosts.apply_patch(before, patch(), NONE) == before


def test_a_repeated_condition_keeps_its_transition_time() -> None:
    before = settled_host()
    again = patch(condition={"type": "InstallationReady", "status": "True"}, installed=True, phase="Running")
    assert hosts.apply_patch(before, again, NONE) == before


def by_type(conditions: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in conditions}


def test_a_changed_condition_moves_its_time_and_the_summarys() -> None:
    with window() as span:
        after = hosts.apply_patch(
            settled_host(),
            patch(
                condition={
                    "type": "OSVersionReady",
                    "status": "False",
                    "severity": "Error",
                    "reason": "Failed",
                }
            ),
            NONE,
        )
    found = by_type(after.conditions)
    ready, os_version = found["Ready"], found["OSVersionReady"]
    assert (ready["status"], ready["severity"], ready["reason"]) == ("False", "Error", "Failed")
    assert span.holds_rfc3339(ready["lastTransitionTime"])
    assert span.holds_rfc3339(os_version["lastTransitionTime"])
    assert found["InstallationReady"]["lastTransitionTime"] == EARLIER


def test_the_installation_check_in_sets_what_the_operator_would() -> None:
    """Installed: RegistrationReady and InstallationReady True (as the operator's host
    controller sets them), so the operator has nothing left to write."""
    with window() as span:
        after = hosts.apply_patch(
            host(), patch(installed=True, condition={"type": "InstallationReady", "status": "True"}), NONE
        )
    found = by_type(after.conditions)
    assert without_times(after.conditions) == [
        {"type": "Ready", "status": "True"},
        {"type": "InstallationReady", "status": "True", "severity": "Info"},
        {"type": "RegistrationReady", "status": "True", "severity": "Info"},
    ]
    assert all(span.holds_rfc3339(c["lastTransitionTime"]) for c in found.values())


def test_the_bootstrapped_check_in_sets_bootstrap_ready() -> None:
    attached = settled_host()
    attached.bootstrap_secret = ATTACHED
    bootstrapped = hosts.apply_patch(attached, patch(bootstrapped=True), NONE)
    assert by_type(bootstrapped.conditions)["BootstrapReady"]["status"] == "True"
    assert "BootstrapReady" not in by_type(hosts.apply_patch(settled_host(), patch(), NONE).conditions)


def test_a_condition_the_labels_imply_is_the_labels_to_say() -> None:
    """An installed host reporting InstallationReady False keeps it True: the operator would
    set it back, and each check-in would then write it again."""
    before = settled_host()
    failed = {"type": "InstallationReady", "status": "False", "severity": "Error", "reason": "Failed"}
    assert hosts.apply_patch(before, patch(condition=failed), NONE) == before
    # Not installed (yet): the agent's report is what there is.
    not_installed = hosts.apply_patch(host(), patch(condition=failed), NONE)
    assert by_type(not_installed.conditions)["InstallationReady"]["status"] == "False"


def test_a_patch_leaves_the_original_host_alone() -> None:
    before = settled_host()
    snapshot = copy.deepcopy(before)
    hosts.apply_patch(
        before,
        patch(
            labels={"a": "b"},
            annotations={"a": "b"},
            installed=False,
            condition={"type": "InstallationReady", "status": "False", "severity": "Info"},
            phase="Installing",
        ),
        NONE,
    )
    assert before == snapshot


# -- host_response ---------------------------------------------------------------------------------


def test_the_response_of_a_new_host() -> None:
    response = hosts.host_response(host())
    assert response.model_dump() == {
        "name": "host-1",
        "annotations": None,
        "labels": None,
        "bootstrapReady": False,
        "bootstrapped": False,
        "installed": False,
        "needsReset": False,
        "rebootRequest": None,
        "inPlaceUpgrade": None,
        "osVersionManagement": None,
    }


def test_the_response_of_a_host_with_everything() -> None:
    labels = {
        LABEL_BOOTSTRAPPED: "true",
        LABEL_INSTALLED: "true",
        LABEL_NEEDS_RESET: "true",
        LABEL_IN_PLACE_UPDATE: "pending",
        "app": "x",
    }
    response = hosts.host_response(
        host(
            labels=labels,
            annotations={"note": "y"},
            bootstrap_secret=ATTACHED,
            os_version_management={"osImage": "registry.example/os:v2"},
        )
    )
    assert response.model_dump(mode="json") == {
        "name": "host-1",
        "annotations": {"note": "y"},
        "labels": labels,
        "bootstrapReady": True,
        "bootstrapped": True,
        "installed": True,
        "needsReset": True,
        "rebootRequest": None,
        "inPlaceUpgrade": "pending",
        "osVersionManagement": {"osImage": "registry.example/os:v2"},
    }


@pytest.mark.parametrize(
    ("label", "field"),
    [(LABEL_BOOTSTRAPPED, "bootstrapped"), (LABEL_INSTALLED, "installed"), (LABEL_NEEDS_RESET, "needsReset")],
)
@pytest.mark.parametrize(
    ("text", "expected"), [("true", True), ("false", False), ("True", False), ("", False)]
)
def test_a_flag_is_true_only_when_its_label_says_true(
    label: str, field: str, text: str, expected: bool
) -> None:
    assert getattr(hosts.host_response(host(labels={label: text})), field) is expected


def test_an_empty_in_place_update_label_is_no_upgrade() -> None:
    assert hosts.host_response(host(labels={LABEL_IN_PLACE_UPDATE: ""})).inPlaceUpgrade is None


# -- reboot requests (remediation) ----------------------------------------------------------------

REBOOT = "0b5f4c1e-8d3a-4f6e-9a2b-7c1d2e3f4a5b-1"
NEXT_REBOOT = "0b5f4c1e-8d3a-4f6e-9a2b-7c1d2e3f4a5b-2"


def test_a_pending_reboot_request_is_in_the_response() -> None:
    response = hosts.host_response(host(reboot_request=REBOOT))
    assert response.rebootRequest == REBOOT
    assert response.model_dump(mode="json", exclude_none=True)["rebootRequest"] == REBOOT


def test_no_reboot_request_is_answered_without_one() -> None:
    assert "rebootRequest" not in hosts.host_response(host()).model_dump(mode="json", exclude_none=True)


def test_an_acknowledged_reboot_request_is_no_longer_in_the_response() -> None:
    assert hosts.host_response(host(reboot_request=REBOOT, reboot_accepted=REBOOT)).rebootRequest is None


def test_a_new_attempt_is_pending_again_after_the_last_was_acknowledged() -> None:
    response = hosts.host_response(host(reboot_request=NEXT_REBOOT, reboot_accepted=REBOOT))
    assert response.rebootRequest == NEXT_REBOOT


def test_a_reset_wins_over_a_reboot_request() -> None:
    response = hosts.host_response(host(reboot_request=REBOOT, labels={LABEL_NEEDS_RESET: "true"}))
    assert (response.needsReset, response.rebootRequest) == (True, None)


def test_the_acknowledgement_of_the_pending_request_is_recorded() -> None:
    before = host(reboot_request=REBOOT)
    after = hosts.apply_patch(before, patch(rebootAccepted=REBOOT), NONE)
    assert after.reboot_accepted == REBOOT
    assert after.reboot_request == REBOOT  # the request is the operator's: the API leaves it
    assert before.reboot_accepted is None


@pytest.mark.parametrize(
    ("pending", "recorded"),
    [(None, None), (None, REBOOT), (NEXT_REBOOT, REBOOT), (NEXT_REBOOT, None)],
    ids=["none-pending", "ended-after-an-ack", "next-attempt-pending", "other-attempt-pending"],
)
def test_a_stale_acknowledgement_changes_nothing(pending: str | None, recorded: str | None) -> None:
    before = host(reboot_request=pending, reboot_accepted=recorded)
    assert (
        hosts.apply_patch(before, patch(rebootAccepted=REBOOT if pending != REBOOT else "x"), NONE) == before
    )


def test_a_repeated_acknowledgement_changes_nothing() -> None:
    before = host(reboot_request=REBOOT, reboot_accepted=REBOOT)
    assert hosts.apply_patch(before, patch(rebootAccepted=REBOOT), NONE) == before


def test_a_check_in_without_acknowledgement_keeps_the_recorded_one() -> None:
    before = host(reboot_request=NEXT_REBOOT, reboot_accepted=REBOOT)
    assert hosts.apply_patch(before, patch(phase="Running"), NONE).reboot_accepted == REBOOT
    assert hosts.apply_patch(before, patch(rebootAccepted=None), NONE).reboot_accepted == REBOOT


@pytest.mark.parametrize("bad", ["", "-dash-first", "with space", "a/b", "x" * 101])
def test_an_acknowledgement_that_is_no_request_id_is_invalid(bad: str) -> None:
    with pytest.raises(ValueError, match="rebootAccepted"):
        patch(rebootAccepted=bad)


# -- marked_for_reset, may_be_released --------------------------------------------------------------


def test_marked_for_reset_asks_the_host_to_reset() -> None:
    before = settled_host()
    with window() as span:
        marked = hosts.marked_for_reset(before)
    assert marked.labels == {LABEL_INSTALLED: "true", LABEL_NEEDS_RESET: "true"}
    assert without_times(marked.conditions) == [
        {
            "type": "Ready",
            "status": "False",
            "severity": "Info",
            "reason": "WaitingForReset",
            "message": "Waiting for remote host to reset",
        },
        {"type": "InstallationReady", "status": "True", "severity": "Info"},
        {"type": "RegistrationReady", "status": "True", "severity": "Info"},
        {
            "type": "ResetReady",
            "status": "False",
            "severity": "Info",
            "reason": "WaitingForReset",
            "message": "Waiting for remote host to reset",
        },
    ]
    assert span.holds_rfc3339(marked.conditions[0]["lastTransitionTime"])
    assert marked.conditions[1]["lastTransitionTime"] == EARLIER
    assert before == settled_host()


def test_marked_for_reset_is_idempotent() -> None:
    marked = hosts.marked_for_reset(settled_host())
    assert hosts.marked_for_reset(marked) is marked


def test_a_host_already_asked_to_reset_is_left_as_it_is() -> None:
    asked = host(labels={LABEL_NEEDS_RESET: "true"}, conditions=[{"type": "A", "status": "True"}])
    assert hosts.marked_for_reset(asked) is asked


def test_a_needs_reset_label_that_is_not_true_is_marked_again() -> None:
    marked = hosts.marked_for_reset(host(labels={LABEL_NEEDS_RESET: "false"}))
    assert marked.labels == {LABEL_NEEDS_RESET: "true"}


@pytest.mark.parametrize(
    ("deleting", "labels", "expected"),
    [
        (True, {LABEL_RESET: "true"}, True),
        (True, {LABEL_RESET: "false"}, False),
        (True, {}, False),
        (True, {LABEL_NEEDS_RESET: "true"}, False),
        (False, {LABEL_RESET: "true"}, False),
        (False, {}, False),
    ],
)
def test_may_be_released(deleting: bool, labels: dict[str, str], expected: bool) -> None:
    assert hosts.may_be_released(host(deleting=deleting, labels=labels)) is expected
