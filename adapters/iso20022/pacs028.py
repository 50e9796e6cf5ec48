"""pacs.028.001.05 payment status request: the client asks about one end-to-end reference."""

from __future__ import annotations

from datetime import datetime

from pyiso20022.pacs.pacs_028_001_05 import pacs_028_001_05 as m

from adapters.base import check_reference
from adapters.iso20022.pacs008 import uetr_of
from adapters.iso20022.xml import from_xml, message_name, refusal, to_xml, xml_now

ORIGINAL_MESSAGE = "pacs.008.001.08"

VERSIONS = {message_name(m.Document): m.Document}


def build_pacs028(reference: str, *, message_id: str, created: datetime) -> bytes:
    """A status request by end-to-end id; the original message id is unknown after a crash,
    so the request names the original message type and repeats the reference in its place."""
    document = m.Document(
        fito_fipmt_sts_req=m.FitoFipaymentStatusRequestV05(
            grp_hdr=m.GroupHeader91(msg_id=message_id, cre_dt_tm=xml_now(created)),
            tx_inf=[
                m.PaymentTransaction131(
                    sts_req_id=message_id,
                    orgnl_grp_inf=m.OriginalGroupInformation29(
                        orgnl_msg_id=reference, orgnl_msg_nm_id=ORIGINAL_MESSAGE
                    ),
                    orgnl_end_to_end_id=reference,
                    orgnl_tx_id=reference,
                    orgnl_uetr=uetr_of(reference),
                )
            ],
        )
    )
    return to_xml(document)


def read_pacs028(data: bytes) -> tuple[str, str]:
    """The (message id, end-to-end reference) a status request asks about."""
    document = from_xml(data, m.Document)
    request = document.fito_fipmt_sts_req
    if len(request.tx_inf) != 1 or not request.tx_inf[0].orgnl_end_to_end_id:
        raise refusal(
            "FIToFIPmtStsReq/TxInf/OrgnlEndToEndId",
            "a status request must name exactly one end-to-end id",
        )
    return request.grp_hdr.msg_id, check_reference(request.tx_inf[0].orgnl_end_to_end_id)
