"""TLS for `elemental-api serve`: a renewed certificate is served without a restart.

cert-manager renews the serving certificate into its Secret and the kubelet swaps the files
of the mounted volume (an atomic symlink swap); nothing restarts the pod. So every worker
checks the certificate and key files, at most once per CHECK_SECONDS and only when a TLS
handshake comes in, and hands new connections a context built from the new pair (the
handshake's SNI callback switches the connection to it; this runs with and without SNI).
Connections already open keep the certificate they were opened with. A pair that does not
load (a half-written file, a key that does not match the certificate yet) is not used: the
last good pair is served until the files change again.

Also a probe for the kubelet (`python -m elemental_api.tls probe /readyz`): it speaks https
or http as the server does, so one Deployment fits both ELEMENTAL_API_ENABLE_TLS values.
"""

from __future__ import annotations

import argparse
import http.client
import logging
import os
import ssl
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence

log = logging.getLogger(__name__)

# Upstream's variables and defaults (its Deployment mounts the cert-manager Secret there).
ENABLE_TLS_ENV = "ELEMENTAL_API_ENABLE_TLS"
CERTIFICATE_ENV = "ELEMENTAL_API_TLS_CERTIFICATE"
PRIVATE_KEY_ENV = "ELEMENTAL_API_TLS_PRIVATE_KEY"
DEFAULT_CERTIFICATE = "/etc/elemental/ssl/tls.crt"
DEFAULT_PRIVATE_KEY = "/etc/elemental/ssl/tls.key"
CHECK_SECONDS = 1.0

Signature = tuple[tuple[int, int, int, int], ...]


def paths_from_environment(env: Mapping[str, str] = os.environ) -> tuple[str, str] | None:
    """(certificate, key) when ELEMENTAL_API_ENABLE_TLS is "true" (as upstream), else None."""
    if env.get(ENABLE_TLS_ENV) != "true":
        return None
    return env.get(CERTIFICATE_ENV) or DEFAULT_CERTIFICATE, env.get(PRIVATE_KEY_ENV) or DEFAULT_PRIVATE_KEY


def server_context(certfile: str, keyfile: str) -> ssl.SSLContext:
    """A server context for the pair; raises OSError or ssl.SSLError if it does not load."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile, keyfile)
    return context


def _signature(paths: Sequence[str]) -> Signature:
    """What changes when a file is rewritten in place or replaced (stat follows symlinks)."""
    signature = []
    for path in paths:
        st = os.stat(path)
        signature.append((st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(signature)


class ReloadingContext:
    """`context` goes to the server; each handshake on it gets the newest good pair."""

    def __init__(
        self,
        certfile: str,
        keyfile: str,
        *,
        check_seconds: float = CHECK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._paths = (certfile, keyfile)
        self._check_seconds = check_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._signature = _signature(self._paths)
        self._current = server_context(certfile, keyfile)  # a bad pair at startup is an error
        self._refused: Signature | None = None
        self._checked = clock()
        self.context = self._current
        self.context.sni_callback = self._on_handshake

    def current(self) -> ssl.SSLContext:
        """The context of the newest pair that loaded, looking at the files if it is time."""
        with self._lock:
            now = self._clock()
            if now - self._checked >= self._check_seconds:
                self._checked = now
                self._reload_if_changed()
            return self._current

    def _reload_if_changed(self) -> None:
        try:
            before = _signature(self._paths)
        except OSError as error:  # mid-swap, or gone: keep serving the last good pair
            self._refuse((), error)
            return
        if before in (self._signature, self._refused):
            return
        try:
            context = server_context(*self._paths)
        except (OSError, ssl.SSLError) as error:
            self._refuse(before, error)
            return
        # If the files changed while loading, the next check sees a new signature again.
        self._signature, self._current, self._refused = before, context, None
        log.info("TLS certificate reloaded", extra={"certificate": self._paths[0]})

    def _refuse(self, signature: Signature, error: Exception) -> None:
        """Logs once per refused version of the files (`()`: they could not be read)."""
        if signature != self._refused:
            log.warning(
                "TLS certificate not reloaded, serving the previous one",
                extra={"certificate": self._paths[0], "error": str(error)},
            )
        self._refused = signature

    def _on_handshake(
        self, connection: ssl.SSLObject | ssl.SSLSocket, server_name: str | None, _: object
    ) -> None:
        latest = self.current()
        if connection.context is not latest:
            connection.context = latest


# -- the kubelet's probe -----------------------------------------------------------------------


def probe(path: str, port: int, env: Mapping[str, str] = os.environ, timeout: float = 4.0) -> int:
    """GET the path on this pod's API; the HTTP status, or 0 when there is no answer.

    https when the server serves TLS (same decision as `elemental-api serve`); the certificate
    is not verified: this is a liveness check on loopback, as the kubelet's own https probes.
    """
    connection: http.client.HTTPConnection
    if paths_from_environment(env) is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=context)
    else:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    except (OSError, http.client.HTTPException):
        return 0
    finally:
        connection.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m elemental_api.tls")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("probe", help="exit 0 when GET PATH on the local API answers 200")
    check.add_argument("path", help="e.g. /healthz or /readyz")
    check.add_argument("--port", type=int, default=9090)
    args = parser.parse_args(argv)
    status = probe(args.path, args.port)
    if status != 200:
        print(f"GET {args.path}: {status or 'no answer'}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
