"""Write ``seeds/digits.csv``: scikit-learn's digits as 8-bit grey PNGs, one row per image.

    python -m training.digits_seed [--out seeds/digits.csv]

Each image's pixel is round(value × 255 / 16) (the 0..16 values as 8-bit grey); ``split`` marks the
rows training held out, so the predictions can be scored on images the model never saw.
"""

from __future__ import annotations

import argparse
import base64
import csv
from collections.abc import Iterator, Sequence
from pathlib import Path

from training.data import digits_pixels, digits_split
from training.preprocess import encode_png

COLUMNS = ("digit_id", "label", "split", "image_png_base64")


def digits_rows() -> Iterator[tuple[int, int, str, str]]:
    pixels, labels = digits_pixels()
    _, test = digits_split(labels)
    held_out = set(test.tolist())
    for index, (image, label) in enumerate(zip(pixels, labels, strict=True)):
        split = "test" if index in held_out else "train"
        yield index, int(label), split, base64.b64encode(encode_png(image)).decode("ascii")


def write_seed(path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(digits_rows())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("seeds/digits.csv"))
    write_seed(parser.parse_args(argv).out)


if __name__ == "__main__":
    main()
