"""The Elemental API: the HTTP service every host's elemental-agent talks to."""

__version__ = "0.1.0"
