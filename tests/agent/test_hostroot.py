"""--root: host paths inside DIR, host actions recorded instead of done."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from elemental_agent.errors import AgentError
from elemental_agent.hostroot import HostRoot


def test_paths_are_taken_inside_the_root(tmp_path: Path) -> None:
    root = HostRoot(tmp_path)
    assert not root.is_host
    assert root.path("/etc/elemental/agent/config.yaml") == tmp_path / "etc/elemental/agent/config.yaml"
    assert root.path("var/lib/x") == tmp_path / "var/lib/x"
    assert root.path("/") == tmp_path


@pytest.mark.parametrize("escape", ["/../../etc/passwd", "../../../etc/passwd", "/a/../../../../etc/shadow"])
def test_dot_dot_stops_at_the_root(tmp_path: Path, escape: str) -> None:
    resolved = HostRoot(tmp_path).path(escape)
    assert resolved.resolve().is_relative_to(tmp_path.resolve())


def test_a_symlink_leading_out_is_refused(tmp_path: Path) -> None:
    root_dir = tmp_path / "root"
    (root_dir / "etc").mkdir(parents=True)
    (root_dir / "etc/cloud").symlink_to("/etc")
    with pytest.raises(AgentError, match="leads outside --root"):
        HostRoot(root_dir).path("/etc/cloud/cloud.cfg.d/x.cfg")
    # a symlink staying inside is fine
    (root_dir / "data").mkdir()
    (root_dir / "etc/data").symlink_to(root_dir / "data")
    assert HostRoot(root_dir).path("/etc/data/f") == root_dir / "etc/data/f"


def test_real_root_leaves_paths_alone() -> None:
    root = HostRoot("/")
    assert root.is_host
    assert root.path("/etc/hostname") == Path("/etc/hostname")
    assert root.path("relative/file") == Path("relative/file")
    assert root.host_path("/x/y") == "/x/y"


def test_command_line_paths_inside_the_root_are_host_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = HostRoot(tmp_path)
    assert (
        root.host_path(str(tmp_path / "etc/elemental/agent/config.yaml"))
        == "/etc/elemental/agent/config.yaml"
    )
    assert root.host_path("/etc/elemental/agent/config.yaml") == "/etc/elemental/agent/config.yaml"
    monkeypatch.chdir(tmp_path)
    assert root.host_path("etc/x.yaml") == "/etc/x.yaml"


def test_host_actions_are_recorded_not_done(tmp_path: Path) -> None:
    real_hostname = socket.gethostname()
    root = HostRoot(tmp_path)
    assert root.current_hostname() == real_hostname  # no /etc/hostname in the root yet
    root.set_hostname("m-1234")
    root.reboot()
    root.power_off()
    root.action("mount", ["mount", "/oem"])
    assert socket.gethostname() == real_hostname
    assert root.current_hostname() == "m-1234"
    assert (tmp_path / "etc/hostname").read_text() == "m-1234\n"
    assert root.actions() == [
        ("set-hostname", "hostnamectl set-hostname m-1234"),
        ("reboot", "reboot -f"),
        ("poweroff", "poweroff -f"),
        ("mount", "mount /oem"),
    ]
    lines = (tmp_path / "var/log/elemental-agent-actions.log").read_text().splitlines()
    assert len(lines) == 4
    assert all(line.split("\t")[0].endswith("Z") for line in lines)


def test_files(tmp_path: Path) -> None:
    root = HostRoot(tmp_path)
    root.write_file("/a/b/c.txt", b"x", mode=0o640)
    assert (tmp_path / "a/b/c.txt").read_bytes() == b"x"
    assert oct((tmp_path / "a/b/c.txt").stat().st_mode & 0o777) == "0o640"
    assert oct((tmp_path / "a/b").stat().st_mode & 0o777) == "0o700"
    assert root.exists("/a/b/c.txt")
    assert root.read_file("/a/b/c.txt") == b"x"
    with pytest.raises(AgentError, match="not a directory"):
        root.make_dirs("/a/b/c.txt")
    with pytest.raises(AgentError, match="reading /missing"):
        root.read_file("/missing")
    assert os.listdir(tmp_path) == ["a"]
