"""Training platform, images: what an image dataset costs to decode and a ResNet-18 epoch to train.

One seeded set of ``--images`` images (default 2,000) of ``--size`` x ``--size`` pixels (64) in
``--classes`` classes (10): a noisy dark background with a square of the class's colour at a random
place. It is measured as

- ``decode``: the set as a ZIP of PNG files in class folders, read by the image dataset job's reader
  (``read_image_zip``: unzip, decode, convert to RGB, resize), best of ``--repeat``;
- ``epoch``: seconds per epoch of the ``resnet18`` trainer (80% of the images train, 20% validate,
  batch 32, Adam) at each ``--widths`` (``base_width``), on the CPU and, when there is one, on CUDA
  (skipped with a message otherwise). An epoch here is the trainer's: one pass over the training
  images plus the per-epoch metrics (the training sample and the validation images predicted once).
  The first epoch (warm-up) is shown apart from the mean of the others, with the CPU seconds the
  process used per epoch (all its threads together: on a busy machine wall seconds grow, these less).

Results go to stdout and, as JSON, to benchmarks/results/bench_training_images.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 42


def make_images(count: int, size: int, classes: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    colours = rng.integers(64, 256, (classes, 3))
    images = rng.integers(0, 60, (count, size, size, 3), dtype=np.uint8)
    labels = np.arange(count) % classes
    side = size // 3
    for i, label in enumerate(labels):
        row, col = rng.integers(0, size - side, 2)
        images[i, row : row + side, col : col + side] = colours[label]
    return images, labels


def make_zip(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    from PIL import Image

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for i, (pixels, label) in enumerate(zip(images, labels, strict=True)):
            out = io.BytesIO()
            Image.fromarray(pixels).save(out, format="PNG")
            archive.writestr(f"set/class{label}/{i}.png", out.getvalue())


def decode_seconds(path: Path, size: int, repeat: int) -> float:
    from pipelines.datasets.images import ImageLimits, read_image_zip

    limits = ImageLimits(size, size, max_images=1_000_000, max_pixels=10**8, max_unzipped_bytes=10**10)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        read_image_zip(path, origin=path.name, limits=limits)
        times.append(time.perf_counter() - start)
    return min(times)


def epoch_seconds(data: Any, width: int, epochs: int, device: str) -> dict[str, Any]:
    from pipelines.learning.base import EarlyStopping
    from pipelines.learning.registry import MODEL_TYPES

    marks, cpu = [time.perf_counter()], [time.process_time()]

    def on_epoch(epoch: int, total: int, metrics: Any) -> None:
        if device.startswith("cuda"):
            import torch

            torch.cuda.synchronize()
        marks.append(time.perf_counter())
        cpu.append(time.process_time())

    hp = {"base_width": width, "epochs": epochs, "batch_size": 32, "learning_rate": 0.001}
    fitted = MODEL_TYPES["resnet18"].trainer(data, hp, EarlyStopping(), on_epoch, device=device)
    spans, cpu_spans = np.diff(marks), np.diff(cpu)
    return {
        "cpu_seconds_per_epoch": float(cpu_spans[1:].mean()) if len(cpu_spans) > 1 else float(cpu_spans[0]),
        "first_epoch_seconds": float(spans[0]),
        "seconds_per_epoch": float(spans[1:].mean()) if len(spans) > 1 else float(spans[0]),
        "val_accuracy": fitted.history["val_accuracy"][-1],
        "parameters": fitted.parameters,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=2_000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--widths", type=int, nargs="+", default=[64, 16])
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run (the first is warm-up)")
    parser.add_argument("--repeat", type=int, default=3, help="best of N for decoding")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE.parent))
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    from pipelines.learning.base import TrainData
    from pipelines.learning.data import split_rows

    images, labels = make_images(args.images, args.size, args.classes)
    results: dict[str, Any] = {
        "seed": SEED,
        "images": args.images,
        "size": args.size,
        "classes": args.classes,
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "cores_available": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        },
        "runs": [],
    }
    with tempfile.TemporaryDirectory(prefix="tradeforge-bench-") as tmp:
        path = Path(tmp) / "images.zip"
        make_zip(path, images, labels)
        results["zip_megabytes"] = path.stat().st_size / 1e6
        results["decode_seconds"] = decode_seconds(path, args.size, args.repeat)
    print(f"{args.images:,} images {args.size}x{args.size}, {args.classes} classes, seed {SEED}")
    print(
        f"decode the ZIP ({results['zip_megabytes']:.1f} MB of PNG): {results['decode_seconds']:.2f} s",
        flush=True,
    )
    train, val = split_rows(len(labels), 0.2, seed=SEED, stratify=labels.astype(np.int64))
    x = images.astype(np.float32) / 255.0
    classes = tuple(f"class{c}" for c in range(args.classes))
    data = TrainData("classification", x[train], labels[train], x[val], labels[val], (), classes)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    if not torch.cuda.is_available():
        print("CUDA: skipped, no CUDA device here")
    header = f"{'device':<8}{'base_width':>11}{'parameters':>12}{'first epoch s':>15}{'s / epoch':>11}"
    print(f"{header}{'CPU s / epoch':>15}{'val acc':>9}", flush=True)
    for device in devices:
        for width in args.widths:
            run = {"device": device, "base_width": width, **epoch_seconds(data, width, args.epochs, device)}
            results["runs"].append(run)
            print(
                f"{device:<8}{width:>11}{run['parameters']:>12,}{run['first_epoch_seconds']:>15.2f}"
                f"{run['seconds_per_epoch']:>11.2f}{run['cpu_seconds_per_epoch']:>15.2f}"
                f"{run['val_accuracy']:>9.3f}",
                flush=True,
            )
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "bench_training_images.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
