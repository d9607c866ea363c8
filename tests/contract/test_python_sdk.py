"""The Python SDK generator (openapi-python-client, pinned in pyproject.toml): a client
generated from the served URL equals, file for file, one generated from openapi.yaml."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.contract.conftest import ROOT
from tests.live import LiveServer


def _generate(source: list[str], output: Path) -> dict[str, str]:
    bin_dir = Path(sys.executable).parent
    output.parent.mkdir()
    options = ["--meta", "none", "--output-path", str(output), "--fail-on-warning"]
    result = subprocess.run(
        [str(bin_dir / "openapi-python-client"), "generate", *source, *options],
        cwd=output.parent,
        # Its post-generation hooks run ruff from PATH.
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return {str(path.relative_to(output)): path.read_text() for path in sorted(output.rglob("*.py"))}


def test_client_from_the_served_url_equals_the_client_from_the_file(
    server: LiveServer, tmp_path: Path
) -> None:
    url = f"{server.base_url}/elemental/v1/openapi.json"
    # `serve --api-endpoint` is what the published spec declares as its server.
    assert httpx.get(url, timeout=10).json()["servers"][0]["url"] == f"{server.base_url}/elemental/v1"
    served = _generate(["--url", url], tmp_path / "served" / "elemental_api_client")
    from_file = _generate(["--path", str(ROOT / "openapi.yaml")], tmp_path / "file" / "elemental_api_client")
    assert served == from_file
    models = {name for name in served if name.startswith("models/")}
    assert "models/problem.py" in models and "models/api_host_response.py" in models
    assert len(models) < 40  # one model per schema, not one per use (connexion's inlined copy gave 180)
    assert {"api/registrations/get_registration.py", "api/hosts/create_host.py"} <= set(served)


def test_generated_client_carries_both_auth_headers(server: LiveServer, tmp_path: Path) -> None:
    """The generator's AuthenticatedClient sends one token header; the registration token
    rides as a second header: bare in `Registration-Authorization`, as printed."""
    import importlib

    from elemental_core import tokens
    from elemental_core.records import Bootstrap

    _generate(
        ["--url", f"{server.base_url}/elemental/v1/openapi.json"], tmp_path / "sdk" / "elemental_api_client"
    )
    sys.path.insert(0, str(tmp_path / "sdk"))
    with contextlib.ExitStack() as stack:
        stack.callback(sys.path.remove, str(tmp_path / "sdk"))
        stack.callback(_forget_modules, "elemental_api_client")
        sdk = importlib.import_module("elemental_api_client")
        models = importlib.import_module("elemental_api_client.models")
        operations = ["registrations.get_registration"] + [
            f"hosts.{name}" for name in ("create_host", "patch_host", "get_bootstrap", "delete_host")
        ]
        op = {
            name.split(".")[1]: importlib.import_module(f"elemental_api_client.api.{name}")
            for name in operations
        }
        registration = server.make_registration("py-registration")
        key = tokens.SigningKey.generate()
        base_url = f"{server.base_url}/elemental/v1"
        host_token = tokens.issue_host_token(key, "py-host", registration.uri)
        host_client = sdk.AuthenticatedClient(base_url=base_url, token=host_token)
        both = host_client.with_headers({"Registration-Authorization": registration.token})
        registration_client = sdk.AuthenticatedClient(
            base_url=base_url,
            token=registration.token,
            prefix="",
            auth_header_name="Registration-Authorization",
        )
        stack.enter_context(host_client)
        stack.enter_context(both)
        stack.enter_context(registration_client)
        ids = ("default", registration.name)

        got = op["get_registration"].sync_detailed(*ids, client=registration_client)
        assert got.status_code == 200 and got.parsed.config.elemental.registration.uri == registration.uri
        body = models.ApiHostCreateRequest(name="py-host", pub_key=key.public_pem())
        assert op["create_host"].sync_detailed(*ids, client=both, body=body).status_code == 201
        conflict = op["create_host"].sync_detailed(*ids, client=both, body=body)
        assert conflict.status_code == 409 and isinstance(conflict.parsed, models.Problem)
        patched = op["patch_host"].sync_detailed(
            *ids, "py-host", client=host_client, body=models.ApiHostPatchRequest(installed=True)
        )
        assert patched.status_code == 200 and patched.parsed.installed is True
        missing = op["get_bootstrap"].sync_detailed(*ids, "py-host", client=host_client)
        assert missing.status_code == 404 and missing.parsed.status == 404
        store = server.store()
        stored = store.get_host("default", "py-host")
        assert stored is not None
        store.attach_bootstrap(stored, Bootstrap(config="#cloud-config\n"))
        bootstrap = op["get_bootstrap"].sync_detailed(*ids, "py-host", client=host_client)
        assert bootstrap.status_code == 200 and bootstrap.parsed.format_ == "cloud-config"
        assert op["delete_host"].sync_detailed(*ids, "py-host", client=host_client).status_code == 202


def _forget_modules(package: str) -> None:
    for name in [name for name in sys.modules if name == package or name.startswith(f"{package}.")]:
        del sys.modules[name]


def test_the_committed_sdk_runs_every_operation_with_both_tokens(server: LiveServer) -> None:
    """generated/elemental_client (scripts/generate) as a user calls it, the way the README
    shows: the registration token bare, as `registration agent-config` prints it, in
    `Registration-Authorization`; the host token in `Authorization`; both for createHost."""
    from elemental_client import AuthenticatedClient
    from elemental_client.api.hosts import create_host, delete_host, get_bootstrap, patch_host
    from elemental_client.api.registrations import get_registration
    from elemental_client.models import ApiHostCreateRequest, ApiHostPatchRequest, HostAddress, Problem
    from elemental_core import tokens
    from elemental_core.records import Bootstrap

    registration = server.make_registration("committed-sdk")
    key = tokens.SigningKey.generate()
    base_url = f"{server.base_url}/elemental/v1"
    ids = ("default", registration.name)
    host_token = tokens.issue_host_token(key, "sdk-host", registration.uri)
    with (
        AuthenticatedClient(
            base_url=base_url,
            token=registration.token,
            prefix="",
            auth_header_name="Registration-Authorization",
        ) as registration_client,
        AuthenticatedClient(base_url=base_url, token=host_token) as host_client,
        AuthenticatedClient(base_url=base_url, token=host_token).with_headers(
            {"Registration-Authorization": registration.token}
        ) as both,
    ):
        got = get_registration.sync_detailed(*ids, client=registration_client)
        assert got.status_code == 200 and got.parsed.config.elemental.registration.uri == registration.uri
        body = ApiHostCreateRequest(
            name="sdk-host",
            pub_key=key.public_pem(),
            addresses=[HostAddress(type_="InternalIP", address="192.0.2.7")],
        )
        assert create_host.sync_detailed(*ids, client=both, body=body).status_code == 201
        refused = create_host.sync_detailed(*ids, client=host_client, body=body)  # no registration token
        assert refused.status_code == 401 and isinstance(refused.parsed, Problem)
        patched = patch_host.sync_detailed(
            *ids, "sdk-host", client=host_client, body=ApiHostPatchRequest(installed=True)
        )
        assert patched.status_code == 200 and patched.parsed.installed is True
        store = server.store()
        stored = store.get_host("default", "sdk-host")
        assert stored is not None and stored.addresses == [{"type": "InternalIP", "address": "192.0.2.7"}]
        store.attach_bootstrap(stored, Bootstrap(config="#cloud-config\n"))
        bootstrap = get_bootstrap.sync_detailed(*ids, "sdk-host", client=host_client)
        assert bootstrap.status_code == 200 and bootstrap.parsed.config == "#cloud-config\n"
        assert delete_host.sync_detailed(*ids, "sdk-host", client=host_client).status_code == 202


def test_the_committed_sdk_carries_the_reboot_request_and_its_acknowledgement(server: LiveServer) -> None:
    """The check-in answer's `rebootRequest` and patchHost's `rebootAccepted` (remediation)
    as the SDK's `reboot_request` and `reboot_accepted`."""
    import dataclasses

    from elemental_client import AuthenticatedClient
    from elemental_client.api.hosts import create_host, patch_host
    from elemental_client.models import ApiHostCreateRequest, ApiHostPatchRequest
    from elemental_client.types import UNSET
    from elemental_core import tokens

    registration = server.make_registration("sdk-reboot")
    key = tokens.SigningKey.generate()
    base_url = f"{server.base_url}/elemental/v1"
    ids = ("default", registration.name, "sdk-reboot-host")
    reboot = "0b5f4c1e-8d3a-4f6e-9a2b-7c1d2e3f4a5b-1"
    host_token = tokens.issue_host_token(key, ids[2], registration.uri)
    with (
        AuthenticatedClient(base_url=base_url, token=host_token) as host_client,
        AuthenticatedClient(base_url=base_url, token=host_token).with_headers(
            {"Registration-Authorization": registration.token}
        ) as both,
    ):
        body = ApiHostCreateRequest(name=ids[2], pub_key=key.public_pem())
        assert create_host.sync_detailed(*ids[:2], client=both, body=body).status_code == 201
        store = server.store()
        stored = store.get_host("default", ids[2])
        assert stored is not None
        store.update_host(dataclasses.replace(stored, reboot_request=reboot))

        pending = patch_host.sync_detailed(*ids, client=host_client, body=ApiHostPatchRequest())
        taken = patch_host.sync_detailed(
            *ids, client=host_client, body=ApiHostPatchRequest(reboot_accepted=reboot)
        )

        assert pending.status_code == 200 and pending.parsed.reboot_request == reboot
        assert taken.status_code == 200 and taken.parsed.reboot_request is UNSET
        after = store.get_host("default", ids[2])
        assert after is not None and after.reboot_accepted == reboot
