"""The key ring: KEKs, HPKE keys, the NIK lookup key and the audit MAC key, never in the DB.

Keys come from the `SATUPINTU_KEYRING` environment variable (JSON, read-only) or from
`<key_dir>/keyring.json` (mode 0600). In development and test a missing file is generated on
first run; in production a missing ring refuses to start. Every key carries an id, so stored
envelopes and published HPKE keys say which key they need and keys can rotate.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from gateway.crypto.errors import KeyRingError
from gateway.settings import Settings

ENV_VAR = "SATUPINTU_KEYRING"
FILE_NAME = "keyring.json"
_KEY_BYTES = 32
# How often a running process looks at the ring file for rotations done by another process.
_RELOAD_INTERVAL_S = 2.0


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (ValueError, TypeError) as exc:
        raise KeyRingError(f"key ring entry {what} is not valid base64") from exc
    if len(raw) != _KEY_BYTES:
        raise KeyRingError(f"key ring entry {what} must be {_KEY_BYTES} bytes")
    return raw


def new_key_id(prefix: str) -> str:
    """Sortable, unique, meaningless ids: `kek-20261127T2110-3fa9`."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{prefix}-{stamp}-{secrets.token_hex(2)}"


@dataclass(frozen=True)
class KeyRing:
    """An immutable snapshot of every key; rotation builds a new snapshot."""

    keks: dict[str, bytes]
    active_kek: str
    hpke: dict[str, bytes]
    active_hpke: str
    nik_lookup_key: bytes
    audit_key: bytes
    # The HPKE key that was current before the active one, still accepted during rotation.
    previous_hpke: str | None = None
    _hpke_private: dict[str, X25519PrivateKey] = field(
        default_factory=dict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.active_kek not in self.keks:
            raise KeyRingError("the active KEK id is not in the key ring")
        if self.active_hpke not in self.hpke:
            raise KeyRingError("the active HPKE key id is not in the key ring")
        if self.previous_hpke is not None and self.previous_hpke not in self.hpke:
            raise KeyRingError("the previous HPKE key id is not in the key ring")
        for kid, raw in self.hpke.items():
            self._hpke_private[kid] = X25519PrivateKey.from_private_bytes(raw)

    def kek(self, kid: str) -> bytes | None:
        return self.keks.get(kid)

    def hpke_private(self, kid: str) -> X25519PrivateKey | None:
        """Only the current and the previous HPKE keys open captures; older ones are retired."""
        if kid not in (self.active_hpke, self.previous_hpke):
            return None
        return self._hpke_private.get(kid)

    def hpke_public(self, kid: str) -> X25519PublicKey:
        return self._hpke_private[kid].public_key()

    def with_new_kek(self) -> KeyRing:
        kid = new_key_id("kek")
        return replace(
            self,
            keks={**self.keks, kid: secrets.token_bytes(_KEY_BYTES)},
            active_kek=kid,
            _hpke_private={},
        )

    def with_new_hpke(self) -> KeyRing:
        kid = new_key_id("hpke")
        raw = X25519PrivateKey.generate().private_bytes_raw()
        return replace(
            self,
            hpke={**self.hpke, kid: raw},
            active_hpke=kid,
            previous_hpke=self.active_hpke,
            _hpke_private={},
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "keks": {kid: _b64(raw) for kid, raw in self.keks.items()},
            "active_kek": self.active_kek,
            "hpke": {kid: _b64(raw) for kid, raw in self.hpke.items()},
            "active_hpke": self.active_hpke,
            "previous_hpke": self.previous_hpke,
            "nik_lookup_key": _b64(self.nik_lookup_key),
            "audit_key": _b64(self.audit_key),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeyRing:
        try:
            return cls(
                keks={k: _unb64(v, f"keks.{k}") for k, v in data["keks"].items()},
                active_kek=str(data["active_kek"]),
                hpke={k: _unb64(v, f"hpke.{k}") for k, v in data["hpke"].items()},
                active_hpke=str(data["active_hpke"]),
                previous_hpke=data.get("previous_hpke"),
                nik_lookup_key=_unb64(data["nik_lookup_key"], "nik_lookup_key"),
                audit_key=_unb64(data["audit_key"], "audit_key"),
            )
        except (KeyError, AttributeError, TypeError) as exc:
            raise KeyRingError("the key ring is missing a required entry") from exc

    @classmethod
    def generate(cls) -> KeyRing:
        """A fresh ring for development and tests (production keys are made deliberately)."""
        kek_id, hpke_id = new_key_id("kek"), new_key_id("hpke")
        return cls(
            keks={kek_id: secrets.token_bytes(_KEY_BYTES)},
            active_kek=kek_id,
            hpke={hpke_id: X25519PrivateKey.generate().private_bytes_raw()},
            active_hpke=hpke_id,
            nik_lookup_key=secrets.token_bytes(_KEY_BYTES),
            audit_key=secrets.token_bytes(_KEY_BYTES),
        )


class KeyStore:
    """Where the ring lives and how it is (re)loaded; shared by every request of a process."""

    def __init__(
        self,
        *,
        path: Path | None,
        env_value: str | None,
        token_signing_key: str | None = None,
        production: bool = False,
    ) -> None:
        self.path = path
        self.env_value = env_value
        # The token signing key's settings travel with the ring it sits beside.
        self.token_signing_key = token_signing_key
        self.production = production
        self._lock = threading.Lock()
        self._ring: KeyRing | None = None
        self._mtime_ns = 0
        self._checked_at = 0.0

    @classmethod
    def from_settings(cls, settings: Settings, *, create: bool | None = None) -> KeyStore:
        """Open the ring; dev/test create a missing file, production refuses to start."""
        env_value = os.environ.get(ENV_VAR) or None
        signing = settings.token_signing_key
        store = cls(
            path=settings.resolved_key_dir / FILE_NAME,
            env_value=env_value,
            token_signing_key=signing.get_secret_value() if signing is not None else None,
            production=settings.environment == "production",
        )
        if env_value is None and store.path is not None and not store.path.exists():
            allowed = settings.environment != "production" if create is None else create
            if not allowed:
                raise KeyRingError(
                    f"no key ring: set {ENV_VAR} or provide {store.path} "
                    "(run `satupintu keys init` deliberately); refusing to start without keys"
                )
            store.save(KeyRing.generate())
        store.current()
        return store

    @property
    def read_only(self) -> bool:
        return self.env_value is not None

    def current(self) -> KeyRing:
        """The latest ring, re-read when another process rotated the file."""
        now = time.monotonic()
        with self._lock:
            if self._ring is not None and now - self._checked_at < _RELOAD_INTERVAL_S:
                return self._ring
            self._checked_at = now
            if self._ring is None or not self.read_only:
                self._load_locked()
            assert self._ring is not None
            return self._ring

    def refresh(self) -> KeyRing:
        """Force a re-read, e.g. when an envelope names a key this process has not seen."""
        with self._lock:
            self._checked_at = time.monotonic()
            self._load_locked(force=True)
            assert self._ring is not None
            return self._ring

    def _load_locked(self, *, force: bool = False) -> None:
        if self.env_value is not None:
            self._ring = self._parse(self.env_value, ENV_VAR)
            return
        assert self.path is not None
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError as exc:
            raise KeyRingError(f"key ring file {self.path} has disappeared") from exc
        if force or self._ring is None or mtime != self._mtime_ns:
            self._ring = self._parse(self.path.read_text(encoding="utf-8"), str(self.path))
            self._mtime_ns = mtime

    @staticmethod
    def _parse(text: str, origin: str) -> KeyRing:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise KeyRingError(f"key ring from {origin} is not valid JSON") from exc
        if not isinstance(data, dict):
            raise KeyRingError(f"key ring from {origin} must be a JSON object")
        return KeyRing.from_json(data)

    def save(self, ring: KeyRing) -> None:
        """Write atomically with owner-only permissions; env-provided rings are read-only."""
        if self.read_only or self.path is None:
            raise KeyRingError(
                f"the key ring comes from {ENV_VAR}; update it in your secret store instead"
            )
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_suffix(f".tmp-{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(ring.to_json(), handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
        with self._lock:
            self._ring = ring
            self._mtime_ns = self.path.stat().st_mtime_ns
            self._checked_at = time.monotonic()


_installed: KeyStore | None = None


def install_key_store(store: KeyStore | None) -> KeyStore | None:
    """Make `store` the process's key store (the app lifespan and the CLI do this once).

    Returns the previous one so tests can restore it.
    """
    global _installed
    previous, _installed = _installed, store
    return previous


def key_store() -> KeyStore:
    if _installed is None:
        raise KeyRingError("no key ring installed; the app lifespan or CLI installs it")
    return _installed
