"""`python -m benchmarks.student.train TEACHER OUT.onnx`: distil LEADER into the student.

Data recipe: TEACHER is a folder written by `benchmarks.student.teacher` (LEADER's minutiae
on the finger crops of some labelled sets; the shipped model used FVC2002 DB1–DB4 B, 320
images, and was judged on FVC2000 DB1–DB3 B, which it never saw). Each step draws random
crops of the images and changes them as a different sensor or finger would: rescaled by
±15 % (resolution), mirrored (directions mirrored with them), contrast, gamma, blur and
noise. Targets at half resolution: a Gaussian bump (σ = 1 cell = 2 px) per teacher minutia
for the detection map (penalty-reduced focal loss), and the direction's cosine and sine and
the minutia type where a bump is high. Training stops after `--minutes` of wall time and
exports the network to ONNX (the shape the extractor loads), with the detection threshold
that best agrees with the teacher on the training images written beside it.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Annotated

import cv2
import numpy as np
import torch
import typer
from numpy.typing import NDArray
from torch.nn import functional as F

from benchmarks.student.network import Student
from matcher.fingerprint.student import decode, normalise

app = typer.Typer(add_completion=False)

CROP = 160
SIGMA = 1.0
# Bumps above this carry the direction and type targets.
ATTRIBUTE_AT = 0.5
# A student minutia agrees with a teacher minutia within this distance (px at 500 dpi).
AGREE_PX = 8.0

Sample = tuple[NDArray[np.float32], NDArray[np.float32]]


def _load(folder: Path) -> list[Sample]:
    data = []
    for path in sorted(folder.glob("*.npz")):
        with np.load(path) as z:
            data.append((z["image"].astype(np.float32), z["points"].astype(np.float32)))
    return data


def _augment(
    image: NDArray[np.float32], points: NDArray[np.float32], rng: np.random.Generator
) -> Sample:
    """One random crop of one image, changed as another sensor or finger would change it."""
    scale = float(rng.uniform(0.85, 1.15))
    img = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    pts = points.copy()
    pts[:, :2] *= scale
    if rng.random() < 0.5:  # mirror left-right: x -> W - 1 - x, direction -> π - direction
        img = img[:, ::-1]
        pts[:, 0] = img.shape[1] - 1 - pts[:, 0]
        pts[:, 2] = math.pi - pts[:, 2]
    if rng.random() < 0.5:  # mirror top-bottom: direction -> -direction
        img = img[::-1, :]
        pts[:, 1] = img.shape[0] - 1 - pts[:, 1]
        pts[:, 2] = -pts[:, 2]
    pad_y, pad_x = max(0, CROP - img.shape[0]), max(0, CROP - img.shape[1])
    if pad_y or pad_x:
        img = np.pad(img, ((0, pad_y), (0, pad_x)), mode="edge")
    top = int(rng.integers(0, img.shape[0] - CROP + 1))
    left = int(rng.integers(0, img.shape[1] - CROP + 1))
    img = np.ascontiguousarray(img[top : top + CROP, left : left + CROP])
    pts = pts - np.array([left, top, 0, 0, 0], dtype=np.float32)
    inside = (pts[:, 0] >= 0) & (pts[:, 0] < CROP) & (pts[:, 1] >= 0) & (pts[:, 1] < CROP)
    pts = pts[inside]
    unit = np.clip(img / 255.0, 0, 1).astype(np.float32) ** float(rng.uniform(0.6, 1.6))
    unit = (unit - 0.5) * float(rng.uniform(0.5, 1.4)) + 0.5 + float(rng.uniform(-0.15, 0.15))
    if rng.random() < 0.3:
        unit = cv2.GaussianBlur(unit.astype(np.float32), (0, 0), float(rng.uniform(0.5, 1.2)))
    unit = unit + rng.normal(0, float(rng.uniform(0, 0.06)), unit.shape).astype(np.float32)
    return normalise(np.clip(unit * 255.0, 0, 255)), pts


def _targets(points: NDArray[np.float32], size: int) -> NDArray[np.float32]:
    """(5, size, size): bump map, cos, sin, ending, attribute weight, at half resolution."""
    t = np.zeros((5, size, size), dtype=np.float32)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    for x, y, angle, ending, _ in points:
        cx, cy = (x - 0.5) / 2.0, (y - 0.5) / 2.0
        bump = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * SIGMA**2))
        closer = bump > t[0]
        t[0] = np.maximum(t[0], bump)
        where = closer & (bump > ATTRIBUTE_AT)
        t[1][where], t[2][where], t[3][where] = math.cos(angle), math.sin(angle), ending
        t[4][where] = 1.0
    peak_y = np.clip(np.rint((points[:, 1] - 0.5) / 2), 0, size - 1).astype(int)
    peak_x = np.clip(np.rint((points[:, 0] - 0.5) / 2), 0, size - 1).astype(int)
    t[0][peak_y, peak_x] = 1.0
    return t


def _loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    heat, cos, sin, ending, weight = target.unbind(1)
    p = torch.sigmoid(out[:, 0]).clamp(1e-4, 1 - 1e-4)
    positive = heat.eq(1.0).float()
    focal = -(
        positive * (1 - p) ** 2 * torch.log(p)
        + (1 - positive) * (1 - heat) ** 4 * p**2 * torch.log(1 - p)
    ).sum() / positive.sum().clamp(min=1.0)
    direction = F.normalize(out[:, 1:3], dim=1)
    angle = (weight * ((direction[:, 0] - cos) ** 2 + (direction[:, 1] - sin) ** 2)).sum()
    kind = (weight * F.binary_cross_entropy_with_logits(out[:, 3], ending, reduction="none")).sum()
    return focal + (angle + 0.5 * kind) / weight.sum().clamp(min=1.0)


def _agreement(model: Student, data: list[Sample], threshold: float) -> float:
    """F1 of the student's minutiae against the teacher's (within `AGREE_PX`)."""
    hits = found = wanted = 0
    with torch.no_grad():
        for image, points in data:
            out = model(torch.from_numpy(normalise(image))[None, None]).numpy()[0]
            found_now = decode(out, threshold)
            xs, ys = found_now.x, found_now.y
            found, wanted = found + len(xs), wanted + len(points)
            if len(xs) and len(points):
                d = np.hypot(xs[:, None] - points[None, :, 0], ys[:, None] - points[None, :, 1])
                hits += int((d.min(axis=1) <= AGREE_PX).sum())
    precision, recall = hits / max(found, 1), hits / max(wanted, 1)
    return 2 * precision * recall / max(precision + recall, 1e-9)


@app.command()
def main(
    teacher: Path,
    out: Path,
    minutes: Annotated[float, typer.Option(help="Wall-clock training budget.")] = 30.0,
    batch: int = 16,
    seed: int = 0,
    threads: int = 2,
) -> None:
    """Train the student on the teacher's answers in TEACHER; write OUT (ONNX) and OUT.json."""
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    rng = np.random.default_rng(seed)
    data = _load(teacher)
    # Channels-last runs the convolutions two to three times faster on the CPU.
    model = Student().to(memory_format=torch.channels_last)  # type: ignore[call-overload, unused-ignore]
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    start, step, budget = time.monotonic(), 0, minutes * 60
    while (elapsed := time.monotonic() - start) < budget:
        for group in optimiser.param_groups:
            group["lr"] = 3e-3 * 0.5 * (1 + math.cos(math.pi * min(elapsed / budget, 1.0)))
        picks = rng.integers(0, len(data), batch)
        samples = [_augment(data[i][0], data[i][1], rng) for i in picks]
        x = torch.from_numpy(np.stack([s[0] for s in samples]))[:, None].contiguous(
            memory_format=torch.channels_last
        )
        y = torch.from_numpy(np.stack([_targets(s[1], CROP // 2) for s in samples]))
        model.train()
        loss = _loss(model(x), y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        step += 1
        if step % 50 == 0:
            print(f"step {step} {elapsed / 60:.1f} min loss {loss.item():.4f}", flush=True)
        if step % 500 == 0:
            torch.save(model.state_dict(), out.with_suffix(".pt"))
    model.eval()
    torch.save(model.state_dict(), out.with_suffix(".pt"))
    thresholds = [0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6]
    scored = {t: _agreement(model, data, t) for t in thresholds}
    best = max(scored, key=lambda t: scored[t])
    print("agreement F1 by threshold", scored, flush=True)
    torch.onnx.export(
        model,
        (torch.zeros(1, 1, 64, 64),),
        str(out),
        input_names=["image"],
        output_names=["maps"],
        dynamic_axes={"image": {0: "n", 2: "h", 3: "w"}, "maps": {0: "n", 2: "h2", 3: "w2"}},
        opset_version=17,
        dynamo=False,
    )
    out.with_suffix(".json").write_text(
        json.dumps({"threshold": best, "agreement_f1": scored[best], "steps": step}, indent=1)
    )


if __name__ == "__main__":
    app()
