"""yip cloud-config files, the format elemental-toolkit runs at each boot stage.

Builds the files the Elemental plugin drops in `/oem`, and turns a CAPI `#cloud-config`
bootstrap into a yip config the way yip's cloud-init loader does (runcmd -> commands,
write_files -> files, users, ssh keys, hostname, growpart), keys in yip's order.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Mapping
from typing import Any

import yaml

CLOUD_CONFIG_HEADER = "#cloud-config"
_TRUE = {"true", "yes", "on", "y"}


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks, sequences indented under their key."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _represent_str)


def dump(config: Mapping[str, Any]) -> bytes:
    return yaml.dump(
        dict(config), Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1 << 16
    ).encode()


def yip_config(name: str, stages: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if name:
        config["name"] = name
    config["stages"] = stages
    return config


def write_file_config(path: str, content: bytes, permission: int, owner: int, group: int) -> dict[str, Any]:
    """A `Write File` config: at boot, the file `path` with this content and mode."""
    file = {
        "path": path,
        "permissions": permission,
        "owner": owner,
        "group": group,
        "content": content.decode(errors="replace"),
        "encoding": "",
        "ownerstring": "",
    }
    return yip_config("Write File", {"boot": [{"files": [file]}]})


def hostname_config(hostname: str) -> dict[str, Any]:
    """A `Configure host` config: at boot, /etc/hostname holds the name."""
    command = f"echo {hostname} > /etc/hostname"
    return yip_config("Configure host", {"boot": [{"commands": [command]}]})


def set_file_name(path: str) -> str:
    """`my-file.foo` -> `set-my-file-foo.yaml` (upstream's name for a file's config)."""
    base = posixpath.basename(path)
    stem, extension = posixpath.splitext(base)
    return f"set-{stem}-{extension.removeprefix('.')}.yaml"


# -- #cloud-config -> yip ----------------------------------------------------------------------


class UnsupportedCloudConfig(ValueError):
    """The bootstrap data is not a cloud-config yip can run."""


def bootstrap_to_yip(data: bytes, *, sentinel: str, self_path: str) -> bytes:
    """The CAPI bootstrap as a yip config: its boot stage moved to `network` (the bootstrap
    may download things), the sentinel written if the bootstrap doesn't, and a `network.after`
    stage deleting `self_path` once the sentinel exists (the data holds cluster secrets)."""
    text = data.decode(errors="replace")
    start = text.find(CLOUD_CONFIG_HEADER)
    text = f"{CLOUD_CONFIG_HEADER}\n\n{text}" if start == -1 else text[start:]
    stages = cloud_config_stages(text)
    if not stages.get("boot"):
        raise UnsupportedCloudConfig("validating yip stages: unsupported cloud-init schema")
    stages["network"] = stages.pop("boot") + stages.get("network", [])
    network = stages["network"]
    writes_sentinel = any(sentinel in command for stage in network for command in stage.get("commands", []))
    if not writes_sentinel and network:
        network[0].setdefault("commands", []).append(
            f"mkdir -p {posixpath.dirname(sentinel)} && echo success > {sentinel}"
        )
    stages["network.after"] = [{"commands": [f"rm {self_path}"], "if": f'[ -f "{sentinel}" ]'}]
    return dump({"stages": {name: stages[name] for name in sorted(stages)}})


def cloud_config_stages(text: str) -> dict[str, list[dict[str, Any]]]:
    """yip's cloud-init loader: the cloud-config keys as `boot` and `initramfs` stages, plus
    any yip `stages:` the document also has."""
    try:
        raw = yaml.load(text, Loader=yaml.BaseLoader)  # noqa: S506 - BaseLoader builds only str/list/dict
    except yaml.YAMLError as error:
        raise UnsupportedCloudConfig(f"loading #cloud-config input: {error}") from error
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise UnsupportedCloudConfig("loading #cloud-config input: not a mapping")

    global_keys = _strings(raw.get("ssh_authorized_keys"))
    users: dict[str, dict[str, Any]] = {}
    ssh_keys: dict[str, list[str]] = {}
    for user in _mappings(raw.get("users")):
        name = str(user.get("name", ""))
        users[name] = _yip_user(user)
        ssh_keys[name] = [*ssh_keys.get(name, []), *_strings(user.get("ssh_authorized_keys")), *global_keys]
    if not users and global_keys:
        ssh_keys["root"] = global_keys

    files = [
        _yip_file(item) for item in [*_mappings(raw.get("write_files")), *_mappings(raw.get("milpa_files"))]
    ]
    first: dict[str, Any] = {}
    commands = [_command(item) for item in _list(raw.get("runcmd"))]
    if commands:
        first["commands"] = commands
    if files:
        first["files"] = files
    if ssh_keys:
        first["authorized_keys"] = ssh_keys
    if users:
        first["users"] = users
    boot = [first]
    growpart = raw.get("growpart")
    for device in _strings(growpart.get("devices") if isinstance(growpart, dict) else None):
        boot.append({"layout": {"device": {"path": device}, "expand_partition": {}}})
    hostname = raw.get("hostname")
    stages: dict[str, list[dict[str, Any]]] = {
        "boot": boot,
        "initramfs": [{"hostname": hostname} if isinstance(hostname, str) and hostname else {}],
    }
    for name, extra in _yip_stages(text).items():
        stages[name] = stages.get(name, []) + extra
    return stages


def _yip_stages(text: str) -> dict[str, list[dict[str, Any]]]:
    """A document's own yip `stages:` (yip loads a cloud-config as yip YAML too, if it can)."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return {}
    stages = document.get("stages") if isinstance(document, dict) else None
    if not isinstance(stages, dict):
        return {}
    return {
        str(name): [stage for stage in items if isinstance(stage, dict)]
        for name, items in stages.items()
        if isinstance(items, list)
    }


