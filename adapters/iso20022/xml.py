"""Serialising and parsing ISO 20022 messages through the xsdata bindings of `pyiso20022`.

Parsing is hardened (no DTDs, no entity expansion, no network) and strict: an unknown element,
a message type or version the reader does not accept, or a document that is not XML at all
raises `BankResponseInvalid` with `MALFORMED_MESSAGE`, because a bank's garbled answer must never
be read as anything. Each refusal names the element at fault (`field`) and the reason.

A message arrives either as a bare `Document` or as a business message: a Business Application
Header (`AppHdr`, head.001) and its `Document` side by side inside an envelope element whose name
the network chooses (BI-FAST, SWIFTNet and CBPR+ each use their own). The header is read and
checked against the document it travels with: `MsgDefIdr` must name the document's message
definition and `BizMsgIdr` its group header message id, so a header cannot vouch for another
message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from lxml import etree
from pyiso20022.head.head_001_001_01 import head_001_001_01 as head01
from pyiso20022.head.head_001_001_02 import head_001_001_02 as head02
from pyiso20022.head.head_001_001_03 import head_001_001_03 as head03
from xsdata.exceptions import ParserError
from xsdata.formats.dataclass.parsers import XmlParser
from xsdata.formats.dataclass.parsers.config import ParserConfig
from xsdata.formats.dataclass.serializers import XmlSerializer
from xsdata.formats.dataclass.serializers.config import SerializerConfig
from xsdata.models.datatype import XmlDate, XmlDateTime

from adapters.base import AnomalyKind, BankResponseInvalid

T = TypeVar("T")

ISO_NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:"
_SERIALIZER = XmlSerializer(config=SerializerConfig(encoding="UTF-8", xml_declaration=True))
_PARSER = XmlParser(
    # A value that does not convert (a credit/debit indicator "X", a date "tomorrow") fails the
    # parse: by default xsdata would warn and keep the raw text, to be misread further on.
    config=ParserConfig(
        load_dtd=False,
        resolve_entities=False,
        fail_on_unknown_properties=True,
        fail_on_converter_warnings=True,
    )
)
_HARDENED = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
)
# A bank message far larger than this is a fault or an attack, not a statement.
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
# The header versions found in the field (V02 is what CBPR+ prescribes). Only identification is
# read from them, which all three carry alike.
_HEADERS: Mapping[str, type[Any]] = {
    "head.001.001.01": head01.AppHdr,
    "head.001.001.02": head02.AppHdr,
    "head.001.001.03": head03.AppHdr,
}


@dataclass(frozen=True, slots=True)
class AppHeader:
    """What a Business Application Header says about the message it travels with."""

    version: str
    message_id: str
    definition: str
    sender: str
    receiver: str
    created: datetime
    service: str | None = None


@dataclass(frozen=True, slots=True)
class Message:
    """A parsed document, the message definition it declared (`camt.053.001.02`) and its
    header when it came as a business message."""

    name: str
    document: Any
    header: AppHeader | None = None


def refusal(
    field: str,
    reason: str,
    *,
    kind: AnomalyKind = AnomalyKind.MALFORMED_MESSAGE,
    reference: str | None = None,
    excerpt: str = "",
) -> BankResponseInvalid:
    """The one shape of every refusal: the element at fault, then why."""
    return BankResponseInvalid(
        f"{field}: {reason}", kind=kind, reference=reference, excerpt=excerpt, field=field
    )


def namespace_of(document_class: type[Any]) -> str:
    return str(document_class.Meta.namespace)


def message_name(document_class: type[Any]) -> str:
    """The message definition identifier (`pacs.008.001.08`) a bindings class belongs to."""
    return namespace_of(document_class).removeprefix(ISO_NAMESPACE)


def to_xml(document: object) -> bytes:
    """Serialise a bindings `Document` with its namespace as the default one."""
    namespace = namespace_of(type(document))
    text = _SERIALIZER.render(document, ns_map={None: namespace})
    return text.encode("utf-8")


def hardened_xml(data: bytes) -> Any:
    """Parse XML with entities, DTDs and network access all off."""
    return etree.fromstring(data, parser=_HARDENED)


def _local(element: Any) -> str:
    return str(etree.QName(element).localname) if isinstance(element.tag, str) else ""


def _namespace(element: Any) -> str:
    return str(etree.QName(element).namespace or "")


def _children(element: Any) -> list[Any]:
    return [child for child in element if isinstance(child.tag, str)]


def document_message_id(document: Any) -> str | None:
    """`GrpHdr/MsgId` of the message inside a bindings `Document` (every pacs and camt
    message this adapter speaks has one)."""
    for name in document.__dataclass_fields__:
        body = getattr(document, name)
        if body is not None:
            header = getattr(body, "grp_hdr", None)
            return getattr(header, "msg_id", None) if header is not None else None
    return None


def read_message(
    data: bytes, accepted: Mapping[str, type[Any]], *, reference: str | None = None
) -> Message:
    """Parse `data` as one of the `accepted` message versions, bare or in a BAH envelope."""
    excerpt = data[:300].decode("utf-8", "replace")

    def refuse(field: str, why: str) -> BankResponseInvalid:
        return refusal(field, why, reference=reference, excerpt=excerpt)

    if len(data) > MAX_DOCUMENT_BYTES:
        raise refuse("/", f"{len(data)} bytes is over the {MAX_DOCUMENT_BYTES} byte limit")
    try:
        root = hardened_xml(data)
    except etree.XMLSyntaxError as exc:
        raise refuse("/", f"not well-formed XML ({exc})") from exc
    if _local(root) == "Document":
        element, header_element = root, None
    else:
        children = _children(root)
        names = [_local(child) for child in children]
        if names != ["AppHdr", "Document"]:
            raise refuse(
                f"/{_local(root)}",
                "expected a Document, or an envelope holding an AppHdr and then a Document; "
                f"found {names or 'no elements'}",
            )
        header_element, element = children
    namespace = _namespace(element)
    name = namespace.removeprefix(ISO_NAMESPACE)
    if namespace == name or name not in accepted:
        raise refuse(
            "Document/@xmlns",
            f"{namespace or 'no namespace'} is not one of the accepted messages "
            f"({', '.join(sorted(accepted))})",
        )
    document = _parse(element, accepted[name], "Document", refuse)
    header = None
    if header_element is not None:
        header = _read_header(header_element, refuse)
        if header.definition != name:
            raise refuse(
                "AppHdr/MsgDefIdr",
                f"{header.definition} does not name the enclosed document, a {name}",
            )
        message_id = document_message_id(document)
        if header.message_id != message_id:
            raise refuse(
                "AppHdr/BizMsgIdr",
                f"{header.message_id} differs from the document's GrpHdr/MsgId {message_id}",
            )
    return Message(name=name, document=document, header=header)


def business_header(data: bytes) -> AppHeader | None:
    """The header of a business message, None for a bare document (or no XML at all)."""
    try:
        root = hardened_xml(data)
    except etree.XMLSyntaxError:
        return None
    children = _children(root)
    if _local(root) == "Document" or not children or _local(children[0]) != "AppHdr":
        return None

    def refuse(field: str, why: str) -> BankResponseInvalid:
        return refusal(field, why, excerpt=data[:300].decode("utf-8", "replace"))

    return _read_header(children[0], refuse)


def _parse(element: Any, cls: type[T], field: str, refuse: Any) -> T:
    try:
        return _PARSER.parse(element, cls)
    except (ParserError, ValueError, TypeError) as exc:
        raise refuse(field, f"does not follow the schema: {exc}") from exc


def _party(party: Any) -> str:
    """The BIC or member id a header's `Fr`/`To` names (an organisation's first id otherwise)."""
    institution = getattr(party, "fiid", None)
    if institution is not None:
        fin = institution.fin_instn_id
        member = fin.clr_sys_mmb_id
        return str(getattr(fin, "bicfi", None) or (member.mmb_id if member else "") or "")
    organisation = getattr(party, "org_id", None)
    return str(getattr(organisation, "nm", None) or "") if organisation is not None else ""


def _read_header(element: Any, refuse: Any) -> AppHeader:
    version = _namespace(element).removeprefix(ISO_NAMESPACE)
    if version not in _HEADERS:
        raise refuse(
            "AppHdr/@xmlns",
            f"{_namespace(element) or 'no namespace'} is not a header version read here "
            f"({', '.join(_HEADERS)})",
        )
    header = _parse(element, _HEADERS[version], "AppHdr", refuse)
    return AppHeader(
        version=version,
        message_id=header.biz_msg_idr,
        definition=header.msg_def_idr,
        sender=_party(header.fr),
        receiver=_party(header.to),
        created=moment(header.cre_dt, "AppHdr/CreDt", refuse),
        service=header.biz_svc,
    )


def moment(value: Any, field: str, refuse: Any) -> datetime:
    """An ISODateTime element's value; an empty or unreadable one is refused at `field`."""
    if not isinstance(value, XmlDateTime):
        raise refuse(field, f"{value!r} is not a date and time")
    return value.to_datetime()


def from_xml(data: bytes, document_class: type[T], *, reference: str | None = None) -> T:
    """Parse `data` as exactly `document_class` (bare or enveloped)."""
    accepted = {message_name(document_class): document_class}
    message = read_message(data, accepted, reference=reference)
    document: T = message.document
    return document


def xml_now(moment: datetime) -> XmlDateTime:
    """An ISO date-time in UTC to the second, the precision every bank parser accepts."""
    return XmlDateTime.from_datetime(moment.astimezone(UTC).replace(microsecond=0))


def xml_date(day: date) -> XmlDate:
    return XmlDate.from_date(day)


def rupiah(amount: int) -> Decimal:
    """Whole rupiah as the Decimal the bindings carry (never a float)."""
    return Decimal(amount)


# An id its issuer did not give: SEPA and CBPR+ write this literal rather than leave it out.
NOT_PROVIDED = "NOTPROVIDED"


def given(identifier: str | None) -> str | None:
    """An identifier, or None when it is absent, empty or NOTPROVIDED."""
    return None if identifier in (None, "", NOT_PROVIDED) else identifier


def code(value: Any) -> str | None:
    """A code element's text whether the version binds it as an enumeration or a string."""
    if value is None:
        return None
    return str(getattr(value, "value", value))
