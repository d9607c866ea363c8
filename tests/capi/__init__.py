"""Cluster API's own controllers (core manager, kube-controller-manager) over the test
control plane, built by scripts/envtest from the pinned releases."""
