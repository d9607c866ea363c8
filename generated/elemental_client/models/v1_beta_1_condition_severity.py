from typing import Literal

V1Beta1ConditionSeverity = Literal["", "Error", "Info", "Warning"]

V1_BETA_1_CONDITION_SEVERITY_VALUES: set[V1Beta1ConditionSeverity] = {
    "",
    "Error",
    "Info",
    "Warning",
}


def check_v1_beta_1_condition_severity(value: str) -> V1Beta1ConditionSeverity:
    if value in V1_BETA_1_CONDITION_SEVERITY_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {V1_BETA_1_CONDITION_SEVERITY_VALUES!r}"
    )
