"""The Elemental operator: Cluster API controllers mapping ElementalHosts onto machines.

The folder is `operator/`; the import name is `elemental_operator`, so nothing shadows the
standard library's `operator` module.
"""

__version__ = "0.1.0"
