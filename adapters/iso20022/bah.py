"""Business messages: a document written here, wrapped with its Business Application Header.

Networks such as BI-FAST and CBPR+ exchange every message as a head.001 `AppHdr` and the
`Document` side by side in an envelope element. The header written here takes its `BizMsgIdr`
and `MsgDefIdr` from the document itself, so the two can never disagree (the reader in
`xml.read_message` refuses a pair that does). The envelope element's name is each network's
choice: `BusMsg` is written here, and the reader accepts any name.
"""

from __future__ import annotations

from datetime import datetime

from lxml import etree
from pyiso20022.head.head_001_001_02 import head_001_001_02 as head

from adapters.iso20022.agents import agent
from adapters.iso20022.xml import ISO_NAMESPACE, business_header, hardened_xml, to_xml, xml_now

ENVELOPE = "BusMsg"


def to_business_message(
    document: bytes, *, sender: str, receiver: str, created: datetime, service: str | None = None
) -> bytes:
    """Wrap a bare `Document` (as the builders here write it) with a head.001.001.02 header.

    `sender` and `receiver` are bank codes (a BIC, or a BI-FAST member id).
    """
    root = hardened_xml(document)
    namespace = etree.QName(root).namespace or ""
    message = next(iter(root), None)
    message_id = (
        message.findtext(f"{{{namespace}}}GrpHdr/{{{namespace}}}MsgId")
        if message is not None
        else None
    )
    if not namespace.startswith(ISO_NAMESPACE) or not message_id:
        raise ValueError("not an ISO 20022 document with a GrpHdr/MsgId")
    header = head.AppHdr(
        fr=head.Party44Choice(fiid=agent(head, sender)),
        to=head.Party44Choice(fiid=agent(head, receiver)),
        biz_msg_idr=message_id,
        msg_def_idr=namespace.removeprefix(ISO_NAMESPACE),
        biz_svc=service,
        cre_dt=xml_now(created),
    )
    envelope = etree.Element(ENVELOPE)
    envelope.append(hardened_xml(to_xml(header)))
    envelope.append(root)
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"))


def reply_in_kind(request: bytes, reply: bytes, *, sender: str, created: datetime) -> bytes:
    """The reply as a business message addressed back to the requester when the request came
    as one (a bank answers in the form it is spoken to), else the bare reply."""
    header = business_header(request)
    if header is None:
        return reply
    return to_business_message(reply, sender=sender, receiver=header.sender, created=created)
