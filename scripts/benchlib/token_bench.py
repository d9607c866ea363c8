"""The pieces of a check-in's authentication, each timed alone: µs per call.

A check-in's token check reads the registration and the host from the store, then verifies the
host token (our structure check, then PyJWT's decode with the Ed25519 signature check). A
registration checks the registration token too: in full the first time, then remembered. A
sampling profile that only counts GIL-holding threads (`py-spy --gil`) misses the signature
check, which `cryptography` runs with the GIL released; timing each piece alone does not.
Each figure is the best of `--repeat` runs of `--calls` calls (timeit's advice: the minimum
is the run least disturbed by the rest of the machine). Compare with the CPU time of a whole
check-in from `scripts/bench inprocess`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt

from elemental_api.app import create_app
from elemental_api.store import open_store
from elemental_core import tokens
from tests.helpers import HostIdentity, make_registration, register


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20000, help="calls per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per piece; the best counts")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="elemental-token-bench-") as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        registration, _ = make_registration(store, name="bench", endpoint="http://bench")
        host = HostIdentity(registration, "host-0")
        with create_app(store, api_endpoint="http://bench").test_client() as client:
            register(client, host).raise_for_status()
        pieces = _pieces(store, host)
        width = max(len(name) for name in pieces)
        for name, call in pieces.items():
            best = min(timeit.repeat(call, number=args.calls, repeat=args.repeat)) / args.calls
            print(f"{name:<{width}}  {best * 1e6:8.1f} µs")
        store.close()
    return 0


def _pieces(store: Any, host: HostIdentity) -> dict[str, Callable[[], object]]:
    registration = host.registration
    token = host.token()
    public_pem = host.key.public_pem()
    public_key = tokens.load_public_key(public_pem)
    header, payload, signature = token.split(".")
    signing_input = f"{header}.{payload}".encode()
    raw_signature = jwt.utils.base64url_decode(signature)
    options = {"require": ["exp", "iat", "sub", "aud"], "verify_exp": True, "verify_nbf": True}
    signing_key = store.get_signing_key(registration)
    remembered = tokens._VERIFIED_REGISTRATION_TOKENS

    def check_registration_token() -> object:
        return tokens.verify_registration_token(
            registration.token, signing_key_pem=signing_key, uri=registration.uri
        )

    def check_registration_token_afresh() -> object:
        remembered.clear()
        return check_registration_token()

    return {
        "verify_registration_token, first check": check_registration_token_afresh,
        "verify_registration_token, remembered": check_registration_token,
        "verify_host_token (the whole check)": lambda: tokens.verify_host_token(
            token, public_key_pem=public_pem, host_name=host.name, uri=registration.uri
        ),
        "jwt.decode (PyJWT, signature included)": lambda: jwt.decode(
            token,
            public_key,
            algorithms=[tokens.ALGORITHM],
            audience=registration.uri,
            leeway=tokens.CLOCK_SKEW_SECONDS,
            options=options,  # type: ignore[arg-type]
        ),
        "Ed25519 verify alone (cryptography)": lambda: public_key.verify(raw_signature, signing_input),
        "our structure check": lambda: tokens._check_structure(token),
        "store: get_registration (SQLite)": lambda: store.get_registration(
            registration.namespace, registration.name
        ),
        "store: get_host (SQLite)": lambda: store.get_host(registration.namespace, host.name),
    }


if __name__ == "__main__":
    sys.exit(main())
