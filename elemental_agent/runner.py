"""The one place the agent starts host commands."""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
from collections.abc import Mapping, Sequence

from elemental_agent.errors import CommandError

log = logging.getLogger(__name__)


class CommandRunner:
    """Runs a command without a shell; its output goes where the agent's goes, unless captured."""

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        capture: bool = False,
    ) -> str:
        """Runs `argv` (extra `env` added to the agent's environment); returns the captured
        stdout (empty unless `capture`). Raises CommandError when it can't start or fails."""
        command = shlex.join(argv)
        log.info("Running command: %s", command)
        if env:
            log.debug("with environment: %s", " ".join(f"{k}={v}" for k, v in env.items()))
        try:
            completed = subprocess.run(
                list(argv),
                env={**os.environ, **env} if env else None,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if capture else None,
                check=False,
            )
        except FileNotFoundError as error:
            raise CommandError(f"running '{command}': {argv[0]}: command not found") from error
        except OSError as error:
            raise CommandError(f"running '{command}': {error.strerror or error}") from error
        if completed.returncode != 0:
            raise CommandError(f"running '{command}': exit status {completed.returncode}")
        if capture:
            output: bytes = completed.stdout
            return output.decode(errors="replace")
        return ""
