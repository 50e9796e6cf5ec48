"""Snapshot files of an identifier, and start-up: load + replay, or rebuild from the database.

Format (little-endian): the magic `SPINDEX\\0`, a u32 format version, a u32 header length,
a JSON header (encoder name, template codec name, code length, index type, last event id,
array lengths), the arrays (sample person ids, region keys, positions, template lengths,
template bytes, code ids, codes, IVF centroids), and a SHA-256 of everything before it.
Files are written to a temporary name and renamed, so a crash never leaves a half-written
snapshot under the real name. Anything unexpected — other magic or version, another encoder
or template codec, a checksum or length mismatch — raises `SnapshotError`: the caller
rebuilds from the database instead of serving a gallery that may be wrong.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import struct
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Literal

import numpy as np

from matcher.index.base import Enrolment, IndexEvent, ProgressCallback, SnapshotError, T
from matcher.index.binary import BinaryIdentifier
from matcher.index.gallery import GalleryRows

MAGIC = b"SPINDEX\0"
FORMAT_VERSION = 1
_U32 = struct.Struct("<I")
_DIGEST = 32


def codec_name(identifier: BinaryIdentifier[Any]) -> str:
    """The stored template form: templates of another codec would be misread, not refused."""
    return str(getattr(identifier.codec, "name", type(identifier.codec).__name__))


def save_snapshot(identifier: BinaryIdentifier[Any], path: Path) -> int:
    """Write a consistent snapshot atomically; returns the last event id it contains."""
    rows = identifier.export_rows()
    centroids = identifier.ivf_centroids()
    lengths = np.array([len(t) for t in rows.templates], dtype="<u4")
    arrays: list[bytes] = [
        rows.person_ids.astype("<i8").tobytes(),
        rows.region_keys.astype("<i8").tobytes(),
        rows.positions.astype("<i8").tobytes(),
        lengths.tobytes(),
        b"".join(rows.templates),
        rows.code_ids.astype("<i8").tobytes(),
        np.ascontiguousarray(rows.codes, dtype=np.uint8).tobytes(),
        b"" if centroids is None else np.ascontiguousarray(centroids).tobytes(),
    ]
    header = json.dumps(
        {
            "encoder": identifier.encoder.name,
            "codec": codec_name(identifier),
            "code_bytes": identifier.encoder.code_bytes,
            "index_type": identifier.settings.index_type,
            "last_event_id": rows.last_event_id,
            "samples": len(rows.person_ids),
            "codes": len(rows.code_ids),
            "centroids": 0 if centroids is None else len(centroids),
            "sizes": [len(a) for a in arrays],
        }
    ).encode()
    body = MAGIC + _U32.pack(FORMAT_VERSION) + _U32.pack(len(header)) + header
    digest = hashlib.sha256(body)
    for part in arrays:
        digest.update(part)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A temporary name of its own: gateway processes sharing a data directory save the same
    # snapshot when they stop together, and a shared "<name>.tmp" let one rename the other's.
    with tempfile.NamedTemporaryFile(
        "wb", dir=path.parent, prefix=path.name + ".", suffix=".tmp", delete=False
    ) as f:
        tmp = Path(f.name)
        try:
            f.write(body)
            for part in arrays:
                f.write(part)
            f.write(digest.digest())
            f.flush()
            os.fsync(f.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    os.replace(tmp, path)
    return rows.last_event_id


def read_snapshot(path: Path) -> tuple[dict[str, Any], GalleryRows, np.ndarray | None]:
    """Parse and verify a snapshot file; raises `SnapshotError` on any mismatch."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SnapshotError(
            f"snapshot {path} cannot be read: {exc}", code="snapshot_missing"
        ) from exc
    head = len(MAGIC) + 2 * _U32.size
    if len(data) < head + _DIGEST or not data.startswith(MAGIC):
        raise SnapshotError(f"{path} is not an index snapshot", code="snapshot_corrupt")
    (version,) = _U32.unpack_from(data, len(MAGIC))
    if version != FORMAT_VERSION:
        raise SnapshotError(
            f"snapshot format {version} is not the supported {FORMAT_VERSION}",
            code="snapshot_version",
        )
    if hashlib.sha256(data[:-_DIGEST]).digest() != data[-_DIGEST:]:
        raise SnapshotError(f"snapshot {path} fails its checksum", code="snapshot_corrupt")
    (header_len,) = _U32.unpack_from(data, len(MAGIC) + _U32.size)
    try:
        header = json.loads(data[head : head + header_len])
        sizes = [int(s) for s in header["sizes"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise SnapshotError(
            f"snapshot header is unreadable: {exc}", code="snapshot_corrupt"
        ) from exc
    if head + header_len + sum(sizes) + _DIGEST != len(data):
        raise SnapshotError("snapshot length disagrees with its header", code="snapshot_corrupt")
    parts, offset = [], head + header_len
    for size in sizes:
        parts.append(data[offset : offset + size])
        offset += size
    code_bytes = int(header["code_bytes"])
    lengths = np.frombuffer(parts[3], dtype="<u4")
    bounds = np.r_[0, np.cumsum(lengths, dtype=np.int64)]
    blob = parts[4]
    rows = GalleryRows(
        person_ids=np.frombuffer(parts[0], dtype="<i8").astype(np.int64),
        region_keys=np.frombuffer(parts[1], dtype="<i8").astype(np.int64),
        positions=np.frombuffer(parts[2], dtype="<i8").astype(np.int64),
        templates=[blob[a:b] for a, b in itertools.pairwise(bounds.tolist())],
        code_ids=np.frombuffer(parts[5], dtype="<i8").astype(np.int64),
        codes=np.frombuffer(parts[6], dtype=np.uint8).reshape(-1, code_bytes),
        last_event_id=int(header["last_event_id"]),
    )
    centroids = (
        np.frombuffer(parts[7], dtype=np.uint8).reshape(-1, code_bytes).copy()
        if header["centroids"]
        else None
    )
    return header, rows, centroids


def load_snapshot(
    path: Path,
    factory: Callable[[np.ndarray | None], BinaryIdentifier[T]],
    *,
    progress: ProgressCallback | None = None,
) -> BinaryIdentifier[T]:
    """A new identifier (from `factory(ivf_centroids)`) filled from a verified snapshot."""
    header, rows, centroids = read_snapshot(path)
    identifier = factory(centroids)
    if header["encoder"] != identifier.encoder.name:
        raise SnapshotError(
            f"snapshot was made with encoder {header['encoder']!r}, "
            f"this index uses {identifier.encoder.name!r}",
            code="snapshot_encoder",
        )
    if header.get("codec") != codec_name(identifier):
        raise SnapshotError(
            f"snapshot holds templates as {header.get('codec')!r}, "
            f"this index stores {codec_name(identifier)!r}",
            code="snapshot_codec",
        )
    if header["index_type"] != identifier.settings.index_type:
        raise SnapshotError(
            f"snapshot holds a {header['index_type']} index, settings ask for "
            f"{identifier.settings.index_type}",
            code="snapshot_index_type",
        )
    identifier.bulk_load(rows, progress=progress)
    return identifier


def rebuild(
    identifier: BinaryIdentifier[T],
    enrolments: Iterable[Enrolment[T]],
    *,
    last_event_id: int,
    total: int | None = None,
    progress: ProgressCallback | None = None,
) -> BinaryIdentifier[T]:
    """Fill an empty identifier from the stored templates (the database's current state,
    read as of `last_event_id`), reporting progress every 1,000 persons."""
    done = 0
    for done, enrolment in enumerate(enrolments, start=1):
        identifier.upsert(enrolment)
        if progress is not None and done % 1000 == 0:
            progress(done, total)
    identifier.mark_applied(last_event_id)
    if progress is not None:
        progress(done, total)
    return identifier


@dataclass(frozen=True)
class Startup(Generic[T]):
    """How an identifier came up: from a snapshot (plus replayed events) or by a rebuild."""

    identifier: BinaryIdentifier[T]
    source: Literal["snapshot", "rebuild"]
    replayed: int
    snapshot_error: SnapshotError | None = None


def open_identifier(
    *,
    snapshot: Path,
    factory: Callable[[np.ndarray | None], BinaryIdentifier[T]],
    events_after: Callable[[int], Iterable[IndexEvent[T]]],
    stored: Callable[[], tuple[int, Iterable[Enrolment[T]], int | None]],
    progress: ProgressCallback | None = None,
) -> Startup[T]:
    """Start-up: load the snapshot and replay the events after it; if the snapshot is
    missing or refused, rebuild from `stored()` (last event id, enrolments, count), then
    replay whatever arrived meanwhile, and write a fresh snapshot."""
    try:
        identifier = load_snapshot(snapshot, factory, progress=progress)
    except SnapshotError as error:
        last, enrolments, total = stored()
        identifier = rebuild(
            factory(None), enrolments, last_event_id=last, total=total, progress=progress
        )
        replayed = identifier.apply(events_after(identifier.last_event_id))
        save_snapshot(identifier, snapshot)
        return Startup(identifier, "rebuild", replayed, error)
    replayed = identifier.apply(events_after(identifier.last_event_id))
    return Startup(identifier, "snapshot", replayed)
