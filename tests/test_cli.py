"""`elemental-api` registration and host commands, in-process (`cli.main`) and once as the script."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from elemental_api import cli, server
from elemental_api.store import Store, open_store
from elemental_core import tokens
from elemental_core.records import Host
from elemental_core.vocabulary import LABEL_NEEDS_RESET
from elemental_kube.settings import ClientSettings
from tests.helpers import HostIdentity, make_registration
from tests.live import elemental_api_command

ENDPOINT = "https://elemental.example:9443"


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def store(store_url: str) -> Any:
    opened = open_store(store_url)
    yield opened
    opened.close()


def run(capsys: pytest.CaptureFixture[str], store_url: str, *argv: str) -> tuple[int, str, str]:
    """`elemental-api ARGV --store STORE_URL` in-process: (status, stdout, stderr)."""
    status = cli.main([*argv, "--store", store_url])
    out, err = capsys.readouterr()
    return status, out, err


def ok(capsys: pytest.CaptureFixture[str], store_url: str, *argv: str) -> str:
    status, out, err = run(capsys, store_url, *argv)
    assert status == 0, err
    assert err == ""
    return out


def fails(capsys: pytest.CaptureFixture[str], store_url: str, *argv: str) -> str:
    """Runs a command that must fail cleanly: status 1, one message line, no traceback."""
    status, out, err = run(capsys, store_url, *argv)
    assert status == 1, (out, err)
    assert "Traceback" not in err
    assert err.startswith("elemental-api: ")
    assert err.count("\n") == 1, err
    return err


def create_host(store: Store, registration: str = "reg", name: str = "host-1") -> Host:
    return store.create_host(
        Host(
            namespace="default",
            name=name,
            registration=registration,
            pub_key=tokens.SigningKey.generate().public_pem(),
            labels={"disk": "ssd"},
        )
    )


# -- registrations ----------------------------------------------------------------------------


def test_registration_create_show_list(
    capsys: pytest.CaptureFixture[str], store_url: str, store: Store
) -> None:
    out = ok(
        capsys,
        store_url,
        *("registration", "create", "edge", "--api-endpoint", ENDPOINT),
        *("--host-label", "site=berlin", "--host-label", "example.com/rack=r-7"),
        *("--host-annotation", "owner=ops team"),
    )
    uri = f"{ENDPOINT}/elemental/v1/namespaces/default/registrations/edge"
    assert out == f"registration default/edge created; URI {uri}\n"

    shown = json.loads(ok(capsys, store_url, "registration", "show", "edge"))
    assert shown["namespace"] == "default"
    assert shown["name"] == "edge"
    assert shown["hostLabels"] == {"site": "berlin", "example.com/rack": "r-7"}
    assert shown["hostAnnotations"] == {"owner": "ops team"}
    assert shown["config"]["elemental"]["registration"]["uri"] == uri

    ok(capsys, store_url, "registration", "create", "other", "-n", "edge-ns", "--api-endpoint", ENDPOINT)
    assert ok(capsys, store_url, "registration", "list").splitlines() == [f"default\tedge\t{uri}"]
    listed = ok(capsys, store_url, "registration", "list", "-A").splitlines()
    assert [line.split("\t")[:2] for line in listed] == [["default", "edge"], ["edge-ns", "other"]]
    assert ok(capsys, store_url, "registration", "list", "-n", "nothing-here") == ""

    stored = store.get_registration("default", "edge")
    assert stored is not None
    assert stored.host_labels == {"site": "berlin", "example.com/rack": "r-7"}


def test_agent_config_is_yaml_with_a_token_the_signing_key_verifies(
    capsys: pytest.CaptureFixture[str], store_url: str, store: Store
) -> None:
    ok(capsys, store_url, "registration", "create", "edge", "--api-endpoint", ENDPOINT)
    config = yaml.safe_load(ok(capsys, store_url, "registration", "agent-config", "edge"))
    assert set(config) == {"registration", "agent"}
    uri = f"{ENDPOINT}/elemental/v1/namespaces/default/registrations/edge"
    assert config["registration"]["uri"] == uri
    assert config["agent"]["workDir"] == "/var/lib/elemental/agent"
    assert config["agent"]["osPlugin"] == "/usr/lib/elemental/plugins/elemental.so"
    assert config["agent"]["reconciliation"] == 10_000_000_000
    assert "insecureAllowHttp" not in config["agent"]  # https endpoint

    registration = store.get_registration("default", "edge")
    assert registration is not None
    signing_key = store.get_signing_key(registration)
    assert signing_key is not None
    claims = tokens.verify_registration_token(
        config["registration"]["token"], signing_key_pem=signing_key, uri=uri
    )
    assert claims["sub"] == uri
    assert "exp" not in claims  # no --token-duration: no expiry
    # Another registration's key does not verify it.
    with pytest.raises(tokens.InvalidToken):
        tokens.verify_registration_token(
            config["registration"]["token"], signing_key_pem=tokens.SigningKey.generate().to_pem(), uri=uri
        )


def test_plain_http_endpoint_allows_http_in_the_agent_config(
    capsys: pytest.CaptureFixture[str], store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ELEMENTAL_API_PROTOCOL", "http")
    monkeypatch.setenv("ELEMENTAL_API_ENDPOINT", "10.0.0.1:9090")
    ok(capsys, store_url, "registration", "create", "lab")
    config = yaml.safe_load(ok(capsys, store_url, "registration", "agent-config", "lab"))
    assert (
        config["registration"]["uri"]
        == "http://10.0.0.1:9090/elemental/v1/namespaces/default/registrations/lab"
    )
    assert config["agent"]["insecureAllowHttp"] is True


def test_token_duration_puts_an_expiry_in_the_token(
    capsys: pytest.CaptureFixture[str], store_url: str, store: Store
) -> None:
    ok(
        capsys,
        store_url,
        "registration",
        "create",
        "short",
        "--token-duration",
        "3600",
        "--api-endpoint",
        ENDPOINT,
    )
    registration = store.get_registration("default", "short")
    assert registration is not None
    claims = tokens.verify_registration_token(
        registration.token, signing_key_pem=store.get_signing_key(registration) or b"", uri=registration.uri
    )
    assert claims["exp"] - claims["iat"] == 3600
    assert registration.config["elemental"]["registration"]["tokenDuration"] == 3600 * 1_000_000_000


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["Bad_Name"], "registration name 'Bad_Name'"),
        (["x" * 254], "registration name"),
        (["ok", "-n", "Upper"], "namespace 'Upper'"),
        (["ok", "-n", "dotted.ns"], "namespace 'dotted.ns'"),
        (["ok", "--host-label", "no-equals-sign"], "--host-label 'no-equals-sign' must be KEY=VALUE"),
        (["ok", "--host-label", "bad key=v"], "--host-label key 'bad key' is invalid"),
        (["ok", "--host-label", "=v"], "--host-label key '' is invalid"),
        (["ok", "--host-label", "Bad_Prefix/k=v"], "--host-label key 'Bad_Prefix/k' is invalid"),
        (["ok", "--host-label", "site=not valid!"], "--host-label site: value 'not valid!' is invalid"),
        (["ok", "--host-label", f"site={'v' * 64}"], "--host-label site: value"),
        (["ok", "--host-annotation", "bad key=v"], "--host-annotation key 'bad key' is invalid"),
        (["ok", "--token-duration", "-5"], "--token-duration"),
    ],
)
def test_invalid_registration_create_names_the_field(
    capsys: pytest.CaptureFixture[str], store_url: str, store: Store, argv: list[str], names: str
) -> None:
    err = fails(capsys, store_url, "registration", "create", *argv)
    assert names in err
    assert store.list_registrations() == []


def test_duplicate_registration_is_refused(
    capsys: pytest.CaptureFixture[str], store_url: str, store: Store
) -> None:
    ok(capsys, store_url, "registration", "create", "edge", "--api-endpoint", ENDPOINT)
    before = store.get_registration("default", "edge")
    err = fails(capsys, store_url, "registration", "create", "edge", "--api-endpoint", "http://elsewhere")
    assert "registration default/edge already exists" in err
    after = store.get_registration("default", "edge")
    assert after is not None and before is not None
    assert after.token == before.token
    assert store.get_signing_key(after) == store.get_signing_key(before)  # the key was not replaced
    # The same name in another namespace is another registration.
    ok(capsys, store_url, "registration", "create", "edge", "-n", "other", "--api-endpoint", ENDPOINT)


def test_duplicate_registration_keeps_the_original_key_valid(
    capsys: pytest.CaptureFixture[str], store_url: str, store: Store
) -> None:
    ok(capsys, store_url, "registration", "create", "edge", "--api-endpoint", ENDPOINT)
    fails(capsys, store_url, "registration", "create", "edge", "--api-endpoint", ENDPOINT)
    registration = store.get_registration("default", "edge")
    assert registration is not None
    tokens.verify_registration_token(
        registration.token, signing_key_pem=store.get_signing_key(registration) or b"", uri=registration.uri
    )


@pytest.mark.parametrize("action", ["show", "agent-config"])
def test_missing_registration(capsys: pytest.CaptureFixture[str], store_url: str, action: str) -> None:
    assert "registration default/nope not found" in fails(capsys, store_url, "registration", action, "nope")


# -- hosts ------------------------------------------------------------------------------------


def test_host_list_show_delete(capsys: pytest.CaptureFixture[str], store_url: str, store: Store) -> None:
    make_registration(store, name="reg")
    create_host(store, name="host-1")
    create_host(store, name="host-2")
    make_registration(store, name="reg", namespace="far")
    store.create_host(Host(namespace="far", name="host-9", registration="reg", phase="Running"))

    lines = ok(capsys, store_url, "host", "list").splitlines()
    assert lines[0].split("\t") == [
        "NAMESPACE",
        "NAME",
        "REGISTRATION",
        "PHASE",
        "INSTALLED",
        "BOOTSTRAPPED",
        "NEEDS-RESET",
    ]
    assert [line.split("\t") for line in lines[1:]] == [
        ["default", "host-1", "reg", "-", "False", "False", "False"],
        ["default", "host-2", "reg", "-", "False", "False", "False"],
    ]
    everywhere = ok(capsys, store_url, "host", "list", "-A").splitlines()[1:]
    assert [line.split("\t")[:4] for line in everywhere][-1] == ["far", "host-9", "reg", "Running"]

    shown = json.loads(ok(capsys, store_url, "host", "show", "host-1"))
    assert shown["name"] == "host-1"
    assert shown["registration"] == "reg"
    assert shown["labels"] == {"disk": "ssd"}
    assert shown["deleting"] is False
    assert shown["bootstrapSecret"] is None
    assert shown["created"]

    out = ok(capsys, store_url, "host", "delete", "host-1")
    assert "host default/host-1 marked for deletion" in out
    deleted = store.get_host("default", "host-1")
    assert deleted is not None
    assert deleted.deleting is True
    assert deleted.labels[LABEL_NEEDS_RESET] == "true"
    assert json.loads(ok(capsys, store_url, "host", "show", "host-1"))["deleting"] is True
    ok(capsys, store_url, "host", "delete", "host-1")  # again: fine
    assert ok(capsys, store_url, "host", "list").splitlines()[1].endswith("\tTrue")

    for action in ("show", "delete"):
        assert "host default/ghost not found" in fails(capsys, store_url, "host", action, "ghost")
    assert "host far/host-1 not found" in fails(capsys, store_url, "host", "show", "host-1", "-n", "far")


@pytest.mark.parametrize("fmt", ["cloud-config", "ignition"])
def test_host_bootstrap_attaches_the_file(
    capsys: pytest.CaptureFixture[str], store_url: str, store: Store, tmp_path: Path, fmt: str
) -> None:
    make_registration(store, name="reg")
    create_host(store)
    data = '{"ignition": {"version": "3.3.0"}}' if fmt == "ignition" else "#cloud-config\nruncmd: [echo hi]\n"
    (tmp_path / "bootstrap").write_text(data)

    argv = ["host", "bootstrap", "host-1", "--file", str(tmp_path / "bootstrap")]
    out = ok(capsys, store_url, *argv, *(["--format", fmt] if fmt != "cloud-config" else []))
    assert f"bootstrap data ({fmt}) attached to host default/host-1" in out
    host = store.get_host("default", "host-1")
    assert host is not None
    bootstrap = store.get_bootstrap(host)
    assert bootstrap is not None
    assert (bootstrap.config, bootstrap.format) == (data, fmt)
    assert (
        json.loads(ok(capsys, store_url, "host", "show", "host-1"))["bootstrapSecret"] == "host-1-bootstrap"
    )
    assert ok(capsys, store_url, "host", "list").splitlines()[1].split("\t")[1] == "host-1"


def test_host_bootstrap_errors(
    capsys: pytest.CaptureFixture[str], store_url: str, store: Store, tmp_path: Path
) -> None:
    make_registration(store, name="reg")
    create_host(store)
    missing = tmp_path / "missing.yaml"
    err = fails(capsys, store_url, "host", "bootstrap", "host-1", "--file", str(missing))
    assert f"--file {missing}" in err
    assert "No such file or directory" in err
    (tmp_path / "binary").write_bytes(b"\xff\xfe\x00bad")
    assert "--file" in fails(
        capsys, store_url, "host", "bootstrap", "host-1", "--file", str(tmp_path / "binary")
    )
    (tmp_path / "ok").write_text("#cloud-config\n")
    assert "host default/ghost not found" in fails(
        capsys, store_url, "host", "bootstrap", "ghost", "--file", str(tmp_path / "ok")
    )
    host = store.get_host("default", "host-1")
    assert host is not None and host.bootstrap_secret is None
    with pytest.raises(SystemExit) as exit_info:  # argparse refuses an unknown format
        cli.main(["host", "bootstrap", "host-1", "--file", str(tmp_path / "ok"), "--format", "yaml"])
    assert exit_info.value.code == 2


def test_host_created_through_the_api_is_listed(capsys: pytest.CaptureFixture[str], store_url: str) -> None:
    from elemental_api.app import create_app

    store = open_store(store_url)
    try:
        registration, _ = make_registration(store, name="reg")
        host = HostIdentity(registration, "api-host")
        with create_app(store, api_endpoint="http://testserver").test_client() as client:
            created = client.post(host.hosts_path, json=host.create_body(), headers=host.create_headers())
            assert created.status_code == 201, created.text
            patched = client.patch(
                host.path, headers=host.auth(), json={"installed": True, "phase": "Running"}
            )
            assert patched.status_code == 200, patched.text
    finally:
        store.close()
    row = ok(capsys, store_url, "host", "list").splitlines()[1].split("\t")
    assert row == ["default", "api-host", "reg", "Running", "True", "False", "False"]


# -- stores -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [["registration", "list"], ["host", "list"], ["registration", "create", "x"], ["serve", "--port", "1"]],
)
def test_bogus_store_url_is_a_clear_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    err = fails(capsys, "bogus://x", *argv)
    assert "--store must be sqlite:///PATH or kubernetes, not 'bogus://x'" in err


def test_unusable_sqlite_path_is_a_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    err = fails(capsys, f"sqlite:///{tmp_path}/no/such/dir/e.db", "registration", "list")
    assert "store error" in err
    assert "no/such/dir/e.db" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--port", "0"], "--port 0 must be between 1 and 65535"),
        (["--port", "70000"], "--port 70000 must be between 1 and 65535"),
        (["--workers", "0"], "--workers 0 must be at least 1"),
        (["--tls-cert", "c.pem"], "--tls-cert and --tls-key go together"),
        (
            ["--tls-cert", "/no/c.pem", "--tls-key", "/no/k.pem"],
            "--tls-cert /no/c.pem: No such file or directory",
        ),
    ],
)
def test_serve_refuses_bad_options_before_starting(
    capsys: pytest.CaptureFixture[str], store_url: str, argv: list[str], message: str
) -> None:
    assert message in fails(capsys, store_url, "serve", *argv)


# -- the installed script ---------------------------------------------------------------------


def test_installed_entry_point(tmp_path: Path, store_url: str) -> None:
    command = [*elemental_api_command(), "registration"]
    created = subprocess.run(
        [*command, "create", "scripted", "--store", store_url, "--api-endpoint", ENDPOINT],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    assert "registration default/scripted created" in created.stdout
    config = subprocess.run(
        [*command, "agent-config", "scripted", "--store", store_url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert config.returncode == 0, config.stderr
    assert yaml.safe_load(config.stdout)["registration"]["uri"].endswith("/registrations/scripted")
    refused = subprocess.run(
        [*command, "create", "Not_Valid", "--store", store_url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 1
    assert refused.stderr.startswith("elemental-api: registration name 'Not_Valid'")
    assert "Traceback" not in refused.stderr


def test_registration_config_file_sets_the_agent_settings(
    capsys: pytest.CaptureFixture[str], store_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "reg.yaml"
    config.write_text(
        "elemental:\n  agent:\n    osPlugin: /usr/lib/elemental/plugins/dummy.so\n"
        "    reconciliation: 1000000000\n  reset:\n    resetPersistent: true\n"
        "cloudConfig:\n  users:\n  - name: root\n"
    )
    ok(capsys, store_url, "registration", "create", "demo", "--config", str(config))
    agent = yaml.safe_load(ok(capsys, store_url, "registration", "agent-config", "demo"))["agent"]
    assert agent["osPlugin"] == "/usr/lib/elemental/plugins/dummy.so"
    assert agent["reconciliation"] == 1_000_000_000
    assert agent["workDir"] == "/var/lib/elemental/agent"  # defaults still apply
    shown = json.loads(ok(capsys, store_url, "registration", "show", "demo"))
    assert shown["config"]["cloudConfig"] == {"users": [{"name": "root"}]}
    assert shown["config"]["elemental"]["reset"] == {"resetPersistent": True}


@pytest.mark.parametrize(
    ("content", "names"),
    [
        ("elemental: [1]\n", "elemental"),
        ("elemental:\n  agent:\n    reconciliation: soon\n", "reconciliation"),
    ],
)
def test_invalid_registration_config_file_names_the_field(
    capsys: pytest.CaptureFixture[str], store_url: str, store: Store, tmp_path: Path, content: str, names: str
) -> None:
    config = tmp_path / "reg.yaml"
    config.write_text(content)
    err = fails(capsys, store_url, "registration", "create", "demo", "--config", str(config))
    assert names in err
    assert store.list_registrations() == []


@pytest.mark.parametrize(
    ("arguments", "environment", "published"),
    [
        (
            ["--api-endpoint", "https://given.example"],
            {"ELEMENTAL_API_ENDPOINT": "env.example"},
            "https://given.example",
        ),
        ([], {"ELEMENTAL_API_ENDPOINT": "env.example:8443"}, "https://env.example:8443"),
        (
            [],
            {"ELEMENTAL_API_ENDPOINT": "env.example", "ELEMENTAL_API_PROTOCOL": "http"},
            "http://env.example",
        ),
        ([], {}, "http://127.0.0.1:9191"),
    ],
    ids=["flag-first", "environment", "environment-protocol", "listen-address"],
)
def test_serve_publishes_the_endpoint_the_operator_is_told(
    store_url: str,
    monkeypatch: pytest.MonkeyPatch,
    arguments: list[str],
    environment: dict[str, str],
    published: str,
) -> None:
    """In a cluster the API and the operator read one ConfigMap: the spec the API publishes
    names the URL registrations carry, without a flag of its own."""
    for name in ("ELEMENTAL_API_ENDPOINT", "ELEMENTAL_API_PROTOCOL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    served: list[server.ServeOptions] = []
    monkeypatch.setattr(server, "serve", served.append)
    assert cli.main(["serve", "--store", store_url, "--host", "127.0.0.1", "--port", "9191", *arguments]) == 0
    assert [options.api_endpoint for options in served] == [published]


def test_serve_passes_the_kubernetes_client_settings_on(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--kube-qps/--kube-burst/--kube-connections, else ELEMENTAL_KUBE_*, reach the workers'
    store; nonsense is refused before anything is served."""
    monkeypatch.setenv("ELEMENTAL_KUBE_CONNECTIONS", "12")
    monkeypatch.delenv("ELEMENTAL_KUBE_QPS", raising=False)
    monkeypatch.delenv("ELEMENTAL_KUBE_BURST", raising=False)
    served: list[server.ServeOptions] = []
    monkeypatch.setattr(server, "serve", served.append)
    assert cli.main(["serve", "--store", store_url, "--kube-qps", "40", "--kube-burst", "80"]) == 0
    assert [options.kube for options in served] == [ClientSettings(qps=40.0, burst=80, connections=12)]
    assert cli.main(["serve", "--store", store_url, "--kube-connections", "0"]) == 1
    assert len(served) == 1


