"""The gateway's Ed25519 token-signing key: from the settings or a file, never the DB.

`Settings.token_signing_key` (`SATUPINTU_TOKEN_SIGNING_KEY`, base64 of the raw 32-byte private
key) wins; otherwise the key lives beside the key ring as `token_signing.json` (mode 0600),
created on first use outside production and marked as a development key, which production
refuses. The key id is derived from the public key, so a token names the key that signed
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
from gateway.crypto.keyring import KeyStore, key_store
from gateway.settings import DEVELOPMENT_MARK, TOKEN_SIGNING_FILE

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
    """(Re)load the keys: the configured key, else the file (generated outside production)."""
    global _active, _loaded_from
    store = key_store()
    keys: dict[str, Ed25519PrivateKey] = {}
    if store.token_signing_key:
        private = _from_b64(store.token_signing_key)
        keys[key_id(private.public_key())] = private
        active = next(iter(keys))
    else:
        path = _file_of(store)
        if not path.exists():
            if store.production:
                raise KeyRingError(
                    f"no token signing key: set SATUPINTU_TOKEN_SIGNING_KEY or provide {path}"
                )
            _write_new(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            keys = {kid: _from_b64(text) for kid, text in data["keys"].items()}
            active = str(data["active"])
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise KeyRingError(f"token signing key file {path} is malformed") from exc
        if store.production and DEVELOPMENT_MARK in data:
            raise KeyRingError(f"{path} holds a development token signing key")
        if active not in keys:
            raise KeyRingError("the active token signing key is missing from its file")
        _loaded_from = path
    _keys.clear()
    _keys.update(keys)
    _active = active


def _file_of(store: KeyStore) -> Path:
    """The key file beside the ring; a ring held only in the environment has no such place."""
    if store.path is None:
        raise KeyRingError("no token signing key: set SATUPINTU_TOKEN_SIGNING_KEY")
    return store.path.parent / TOKEN_SIGNING_FILE


def _write_new(path: Path) -> None:
    private = Ed25519PrivateKey.generate()
    kid = key_id(private.public_key())
    body = json.dumps(
        {
            "active": kid,
            "keys": {kid: base64.b64encode(private.private_bytes_raw()).decode()},
            DEVELOPMENT_MARK: "development",
        }
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
    expected = None if store.token_signing_key else _file_of(store)
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
