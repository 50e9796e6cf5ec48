"""The gateway's own RFC 9421 signature base agrees with the library terminals sign with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import http_sf
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms
from starlette.datastructures import Headers

from gateway.terminals.signature_base import UnusableComponent, signature_base


@dataclass
class _Message:
    method: str
    url: str
    headers: httpx.Headers


def _signed(
    covered: list[str], url: str = "https://gw.example:8443/v1/pay?x=1&y=2"
) -> tuple[Ed25519PrivateKey, httpx.Request]:
    key = Ed25519PrivateKey.generate()
    request = httpx.Request(
        "post", url, content=b"{}",
        headers={"content-type": "application/json", "x-terminal-note": "  a\tb  "},
    )  # fmt: skip
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={"T-1": key}),
    )
    signer.sign(
        _Message("POST", str(request.url), request.headers),
        key_id="T-1",
        created=datetime.now(UTC),
        nonce="n-0123456789",
        label="sig",
        covered_component_ids=covered,
        body=b"{}",
    )
    return key, request


def _base_and_signature(request: httpx.Request, method: str = "POST") -> tuple[bytes, bytes]:
    parsed: Any = http_sf.parse(request.headers["signature-input"].encode(), tltype="dictionary")
    members, params = parsed["sig"]
    base = signature_base(
        method=method,
        target_uri=str(request.url),
        headers=Headers(raw=[(name.lower(), value) for name, value in request.headers.raw]),
        covered=[value for value, _ in members],
        signature_params=http_sf.ser({"sig": (members, params)}).split("=", 1)[1],
    )
    signatures: Any = http_sf.parse(request.headers["signature"].encode(), tltype="dictionary")
    signature: bytes = signatures["sig"][0]
    return base, signature


@pytest.mark.parametrize(
    "covered",
    [
        ["@method", "@target-uri", "content-digest", "content-type"],
        ["@authority", "@scheme", "@path", "@query", "@request-target", "x-terminal-note"],
    ],
)
def test_library_signatures_verify_against_our_base(covered: list[str]) -> None:
    key, request = _signed(covered)
    base, signature = _base_and_signature(request)
    key.public_key().verify(signature, base)  # raises if the bases differ


def test_default_port_is_left_out_of_the_authority() -> None:
    key, request = _signed(["@authority"], url="https://GW.example:443/v1/pay")
    base, signature = _base_and_signature(request)
    assert base.startswith(b'"@authority": gw.example\n')
    key.public_key().verify(signature, base)


def test_a_changed_method_changes_the_base() -> None:
    _, request = _signed(["@method", "@target-uri"])
    assert _base_and_signature(request)[0] != _base_and_signature(request, method="PUT")[0]


@pytest.mark.parametrize(
    ("covered", "reason"),
    [
        (["@status"], "not supported"),
        (["x-absent"], "absent"),
        (["Content-Type"], "lowercase"),
        (["@method", "@method"], "twice"),
    ],
)
def test_unusable_components_are_refused(covered: list[str], reason: str) -> None:
    with pytest.raises(UnusableComponent, match=reason):
        signature_base(
            method="POST",
            target_uri="https://gw.example/v1/pay",
            headers=Headers({"content-type": "application/json"}),
            covered=covered,
            signature_params="()",
        )


def test_control_characters_in_a_covered_header_are_refused() -> None:
    with pytest.raises(UnusableComponent, match="control"):
        signature_base(
            method="POST",
            target_uri="https://gw.example/v1/pay",
            headers=Headers(raw=[(b"x-note", b"a\x01b")]),
            covered=["x-note"],
            signature_params="()",
        )


def test_signature_base_line_format() -> None:
    base = signature_base(
        method="get",
        target_uri="http://gw.example/v1/x",
        headers=Headers(raw=[(b"x-a", b" one "), (b"x-a", b"two")]),
        covered=["@method", "x-a"],
        signature_params='("@method" "x-a");created=1',
    )
    assert base == (
        b'"@method": GET\n"x-a": one, two\n"@signature-params": ("@method" "x-a");created=1'
    )