def test_serve_passes_the_handler_threads_on(
    capsys: pytest.CaptureFixture[str], store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--handler-threads, else ELEMENTAL_API_HANDLER_THREADS, else the store's default (None
    here); anything but a whole number of at least 1 is refused, naming the flag."""
    monkeypatch.delenv("ELEMENTAL_API_HANDLER_THREADS", raising=False)
    served: list[server.ServeOptions] = []
    monkeypatch.setattr(server, "serve", served.append)
    assert cli.main(["serve", "--store", store_url]) == 0
    assert cli.main(["serve", "--store", store_url, "--handler-threads", "3"]) == 0
    monkeypatch.setenv("ELEMENTAL_API_HANDLER_THREADS", "7")
    assert cli.main(["serve", "--store", store_url]) == 0
    assert [options.handler_threads for options in served] == [None, 3, 7]
    capsys.readouterr()
    for bad in ("0", "-2", "four", "1.5"):
        assert cli.main(["serve", "--store", store_url, "--handler-threads", bad]) == 1
        assert f"--handler-threads '{bad}' must be a whole number, at least 1" in capsys.readouterr().err
    monkeypatch.setenv("ELEMENTAL_API_HANDLER_THREADS", "none")
    assert cli.main(["serve", "--store", store_url]) == 1
    assert "'none' must be a whole number" in capsys.readouterr().err
    assert len(served) == 3
