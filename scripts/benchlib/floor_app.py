"""The floor: a bare Flask handler doing only the host-token check of a check-in.

Served by gunicorn like the API, under the same load, it shows what the JWT check and the
HTTP server cost by themselves. Host keys come from a JSON file written by scripts/bench.
"""

from __future__ import annotations

import json
import os

from flask import Flask, Response, request

from elemental_core import tokens

app = Flask(__name__)
with open(os.environ["BENCH_FLOOR_KEYS"]) as keys_file:
    _KEYS: dict[str, str] = json.load(keys_file)
_URI_PREFIX = os.environ["BENCH_FLOOR_URI"]


@app.patch("/elemental/v1/namespaces/<ns>/registrations/<reg>/hosts/<host>")
def check_in(ns: str, reg: str, host: str) -> Response:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return Response("unauthorized", 401)
    try:
        tokens.verify_host_token(header[7:], public_key_pem=_KEYS[host], host_name=host, uri=_URI_PREFIX)
    except (tokens.InvalidToken, KeyError):
        return Response("forbidden", 403)
    return Response(json.dumps({"name": host, "installed": True}), 200, content_type="application/json")
