"""The RFC 9421 signature base (section 2.5) of a request, for the components terminals sign.

Why not the verifier of `http-message-signatures` (which terminals still sign with, see
`gateway.client`): on every request it parsed Signature-Input and Signature again, rebuilt a
case-insensitive copy of all headers for each covered component and re-serialised each value
through pure-Python structured-field code: 0.65 ms per request, four times the Ed25519 check
and about a tenth of a whole verification. The gateway already parses Signature-Input once
(`gateway.terminals.signatures`); from that parse this module builds the same bytes directly for
the one profile the gateway accepts: derived components of the request target and plain
header fields, none with component parameters. Tests check that requests signed by the
library verify here and that a change to any covered part breaks the signature.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from starlette.datastructures import Headers


class UnusableComponent(ValueError):
    """A covered component this profile cannot resolve: unknown, absent or malformed."""


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _derived(name: str, method: str, target_uri: str) -> str:
    if name == "@method":
        return method.upper()
    if name == "@target-uri":
        return target_uri
    parts = urlsplit(target_uri)
    if name == "@scheme":
        return parts.scheme.lower()
    if name == "@authority":
        host = (parts.hostname or "").lower()
        if parts.port is not None and parts.port != _DEFAULT_PORTS.get(parts.scheme.lower()):
            return f"{host}:{parts.port}"
        return host
    if name == "@path":
        return parts.path or "/"
    if name == "@query":
        return f"?{parts.query}"
    if name == "@request-target":
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    raise UnusableComponent(f"The derived component {name} is not supported.")


def _field(name: str, headers: Headers) -> str:
    if name != name.lower() or not name:
        raise UnusableComponent("Covered header names must be lowercase.")
    lines = headers.getlist(name)
    if not lines:
        raise UnusableComponent(f"The covered header {name} is absent.")
    value = ", ".join(line.strip(" \t") for line in lines)
    if not value.replace("\t", " ").isprintable():
        raise UnusableComponent(f"The covered header {name} holds control characters.")
    return value


def signature_base(
    *,
    method: str,
    target_uri: str,
    headers: Headers,
    covered: Sequence[str],
    signature_params: str,
) -> bytes:
    """The bytes the client signed: one `"name": value` line per covered component, then
    the `@signature-params` line carrying the serialised Signature-Input member."""
    if len(set(covered)) != len(covered):
        raise UnusableComponent("A component is covered twice.")
    lines = []
    for name in covered:
        if name.startswith("@"):
            value = _derived(name, method, target_uri)
        else:
            value = _field(name, headers)
        if "\n" in value or "\r" in value:
            raise UnusableComponent(f"The component {name} spans lines.")
        lines.append(f'"{name}": {value}')
    lines.append(f'"@signature-params": {signature_params}')
    return "\n".join(lines).encode("utf-8")
