"""The controllers: one module per kind, named as the CRD is (elementalhost <-> ElementalHost)."""
