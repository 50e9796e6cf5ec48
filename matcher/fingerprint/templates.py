"""Format-sniffing entry point for template records (ISO/IEC 19794-2 or internal storage).

Callers (the CLI, the comparison command, the gateway's e-KTP intake) hold bytes of unknown
origin; this module decides the format from the magic bytes so none of them has to.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from matcher.fingerprint import iso19794_2, storage
from matcher.fingerprint.template_errors import TemplateFormatError
from matcher.fingerprint.types import MinutiaSet

KIND_NAMES = {0: "other", 1: "ending", 2: "bifurcation"}


def template_format(data: bytes) -> str:
    """`"iso19794-2"` or `"satupintu"`; raises `TemplateFormatError` for anything else."""
    head = bytes(data[:4])
    if head == iso19794_2.MAGIC:
        return "iso19794-2"
    if head[:3] == storage.MAGIC:
        return "satupintu"
    raise TemplateFormatError(
        "magic", "neither an ISO/IEC 19794-2 record nor a Satu Pintu template"
    )


def load_template(data: bytes) -> list[MinutiaSet]:
    """Minutia sets (one per view, coordinates at 500 dpi) from a record of either format."""
    if template_format(data) == "iso19794-2":
        return iso19794_2.read(data)
    return storage.loads(data)


def describe_template(data: bytes) -> dict[str, Any]:
    """A JSON-ready description: header fields, views and every minutia.

    Minutiae are reported as stored in the record (for ISO: record pixels, before any
    rescaling), with angles in degrees.
    """
    kind = template_format(data)
    if kind == "iso19794-2":
        record = iso19794_2.decode(data)
        return {
            "format": record.standard,
            "header": {
                "record_length": record.record_length,
                "cbeff_product_id": record.cbeff_product_id,
                "capture_equipment_compliance": record.equipment_compliance,
                "capture_equipment_id": record.equipment_id,
                "image_width": record.width,
                "image_height": record.height,
                "x_resolution_px_per_cm": record.x_resolution,
                "y_resolution_px_per_cm": record.y_resolution,
                "resolution_dpi": [
                    iso19794_2.px_per_cm_to_dpi(record.x_resolution),
                    iso19794_2.px_per_cm_to_dpi(record.y_resolution),
                ],
                "number_of_views": len(record.views),
                "warnings": list(record.warnings),
            },
            "views": [_iso_view(v, record.angle_step_degrees) for v in record.views],
        }
    sets = storage.loads(data)
    return {
        "format": f"satupintu-v{storage.VERSION}",
        "header": {"length": len(data), "number_of_views": len(sets)},
        "views": [_set_view(s) for s in sets],
    }


def _iso_view(view: iso19794_2.IsoView, angle_step: float) -> dict[str, Any]:
    return {
        "finger_position": view.finger_position,
        "view_number": view.view_number,
        "impression_type": view.impression_type,
        "impression_type_name": iso19794_2.IMPRESSION_TYPES.get(view.impression_type, "reserved"),
        "finger_quality": view.quality,
        "minutia_count": len(view),
        "minutiae": [
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
        ],
        "extended_data": [_extended_block(b) for b in view.extended],
    }


def _extended_block(block: iso19794_2.ExtendedBlock) -> dict[str, Any]:
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