def _yip_file(item: Mapping[str, Any]) -> dict[str, Any]:
    permissions = str(item.get("permissions", "") or "")
    try:
        mode = int(permissions, 8) if permissions else 0
    except ValueError as error:
        raise UnsupportedCloudConfig(
            f"converting permission {permissions} for {item.get('path', '')}: not an octal mode"
        ) from error
    return {
        "path": str(item.get("path", "")),
        "permissions": mode,
        "owner": 0,
        "group": 0,
        "content": str(item.get("content", "")),
        "encoding": str(item.get("encoding", "")),
        "ownerstring": str(item.get("owner", "")),
    }


_USER_STRINGS = ("gecos", "homedir", "primary_group")
_USER_BOOLS = ("no_create_home", "no_user_group", "system", "no_log_init")


def _yip_user(user: Mapping[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}

    def put(key: str, value: Any) -> None:
        if value not in (None, "", [], False):
            result[key] = value

    put("name", str(user.get("name", "")))
    put("passwd", str(user.get("passwd", "")))
    for key in _USER_STRINGS:
        put(key, str(user.get(key, "")))
    groups = user.get("groups")
    put(
        "groups",
        [g.strip() for g in groups.split(",") if g.strip()] if isinstance(groups, str) else _strings(groups),
    )
    for key in _USER_BOOLS:
        put(key, _bool(user.get(key)))
    put("shell", str(user.get("shell", "")))
    put("lock_passwd", _bool(user.get("lock_passwd")))
    put("uid", str(user.get("uid", "")))
    return result


def _command(item: Any) -> str:
    return shlex.join(str(part) for part in item) if isinstance(item, list) else str(item)


def _bool(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() in _TRUE


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _strings(value: Any) -> list[str]:
    return [str(item) for item in _list(value) if isinstance(item, str)]


def _mappings(value: Any) -> list[dict[str, Any]]:
    return [item for item in _list(value) if isinstance(item, dict)]
