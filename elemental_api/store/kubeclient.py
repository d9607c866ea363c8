"""The Kubernetes client configuration the API's store and the operator share."""

from __future__ import annotations

from kubernetes import client, config


def api_client(kubeconfig: str | None) -> client.ApiClient:
    """From `kubeconfig`, else the in-cluster service account, else ~/.kube/config. No
    client-side retries: callers fail fast (503 for the API, a requeue for the operator)."""
    configuration = client.Configuration()
    if kubeconfig:
        config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    else:
        try:
            config.load_incluster_config(client_configuration=configuration)
        except config.ConfigException:
            config.load_kube_config(client_configuration=configuration)
    configuration.retries = 0
    return client.ApiClient(configuration)
