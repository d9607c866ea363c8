from typing import Literal

HostAddressType = Literal[
    "ExternalDNS", "ExternalIP", "Hostname", "InternalDNS", "InternalIP"
]

HOST_ADDRESS_TYPE_VALUES: set[HostAddressType] = {
    "ExternalDNS",
    "ExternalIP",
    "Hostname",
    "InternalDNS",
    "InternalIP",
}


def check_host_address_type(value: str) -> HostAddressType:
    if value in HOST_ADDRESS_TYPE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {HOST_ADDRESS_TYPE_VALUES!r}"
    )
