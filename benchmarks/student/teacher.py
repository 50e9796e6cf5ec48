"""`python -m benchmarks.student.teacher OUT FOLDER...`: the teacher's answers to learn from.

For every image of the labelled FOLDERs (FVC layout) it writes one `.npz` to OUT holding
the 500 dpi finger crop the networks see (`image`, uint8, sides multiples of 32), the
classical foreground mask over the same crop (`mask`) and LEADER's minutiae in the crop's
frame (`points`: x, y, direction in radians, 1 for an ending, score). Resolutions come from
`--dpi` / `--dpi-file` / `dataset.json` exactly as in the benchmarks. The datasets
themselves are never copied into the project: OUT is a scratch folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer
from rich.progress import track

from benchmarks import resolution
from matcher.fingerprint import learned
from matcher.fingerprint.extract import analyse
from matcher.fingerprint.image import load

app = typer.Typer(add_completion=False)


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in {".tif", ".png", ".bmp"})


@app.command()
def main(
    out: Path,
    folders: list[Path],
    dpi: resolution.DpiOption = None,
    dpi_file: resolution.DpiFileOption = None,
) -> None:
    """Write the teacher's minutiae for every image of FOLDERS into OUT."""
    resolutions = resolution.parse(dpi or [], dpi_file)
    out.mkdir(parents=True, exist_ok=True)
    work = [(f, p) for f in folders for p in _images(f)]
    for folder, path in track(work, description="teacher"):
        finger = load(
            path.read_bytes(),
            resolution_dpi=resolutions.of(f"{folder.parent.name}/{folder.name}", folder),
        )
        mask = analyse(finger.pixels).mask
        image, top, left = learned.network_input(finger.pixels, mask)
        found = learned.detect(finger.pixels, mask)
        crop_mask = np.zeros(image.shape, dtype=bool)
        region = mask[top : top + image.shape[0], left : left + image.shape[1]]
        crop_mask[: region.shape[0], : region.shape[1]] = region
        points = np.stack(
            [found.x - left, found.y - top, found.angle, found.ending, found.score], axis=1
        )
        name = f"{folder.parent.name}_{folder.name}_{path.stem}.npz"
        np.savez_compressed(
            out / name,
            image=np.clip(np.rint(image), 0, 255).astype(np.uint8),
            mask=crop_mask,
            points=points.astype(np.float32),
        )


if __name__ == "__main__":
    app()
