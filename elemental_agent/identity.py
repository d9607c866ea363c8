"""The host's identity: an Ed25519 key kept in `<workDir>/private.key` (PKCS#8 PEM)."""

from __future__ import annotations

import logging
import posixpath

from elemental_agent.errors import AgentError
from elemental_agent.hostroot import HostRoot
from elemental_core.tokens import InvalidKey, SigningKey

log = logging.getLogger(__name__)

PRIVATE_KEY_FILE = "private.key"


def key_path(work_dir: str) -> str:
    return posixpath.join(work_dir, PRIVATE_KEY_FILE)


def load_or_create(root: HostRoot, work_dir: str) -> SigningKey:
    """The key in the work directory; a new one, saved there (0600), when there is none.

    Upstream keeps a new key in memory until registration is finalized; saving it at once
    lets a host whose finalization failed register again under the same name and key.
    """
    path = key_path(work_dir)
    if root.exists(path):
        log.debug("Loading identity from %s", path)
        try:
            return SigningKey.from_pem(root.read_file(path))
        except InvalidKey as error:
            raise AgentError(f"{path} holds no usable Ed25519 private key: {error}") from error
    log.debug("No identity in %s, creating a new one", path)
    key = SigningKey.generate()
    root.write_file(path, key.to_pem(), mode=0o600)
    return key
