"""Format-sniffing entry point for template records: minutiae records and internal storage.

Callers (the CLI, the comparison command, the gateway's intake) hold bytes of unknown origin;
this module decides the format from the header so none of them has to, describes any record
for `satupintu template show`, and converts between the minutiae formats (as capture SDKs'
format converters do) for `satupintu template convert`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from matcher.fingerprint import ansi378, fmr, iso19794_2, iso19794_2_2011, storage
from matcher.fingerprint.fmr import ANSI_2004, ISO_2005, ISO_2011, FingerView, MinutiaeRecord
from matcher.fingerprint.template_errors import TemplateFormatError, TemplateVersionError
from matcher.fingerprint.types import MinutiaSet

KIND_NAMES = {0: "other", 1: "ending", 2: "bifurcation"}
SATUPINTU = f"satupintu-v{storage.VERSION}"
DECODERS: dict[str, Callable[[bytes], MinutiaeRecord]] = {
    ISO_2005: iso19794_2.decode,
    ISO_2011: iso19794_2_2011.decode,
    ANSI_2004: ansi378.decode,
}
ENCODERS: dict[str, Callable[[MinutiaeRecord], bytes]] = {
    ISO_2005: iso19794_2.encode,
    ISO_2011: iso19794_2_2011.encode,
    ANSI_2004: ansi378.encode,
}


def template_format(data: bytes) -> str:
    """One of `fmr.FORMATS` or `SATUPINTU`; raises `TemplateFormatError` for anything else."""
    head = bytes(data[:8])
    if head[:4] == fmr.MAGIC:
        if head[4:8] == iso19794_2_2011.VERSION:
            return ISO_2011
        if head[4:8] == iso19794_2.VERSION:
            return ANSI_2004 if ansi378.is_ansi(bytes(data[:12])) else ISO_2005
        raise TemplateVersionError(
            "version", f"{head[4:8]!r} is neither the 2005 (' 20') nor the 2011 ('030') edition"
        )
    if head[:3] == storage.MAGIC:
        return SATUPINTU
    raise TemplateFormatError(
        "format_identifier",
        "neither a finger minutiae record (ISO/IEC 19794-2, ANSI/INCITS 378) "
        "nor a Satu Pintu template",
    )


def decode_record(data: bytes) -> MinutiaeRecord:
    """A minutiae record of any of the three formats (not the internal one)."""
    fmt = template_format(data)
    if fmt == SATUPINTU:
        raise TemplateFormatError("format_identifier", "an internal template, not a record")
    return DECODERS[fmt](bytes(data))


def read_record(data: bytes) -> list[MinutiaSet]:
    """Minutia sets (one per view, at 500 dpi) of a minutiae record of any format."""
    return fmr.to_minutia_sets(decode_record(data))


def load_template(data: bytes) -> list[MinutiaSet]:
    """Minutia sets (one per view, coordinates at 500 dpi) from a record of any format."""
    if template_format(data) == SATUPINTU:
        return storage.loads(data)
    return read_record(data)


def convert(data: bytes, target: str) -> tuple[bytes, list[str]]:
    """A record re-encoded in `target` format, and what the conversion could not carry.

    Minutiae, positions, qualities and geometry carry over (angles re-expressed in the
    target's unit); extended data blocks are dropped across formats because their contents
    use each format's own units, and that is said in the notes.
    """
    if target not in ENCODERS:
        raise TemplateFormatError("target", f"{target!r} is not one of {', '.join(ENCODERS)}")
    record = decode_record(data)
    notes = list(record.warnings)
    if record.format != target and any(v.extended for v in record.views):
        notes.append("extended data blocks were dropped (their units differ between formats)")
        views = tuple(FingerView(**{**v.__dict__, "extended": ()}) for v in record.views)
        record = MinutiaeRecord(**{**record.__dict__, "views": views})
    return ENCODERS[target](record), notes


def describe_template(data: bytes) -> dict[str, Any]:
    """A JSON-ready description: header fields, views and every minutia.

    Minutiae are reported as stored in the record (record pixels, before any rescaling),
    with angles in degrees.
    """
    if template_format(data) == SATUPINTU:
        sets = storage.loads(data)
        return {
            "format": SATUPINTU,
            "header": {"length": len(data), "number_of_views": len(sets)},
            "views": [_set_view(s) for s in sets],
        }
    record = decode_record(data)
    header: dict[str, Any] = {
        "record_length": record.record_length,
        "trailing_padding_bytes": record.padding,
        "number_of_views": len(record.views),
        "extended_data_convention": record.convention.describe(),
        "warnings": list(record.warnings),
    }
    if record.format == ISO_2011:
        header["certification_flag"] = record.certification_flag
    else:
        header |= {
            "capture_equipment_compliance": record.equipment_compliance,
            "capture_equipment_id": record.equipment_id,
        }
    if record.format == ANSI_2004:
        header["cbeff_product_id"] = f"{record.cbeff_product_id:08x}"
    return {
        "format": record.format,
        "header": header,
        "views": [_record_view(v, record.angle_step_degrees) for v in record.views],
    }


def _record_view(view: FingerView, angle_step: float) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "finger_position": view.finger_position,
        "view_number": view.view_number,
        "impression_type": view.impression_type,
        "impression_type_name": fmr.IMPRESSION_TYPES.get(view.impression_type, "reserved"),
        "finger_quality": view.quality,
        "image_width": view.width,
        "image_height": view.height,
        "x_resolution_px_per_cm": view.x_resolution,
        "y_resolution_px_per_cm": view.y_resolution,
        "resolution_dpi": [
            fmr.px_per_cm_to_dpi(view.x_resolution),
            fmr.px_per_cm_to_dpi(view.y_resolution),
        ],
        "minutia_count": len(view),
    }
    if view.capture is not None:
        doc |= view.capture.describe() | {"ridge_ending_type": view.ridge_ending_type}
    doc["minutiae"] = [
        {
            "x": int(x),
            "y": int(y),
            "angle": round(float(a) * angle_step, 3),
            "type": KIND_NAMES[int(k)],
            "quality": int(q),
        }
        for x, y, a, k, q in zip(
            view.x, view.y, view.angle, view.kind, view.minutia_quality, strict=True
        )
    ]
    doc["extended_data"] = [_extended_block(b) for b in view.extended]
    return doc


def _extended_block(block: fmr.ExtendedBlock) -> dict[str, Any]:
    """A block as hex, plus its ridge counts when it is a well-formed ridge-count block."""
    doc: dict[str, Any] = {
        "type_code": block.type_code,
        "length": len(block.data),
        "data_hex": block.data.hex(),
    }
    # Type 1: extraction method (1 byte), then (minutia index, minutia index, count) triplets.
    if block.type_code == 1 and len(block.data) % 3 == 1:
        doc["ridge_count_method"] = block.data[0]
        doc["ridge_counts"] = [list(block.data[i : i + 3]) for i in range(1, len(block.data), 3)]
    return doc


def _set_view(s: MinutiaSet) -> dict[str, Any]:
    return {
        "finger_position": s.finger_position,
        "image_width": s.width,
        "image_height": s.height,
        "resolution_dpi": s.resolution_dpi,
        "image_quality": s.image_quality,
        "extractor": s.extractor,
        "minutia_count": len(s),
        "minutiae": [
            {
                "x": round(float(x), 2),
                "y": round(float(y), 2),
                "angle": round(float(np.rad2deg(d)), 3),
                "type": KIND_NAMES.get(int(k), "other"),
                "quality": int(q),
            }
            for x, y, d, k, q in zip(s.x, s.y, s.direction, s.kind, s.quality, strict=True)
        ],
    }
