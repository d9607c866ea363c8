"""OS plugins, found through the `elemental_agent.os_plugins` entry-point group.

`agent.osPlugin` names one: `dummy`, `elemental`, or upstream's shared-object path
(`/usr/lib/elemental/plugins/elemental.so`, `.../dummy.so`), which maps to its file name.
"""

from __future__ import annotations

import logging
import posixpath
from importlib import metadata

from elemental_agent.errors import ConfigError
from elemental_agent.plugins.base import Plugin, PluginContext

__all__ = ["ENTRY_POINT_GROUP", "Plugin", "PluginContext", "available", "load", "plugin_name"]

ENTRY_POINT_GROUP = "elemental_agent.os_plugins"
log = logging.getLogger(__name__)


def plugin_name(os_plugin: str) -> str:
    """`/usr/lib/elemental/plugins/elemental.so` -> `elemental`; a plain name stays itself."""
    name = posixpath.basename(os_plugin.strip())
    return name.removesuffix(".so")


def available() -> list[str]:
    return sorted({entry.name for entry in metadata.entry_points(group=ENTRY_POINT_GROUP)})


def load(os_plugin: str) -> Plugin:
    """A new instance of the plugin `os_plugin` names."""
    name = plugin_name(os_plugin)
    entries = [entry for entry in metadata.entry_points(group=ENTRY_POINT_GROUP) if entry.name == name]
    if not entries:
        choices = ", ".join(available()) or "none installed"
        raise ConfigError(f"agent.osPlugin {os_plugin!r}: no OS plugin named {name!r} (available: {choices})")
    try:
        factory = entries[0].load()
        plugin = factory()
    except Exception as error:
        raise ConfigError(f"loading OS plugin {name!r}: {error}") from error
    if not isinstance(plugin, Plugin):
        raise ConfigError(f"OS plugin {name!r} ({entries[0].value}) does not implement the Plugin interface")
    log.debug("Loaded OS plugin %s from %s", name, entries[0].value)
    return plugin
