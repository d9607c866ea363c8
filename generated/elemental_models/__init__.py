"""Pydantic models generated from openapi.yaml (see scripts/generate)."""
