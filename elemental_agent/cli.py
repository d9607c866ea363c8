"""`elemental-agent`: takes an Elemental host through its whole lifecycle.

    elemental-agent [--config F] [--debug] [--root DIR] register [--install] | install | run | reset | version

The global flags may come before or after the command (as upstream's, which its own reset
plan writes `elemental-agent reset --debug --config ...`).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from elemental_agent import __version__, phases, plugins
from elemental_agent.client import ElementalClient
from elemental_agent.config import DEFAULT_CONFIG_PATH, Config, format_duration
from elemental_agent.context import AgentContext, Stopper
from elemental_agent.errors import AgentError, ConfigError, Stopped
from elemental_agent.hostroot import HostRoot
from elemental_agent.identity import load_or_create
from elemental_agent.plugins.base import BOOTSTRAP_SENTINEL, PluginContext

log = logging.getLogger("elemental_agent")
PROG = "elemental-agent"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _setup_logging(args.debug)
    if args.command == "version":
        print(f"{PROG} version {__version__}")
        return 0
    stopper = Stopper()
    stopper.install()
    try:
        ctx, client = init_agent(args, stopper)
        with client:
            command: Callable[[AgentContext, argparse.Namespace], int] = args.run
            return command(ctx, args)
    except Stopped as stopped:
        log.info("%s", stopped)
        return 0 if args.command == "run" else 1
    except AgentError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def init_agent(args: argparse.Namespace, stopper: Stopper) -> tuple[AgentContext, ElementalClient]:
    """Upstream's InitAgent: config, work dir, plugin, identity, API client, hostname; the
    client is returned too, for the caller to close."""
    root_dir = Path(args.root)
    if not root_dir.is_dir():
        raise ConfigError(f"--root {args.root}: not a directory")
    host = HostRoot(root_dir)
    config_path = host.host_path(args.config)
    config = load_config(host, config_path)
    if config.agent.debug:
        logging.getLogger().setLevel(logging.DEBUG)
    log.info("Using config file: %s%s", config_path, "" if host.is_host else f" (inside {host.root})")
    host.make_dirs(config.agent.work_dir)
    log.info("Loading Plugin: %s", config.agent.os_plugin)
    plugin = plugins.load(config.agent.os_plugin)
    sentinel = host.host_path(args.bootstrap_sentinel)
    plugin.init(
        PluginContext(
            work_dir=config.agent.work_dir,
            config_path=config_path,
            debug=args.debug or config.agent.debug,
            host=host,
            runner=host.runner,
            bootstrap_sentinel=sentinel,
        )
    )
    identity = load_or_create(host, config.agent.work_dir)
    client = ElementalClient(config, identity, host)
    try:
        hostname = plugin.get_hostname()
    except AgentError:
        client.close()
        raise
    log.debug("Reconciliation period %s", format_duration(config.agent.reconciliation))
    context = AgentContext(
        config=config,
        config_path=config_path,
        host=host,
        plugin=plugin,
        client=client,
        identity=identity,
        hostname=hostname,
        stopper=stopper,
        bootstrap_sentinel=sentinel,
    )
    return context, client


def load_config(host: HostRoot, config_path: str) -> Config:
    location = host.path(config_path)
    try:
        text = location.read_bytes()
    except OSError as error:
        raise ConfigError(f"reading config {location}: {error.strerror or error}") from error
    return Config.from_yaml(text, source=str(location))


# -- commands -------------------------------------------------------------------------------------


def _register(ctx: AgentContext, args: argparse.Namespace) -> int:
    log.info("Registering new host")
    phases.register(ctx)
    log.info("Finalizing Registration")
    phases.finalize_registration(ctx)
    if args.install:
        return _install(ctx, args)
    return 0


def _install(ctx: AgentContext, _args: argparse.Namespace) -> int:
    log.info("Installing host")
    phases.install(ctx)
    phases.handle_post(ctx.plugin, ctx.config.agent.post_install)
    return 0


def _run(ctx: AgentContext, _args: argparse.Namespace) -> int:
    phases.run(ctx)
    return 0


def _reset(ctx: AgentContext, _args: argparse.Namespace) -> int:
    log.info("Resetting host")
    phases.reset(ctx)
    phases.handle_post(ctx.plugin, ctx.config.agent.post_reset)
    return 0


# -- plumbing -------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="elemental-agent takes care of the entire lifecycle of an Elemental host: "
        "registration, installation, CAPI bootstrapping, upgrades and reset.",
    )
    _global_flags(parser, defaults=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    register = commands.add_parser("register", help="register this host with the Elemental API")
    register.add_argument("--install", action="store_true", help="install the host right after registering")
    register.set_defaults(run=_register)
    for name, run, text in (
        ("install", _install, "install the OS on this host"),
        ("run", _run, "operate this host as the Elemental API says, until it must reset"),
        ("reset", _reset, "reset this host"),
        ("version", None, "print the agent's version"),
    ):
        commands.add_parser(name, help=text).set_defaults(run=run)
    for command in commands.choices.values():
        _global_flags(command, defaults=False)
    return parser


def _global_flags(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """The global flags; on a command's parser without defaults (SUPPRESS), so a value given
    before the command is not overwritten."""

    def default(value: object) -> object:
        return value if defaults else argparse.SUPPRESS

    parser.add_argument(
        "--config",
        default=default(DEFAULT_CONFIG_PATH),
        metavar="FILE",
        help=f"config file (default {DEFAULT_CONFIG_PATH}, inside --root)",
    )
    parser.add_argument("--debug", action="store_true", default=default(False), help="debug logs")
    parser.add_argument(
        "--root",
        default=default("/"),
        metavar="DIR",
        help="the host's root (default /): every host path is taken inside DIR, and with a DIR "
        "other than / hostname changes, reboots and power-offs are recorded in "
        "DIR/var/log/elemental-agent-actions.log instead of done",
    )
    parser.add_argument(
        "--bootstrap-sentinel",
        default=default(BOOTSTRAP_SENTINEL),
        metavar="PATH",
        help=f"file a successful bootstrap creates (default {BOOTSTRAP_SENTINEL}, inside --root)",
    )


def _setup_logging(debug: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
        force=True,
    )
    # The HTTP stack's own debug lines say nothing the agent's don't.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


if __name__ == "__main__":
    sys.exit(main())
