"""Serialising and parsing ISO 20022 documents through the xsdata bindings of `pyiso20022`.

Parsing is hardened (no DTDs, no entity expansion, no network) and strict: an unknown element,
the wrong message type or a document that is not XML at all raises `BankResponseInvalid` with
`MALFORMED_MESSAGE`, because a bank's garbled answer must never be read as anything.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from lxml import etree
from xsdata.exceptions import ParserError
from xsdata.formats.dataclass.parsers import XmlParser
from xsdata.formats.dataclass.parsers.config import ParserConfig
from xsdata.formats.dataclass.serializers import XmlSerializer
from xsdata.formats.dataclass.serializers.config import SerializerConfig
from xsdata.models.datatype import XmlDate, XmlDateTime

from adapters.base import AnomalyKind, BankResponseInvalid

T = TypeVar("T")

_SERIALIZER = XmlSerializer(config=SerializerConfig(encoding="UTF-8", xml_declaration=True))
_PARSER = XmlParser(
    config=ParserConfig(load_dtd=False, resolve_entities=False, fail_on_unknown_properties=True)
)
_HARDENED = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
)
# A bank message far larger than this is a fault or an attack, not a statement.
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


def namespace_of(document_class: type[Any]) -> str:
    return str(document_class.Meta.namespace)


def to_xml(document: object) -> bytes:
    """Serialise a bindings `Document` with its namespace as the default one."""
    namespace = namespace_of(type(document))
    text = _SERIALIZER.render(document, ns_map={None: namespace})
    return text.encode("utf-8")


def from_xml(data: bytes, document_class: type[T], *, reference: str | None = None) -> T:
    """Parse `data` as `document_class`, classifying every failure as a malformed message."""
    excerpt = data[:300].decode("utf-8", "replace")

    def malformed(why: str) -> BankResponseInvalid:
        return BankResponseInvalid(
            f"bank message is malformed: {why}",
            kind=AnomalyKind.MALFORMED_MESSAGE,
            reference=reference,
            excerpt=excerpt,
        )

    if len(data) > MAX_DOCUMENT_BYTES:
        raise malformed(f"{len(data)} bytes is over the {MAX_DOCUMENT_BYTES} byte limit")
    try:
        root = etree.fromstring(data, parser=_HARDENED)
    except etree.XMLSyntaxError as exc:
        raise malformed(f"not well-formed XML ({exc})") from exc
    expected = namespace_of(document_class)
    if etree.QName(root).namespace != expected:
        raise malformed(f"expected a {expected} document, got {etree.QName(root).namespace}")
    try:
        return _PARSER.from_bytes(data, document_class)
    except (ParserError, ValueError, TypeError) as exc:
        raise malformed(str(exc)) from exc


def xml_now(moment: datetime) -> XmlDateTime:
    """An ISO date-time in UTC to the second, the precision every bank parser accepts."""
    return XmlDateTime.from_datetime(moment.astimezone(UTC).replace(microsecond=0))


def xml_date(day: date) -> XmlDate:
    return XmlDate.from_date(day)


def rupiah(amount: int) -> Decimal:
    """Whole rupiah as the Decimal the bindings carry (never a float)."""
    return Decimal(amount)
