from typing import Literal

V1Beta1ConditionStatus = Literal["False", "True", "Unknown"]

V1_BETA_1_CONDITION_STATUS_VALUES: set[V1Beta1ConditionStatus] = {
    "False",
    "True",
    "Unknown",
}


def check_v1_beta_1_condition_status(value: str) -> V1Beta1ConditionStatus:
    if value in V1_BETA_1_CONDITION_STATUS_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {V1_BETA_1_CONDITION_STATUS_VALUES!r}"
    )
