"""The gateway's Ed25519 token-signing key: loaded from a file or the environment, never the DB.

`SATUPINTU_TOKEN_SIGNING_KEY` (base64 of the raw 32-byte private key) wins; otherwise the key
lives beside the key ring as `token_signing.json` (mode 0600), created on first use outside
production. The key id is derived from the public key, so a token names the key that signed
it and verifiers holding several public keys (during a rotation) pick the right one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gateway.crypto.errors import KeyRingError
from gateway.crypto.keyring import key_store

ENV_VAR = "SATUPINTU_TOKEN_SIGNING_KEY"
FILE_NAME = "token_signing.json"

_lock = threading.Lock()
_keys: dict[str, Ed25519PrivateKey] = {}
_active: str | None = None
_loaded_from: Path | None = None


def key_id(public: Ed25519PublicKey) -> str:
    return "ed-" + hashlib.sha256(public.public_bytes_raw()).hexdigest()[:16]


def _from_b64(text: str) -> Ed25519PrivateKey:
    try:
        raw = base64.b64decode(text, validate=True)
        return Ed25519PrivateKey.from_private_bytes(raw)
    except ValueError as exc:
        raise KeyRingError("the token signing key is not a base64 Ed25519 key") from exc


def _load() -> None:
    """(Re)load the keys: the env var, else the file (generated outside production)."""
    global _active, _loaded_from
    env = os.environ.get(ENV_VAR)
    keys: dict[str, Ed25519PrivateKey] = {}
    if env:
        private = _from_b64(env)
        keys[key_id(private.public_key())] = private
        active = next(iter(keys))
    else:
        store = key_store()
        if store.path is None:
            raise KeyRingError(f"no token signing key: set {ENV_VAR}")
        path = store.path.parent / FILE_NAME
        if not path.exists():
            if os.environ.get("SATUPINTU_ENVIRONMENT", "development") == "production":
                raise KeyRingError(f"no token signing key: set {ENV_VAR} or provide {path}")
            _write_new(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            keys = {kid: _from_b64(text) for kid, text in data["keys"].items()}
            active = str(data["active"])
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise KeyRingError(f"token signing key file {path} is malformed") from exc
        if active not in keys:
            raise KeyRingError("the active token signing key is missing from its file")
        _loaded_from = path
    _keys.clear()
    _keys.update(keys)
    _active = active


def _write_new(path: Path) -> None:
    private = Ed25519PrivateKey.generate()
    kid = key_id(private.public_key())
    body = json.dumps(
        {"active": kid, "keys": {kid: base64.b64encode(private.private_bytes_raw()).decode()}}
    )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(body)
    os.replace(tmp, path)


def _ensure_current() -> None:
    """Reload when the key ring moved (tests, CLI) or nothing is loaded yet."""
    store = key_store()
    expected = (
        None
        if os.environ.get(ENV_VAR)
        else (store.path.parent / FILE_NAME if store.path is not None else None)
    )
    if _active is None or expected != _loaded_from:
        _load()


def sign_with_gateway_key(data: bytes) -> tuple[str, bytes]:
    """(key id, Ed25519 signature) of `data` under the active token signing key."""
    with _lock:
        _ensure_current()
        assert _active is not None
        return _active, _keys[_active].sign(data)


def gateway_public_key(kid: str) -> Ed25519PublicKey:
    """The public key for `kid`; LookupError if this gateway never had it."""
    with _lock:
        _ensure_current()
        if kid not in _keys:
            _load()
        if kid not in _keys:
            raise LookupError("unknown token signing key")
        return _keys[kid].public_key()
