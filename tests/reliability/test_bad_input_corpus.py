"""Bad-input corpus: every corrupt or truncated input is refused with a typed error, and nothing
is written.

The corpus is generated here from synthetic data (no stored blobs): a rendered fingerprint
image, a rendered eye, minutiae records (ISO/IEC 19794-2 2005 and 2011, ANSI/INCITS 378),
finger and iris image records (ISO/IEC 19794-4, 19794-6) and ISO 20022 bank documents, each then
truncated, bit-flipped, shrunk, blanked or mangled the ways real transfers and real bugs
break them. Each item is checked twice: at the library that parses it (the typed error and its
`code`), and through the HTTP API or the gateway service that receives it (a 4xx in the
documented error shape, and database row counts unchanged).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import io
import struct
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from adapters.answers import Answer
from adapters.base import (
    AccountRef,
    AnomalyKind,
    BankResponseInvalid,
    EntryDirection,
    Statement,
    StatementEntry,
)
from adapters.iso20022.camt053 import build_camt053, read_camt053
from adapters.iso20022.client import Iso20022Adapter
from adapters.iso20022.pacs002 import build_pacs002, read_pacs002
from gateway.app import create_app
from gateway.db import unit_of_work
from gateway.errors import GatewayError
from gateway.models import Base
from gateway.payouts.reconciliation import reconcile
from gateway.registry.importer import import_register
from gateway.registry.synthetic import synthetic_rows, write_register_csv
from gateway.settings import Settings
from matcher.fingerprint import extract, fmr, iso19794_2, templates
from matcher.fingerprint.image import FingerprintImageError
from matcher.fingerprint.template_errors import TemplateFormatError
from matcher.iris.pipeline import extract_iris
from matcher.iris.types import IrisError
from matcher.records.capture import (
    finger_image,
    finger_image_record,
    iris_image,
    iris_image_record,
)
from matcher.records.errors import CaptureRecordError, RecordFormatError
from matcher.records.payload import Compression
from matcher.synthetic.impressions import impression_image
from matcher.synthetic.iris import encode_png, render_eye
from matcher.synthetic.minutiae import impression, master
from matcher.synthetic.ridges import master_fingerprint
from tests.gateway.signing import SignedClient, database_url_of, register_terminal

NOW = datetime(2026, 1, 5, 2, 30, tzinfo=UTC)
# Every signed request leaves its nonce in the replay store, by design (a refused request's
# nonce must not be usable again); that is the one table a refusal may touch.
REPLAY_STORE = "seen_nonces"
# xsdata warns before the adapter turns a non-numeric amount into its typed refusal.
pytestmark = pytest.mark.filterwarnings("ignore::xsdata.exceptions.ConverterWarning")

# -- the corpus ---------------------------------------------------------------------------


@functools.cache
def finger_png() -> bytes:
    image = impression_image(master_fingerprint(31), 1).image
    return bytes(cv2.imencode(".png", image)[1].tobytes())


@functools.cache
def eye_png() -> bytes:
    return encode_png(render_eye(5, 1).image)


@functools.cache
def iso_record() -> bytes:
    views = [impression(master(7 + pos, finger_position=pos), 1) for pos in (2, 7)]
    return iso19794_2.write(views)


@functools.cache
def minutiae_records() -> dict[str, bytes]:
    """The same two views in the 2011 edition and in ANSI/INCITS 378."""
    views = [impression(master(7 + pos, finger_position=pos), 1) for pos in (2, 7)]
    return {
        fmt: templates.ENCODERS[fmt](fmr.from_minutia_sets(views, fmt=fmt))
        for fmt in (fmr.ISO_2011, fmr.ANSI_2004)
    }


@functools.cache
def finger_image_records() -> dict[str, bytes]:
    """A finger image record of each edition, WSQ and PNG, as capture devices send them."""
    pixels = impression_image(master_fingerprint(31), 1).image
    return {
        "2011-wsq": finger_image_record(pixels, position=2),
        "2005-png": finger_image_record(
            pixels, position=2, compression=Compression.PNG, edition="iso19794-4:2005"
        ),
    }


@functools.cache
def iris_record() -> bytes:
    return iris_image_record(render_eye(5, 1).image, eye=1)


def broken_capture_records(record: bytes) -> dict[str, bytes]:
    """Structurally broken finger (FIR) or iris (IIR) image records.

    The payload is damaged in its codec header: a JPEG 2000 or WSQ body carries no checksum,
    so damage deeper in it can decode to wrong pixels, which the image quality gates judge.
    """
    n = len(record)
    payload = min(i for i in (record.find(s) for s in (b"jp2c", b"\xff\xa0", b"\x89PNG")) if i > 0)
    return {
        "wrong-magic": b"FIX\x00" + record[4:],
        "wrong-version": record[:4] + b"099\x00" + record[8:],
        "header-only": record[:16],
        "cut-in-header": record[:11],
        "cut-in-image": record[: n - n // 3],
        "last-byte-missing": record[:-1],
        "length-field-too-large": record[:8] + struct.pack(">I", n + 100) + record[12:],
        "image-header-flipped": _flip(record, payload + 4, 64),
        "an-image-instead": finger_png(),
        "a-minutiae-record-instead": iso_record(),
    }


def broken_minutiae_records() -> dict[str, bytes]:
    """The 2011 and ANSI records cut and corrupted where their layouts differ from 2005's."""
    cases: dict[str, bytes] = {}
    for fmt, record in minutiae_records().items():
        cases |= {
            f"{fmt}-cut-in-header": record[:13],
            f"{fmt}-cut-in-minutiae": record[: len(record) // 2],
            f"{fmt}-last-byte-missing": record[:-1],
            f"{fmt}-views-zeroed": record[:12] + b"\x00" * (len(record) - 12),
        }
    return cases


def _flip(data: bytes, start: int, length: int) -> bytes:
    return (
        data[:start]
        + bytes(b ^ 0xFF for b in data[start : start + length])
        + data[start + length :]
    )


def _encode(ext: str, pixels: np.ndarray) -> bytes:
    return bytes(cv2.imencode(ext, pixels)[1].tobytes())


def broken_images(valid_png: bytes, shape: tuple[int, int]) -> dict[str, bytes]:
    """The ways an image breaks on the way from a sensor: every one must be refused."""
    pixels = cv2.imdecode(np.frombuffer(valid_png, np.uint8), cv2.IMREAD_GRAYSCALE)
    bmp, tiff, jpeg = (_encode(ext, pixels) for ext in (".bmp", ".tiff", ".jpg"))
    return {
        "empty": b"",
        "random-bytes": np.random.default_rng(19794).bytes(4096),
        "png-signature-only": valid_png[:8],
        "png-header-only": valid_png[:40],
        "png-truncated-half": valid_png[: len(valid_png) // 2],
        "png-flipped-idat": _flip(valid_png, 200, 60),
        "bmp-truncated": bmp[: len(bmp) // 3],
        "tiff-truncated": tiff[: len(tiff) // 2],
        "jpeg-header-only": jpeg[:100],
        "jpeg-truncated": jpeg[: len(jpeg) // 2],
        "tiny": _encode(".png", np.zeros((8, 8), np.uint8)),
        "blank": _encode(".png", np.full(shape, 200, np.uint8)),
    }


def broken_records(record: bytes) -> dict[str, bytes]:
    """Structurally broken ISO/IEC 19794-2 records (header 24 bytes, view header 4)."""
    n = len(record)
    views_at, first_count_at = 22, 27
    return {
        "empty": b"",
        "wrong-magic": b"FMX\x00" + record[4:],
        "wrong-version": record[:4] + b" 99\x00" + record[8:],
        "header-only": record[:24],
        "cut-in-header": record[:13],
        "cut-in-minutiae": record[: n // 2],
        "last-byte-missing": record[:-1],
        "length-field-too-large": record[:8] + struct.pack(">I", n + 100) + record[12:],
        "more-views-than-present": record[:views_at] + bytes([5]) + record[views_at + 1 :],
        "minutia-count-overflow": (
            record[:first_count_at] + bytes([255]) + record[first_count_at + 1 :]
        ),
        "an-image-instead": finger_png(),
    }


def _report(answer: Answer) -> bytes:
    return build_pacs002(
        answer,
        message_id="B-1",
        original_message_id="M-1",
        original_message="pacs.008.001.08",
        created=NOW,
    )


def _statement_document() -> bytes:
    entry = StatementEntry("PAY-1", 600_000, EntryDirection.DEBIT, NOW, "B1", "2002000000001")
    statement = Statement("1001000000001", date(2026, 1, 5), 1_000_000, 400_000, (entry,), "S-1")
    return build_camt053(statement, bank_code="BRINIDJA", created=NOW)


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
)


def broken_pacs002() -> dict[str, bytes]:
    good = _report(Answer("PAY-1", "ACSC", 600_000, "B1", settled_at=NOW))
    cuts = {f"cut-at-{k}": good[:k] for k in range(0, len(good), max(1, len(good) // 12))}
    return {
        **cuts,
        "tag-renamed": good.replace(b"<TxSts>", b"<TxSt>").replace(b"</TxSts>", b"</TxSt>"),
        "unclosed-root": good.replace(b"</Document>", b""),
        "billion-laughs": BILLION_LAUGHS
        + b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:pacs.002.001.10'>&c;</Document>",
        "camt053-sent-instead": _statement_document(),
        "not-utf8": good.replace(b"B-1", b"B-\xff\xfe"),
    }


def broken_camt053() -> dict[str, bytes]:
    good = _statement_document()
    cuts = {f"cut-at-{k}": good[:k] for k in range(0, len(good), max(1, len(good) // 12))}
    closing = good.index(b"<Bal>", good.index(b"<Bal>") + 1)
    end = good.index(b"</Bal>", closing) + len(b"</Bal>")
    return {
        **cuts,
        "closing-balance-missing": good[:closing] + good[end:],
        # Neither the gateway's ids nor the bank's own reference: nothing names the entry.
        "entry-without-reference": good.replace(
            b"<EndToEndId>PAY-1</EndToEndId><TxId>PAY-1</TxId>", b""
        ).replace(b"<AcctSvcrRef>B1</AcctSvcrRef>", b""),
        "foreign-currency": good.replace(b'Ccy="IDR"', b'Ccy="USD"'),
        "amount-not-a-number": good.replace(b">600000<", b">6OOOOO<"),
        "does-not-add-up": good.replace(b">400000<", b">500000<"),
        "pacs002-sent-instead": _report(Answer("PAY-1", "ACSC", 600_000, "B1", settled_at=NOW)),
        "billion-laughs": BILLION_LAUGHS
        + b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.08'>&c;</Document>",
    }


# -- library level ------------------------------------------------------------------------


def test_the_valid_originals_are_accepted() -> None:
    """The corpus breaks good inputs: the originals themselves must pass, or it proves nothing."""
    assert len(extract.analyse(finger_png()).minutiae) > 10
    assert extract_iris(eye_png()).quality.score > 0
    assert [len(v) for v in iso19794_2.read(iso_record())] == [
        len(v) for v in iso19794_2.read(iso_record())
    ]
    assert (
        read_pacs002(
            _report(Answer("PAY-1", "ACSC", 600_000, "B1", settled_at=NOW)),
            reference="PAY-1",
            expected_amount=600_000,
        ).amount
        == 600_000
    )
    assert read_camt053(_statement_document()).closing_balance == 400_000


def test_broken_finger_images_are_refused_with_a_code() -> None:
    for name, data in broken_images(finger_png(), (400, 320)).items():
        with pytest.raises(FingerprintImageError) as caught:
            extract.analyse(data)
        assert caught.value.code.startswith("image_"), name
        assert str(caught.value), name


def test_broken_eye_images_are_refused_with_a_code() -> None:
    cases = broken_images(eye_png(), (480, 640)) | {"a-finger-instead": finger_png()}
    for name, data in cases.items():
        with pytest.raises(IrisError) as caught:
            extract_iris(data)
        assert caught.value.code.startswith("iris_"), name


def test_broken_iso_records_are_refused_naming_the_field() -> None:
    for name, data in broken_records(iso_record()).items():
        with pytest.raises(TemplateFormatError) as caught:
            iso19794_2.read(data)
        assert caught.value.code.startswith("template_"), name
        assert caught.value.field, name


def test_broken_minutiae_records_of_other_formats_are_refused_naming_the_field() -> None:
    for name, data in broken_minutiae_records().items():
        with pytest.raises(TemplateFormatError) as caught:
            templates.read_record(data)
        assert caught.value.code.startswith("template_"), name
        assert caught.value.field, name


def _read_finger_image(data: bytes) -> object:
    return finger_image(data, position=2)


def _read_iris_image(data: bytes) -> object:
    return iris_image(data, eye=1)


def test_broken_capture_records_are_refused_naming_the_field() -> None:
    cases = [(_read_iris_image, iris_record())]
    cases += [(_read_finger_image, r) for r in finger_image_records().values()]
    for read, record in cases:
        assert read(record) is not None  # the original is usable
        for name, data in broken_capture_records(record).items():
            with pytest.raises(RecordFormatError) as caught:
                read(data)
            assert isinstance(caught.value, CaptureRecordError), name
            assert caught.value.code.startswith("capture_record"), name
            assert caught.value.field and str(caught.value).startswith(caught.value.field), name


def test_every_truncation_of_a_capture_record_is_refused() -> None:
    record = finger_image_record(np.tile(np.arange(150, dtype=np.uint8), (150, 1)), position=2)
    for length in range(len(record)):
        with pytest.raises(CaptureRecordError):
            finger_image(record[:length], position=2)


def test_every_truncation_of_an_iso_record_is_refused() -> None:
    record = iso_record()
    for length in range(len(record)):
        with pytest.raises(TemplateFormatError):
            iso19794_2.read(record[:length])


def test_broken_status_reports_are_never_read_as_an_answer() -> None:
    for name, data in broken_pacs002().items():
        with pytest.raises(BankResponseInvalid) as caught:
            read_pacs002(data, reference="PAY-1", expected_amount=600_000)
        assert caught.value.kind is AnomalyKind.MALFORMED_MESSAGE, name
        assert caught.value.code == "bank_response_invalid"
        assert caught.value.field, name


def test_broken_statements_are_never_read_as_a_statement() -> None:
    for name, data in broken_camt053().items():
        with pytest.raises(BankResponseInvalid) as caught:
            read_camt053(data)
        expected = {AnomalyKind.MALFORMED_MESSAGE, AnomalyKind.STATEMENT_INCONSISTENT}
        assert caught.value.kind in expected, name
        assert caught.value.field, name


# -- through the gateway: a 4xx in the documented shape, and nothing written ---------------


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in Base.metadata.sorted_tables
            if table.name != REPLAY_STORE
        }


@pytest.fixture
def app(
    engine: Engine,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[TestClient]:
    # One terminal sends the whole corpus in a second: lift the abuse limits for it.
    for name in ("TERMINAL_RATE_PER_MINUTE", "TERMINAL_BURST", "PERSON_RATE_PER_MINUTE"):
        monkeypatch.setenv(f"SATUPINTU_{name}", "100000")
    monkeypatch.setenv("SATUPINTU_PERSON_BURST", "100000")
    # The corpus is sent in clear so the decoders see it: plaintext captures asked for.
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url_of(engine),
        environment="test",
        allow_plaintext_captures=True,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def _registered_nik(session_factory: sessionmaker[Session]) -> str:
    today = dt.date.today()
    text = io.StringIO()
    write_register_csv(text, households=1, seed=5, today=today)
    import_register(
        session_factory=session_factory, source=io.BytesIO(text.getvalue().encode()), today=today
    )
    return next(synthetic_rows(households=1, seed=5, today=today))["nik"]


def _assert_refused(response: httpx.Response, name: str, library_code: str) -> None:
    assert response.status_code == 422, (name, response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error", "request_id"}, name
    error = body["error"]
    assert error["code"] == "capture_rejected" and error["message"], name
    reasons = [r for c in error["details"]["captures"] for r in c["reasons"]]
    assert library_code in {r["code"] for r in reasons}, (name, reasons)


def test_broken_captures_through_the_api_get_422_and_write_nothing(
    app: TestClient, engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    nik = _registered_nik(session_factory)
    client = SignedClient(app, register_terminal(session_factory).signer)
    images = broken_images(finger_png(), (400, 320))
    eyes = broken_images(eye_png(), (480, 640))
    records = broken_records(iso_record())
    before = row_counts(engine)

    def enroll(capture: dict[str, object]) -> httpx.Response:
        body = {"nik": nik, **capture}
        return client.post("/v1/enrollments", json=body)

    for name, data in images.items():
        if not data:
            continue  # an empty `data` field is a schema error, covered by the fuzzing test
        code = _library_code(extract.analyse, data)
        finger = {"position": 2, "format": "image", "data": base64.b64encode(data).decode()}
        _assert_refused(enroll({"fingers": [finger]}), f"image {name}", code)
    for name, data in eyes.items():
        if not data:
            continue
        code = _library_code(extract_iris, data)
        eye = {"eye": "right", "data": base64.b64encode(data).decode()}
        _assert_refused(enroll({"irises": [eye]}), f"eye {name}", code)
    for name, data in (records | broken_minutiae_records()).items():
        if not data:
            continue
        code = _library_code(templates.read_record, data)
        finger = {"position": 2, "format": "iso19794-2", "data": base64.b64encode(data).decode()}
        _assert_refused(enroll({"fingers": [finger]}), f"record {name}", code)
    for name, data in broken_capture_records(finger_image_records()["2011-wsq"]).items():
        code = _library_code(_read_finger_image, data)
        finger = {"position": 2, "format": "iso19794-4", "data": base64.b64encode(data).decode()}
        _assert_refused(enroll({"fingers": [finger]}), f"finger image record {name}", code)
    for name, data in broken_capture_records(iris_record()).items():
        code = _library_code(_read_iris_image, data)
        eye = {"eye": "right", "format": "iso19794-6", "data": base64.b64encode(data).decode()}
        _assert_refused(enroll({"irises": [eye]}), f"iris image record {name}", code)
    assert row_counts(engine) == before


def _library_code(parse: object, data: bytes) -> str:
    assert callable(parse)
    try:
        parse(data)
    except (FingerprintImageError, IrisError, RecordFormatError) as exc:
        return str(exc.code)
    raise AssertionError("the corpus item was accepted by its parser")


def test_a_broken_bank_statement_fails_reconciliation_and_writes_nothing(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    before = row_counts(engine)
    for name, data in broken_camt053().items():
        adapter = Iso20022Adapter(
            base_url="http://bank.test",
            settlement_account=AccountRef("BRI", "1001000000001", "Satu Pintu"),
            transport=httpx.MockTransport(
                lambda _request, body=data: httpx.Response(200, content=body)
            ),
            max_attempts=1,
        )
        with pytest.raises(GatewayError) as caught, unit_of_work(session_factory) as session:
            reconcile(session=session, adapter=adapter, day=date(2026, 1, 5))
        assert caught.value.status == 503 and caught.value.code == "statement_unavailable", name
        adapter.close()
    assert row_counts(engine) == before
