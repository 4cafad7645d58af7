"""One upload's decoding stays under 200 MB, measured on the worst images the checks accept.

Each image is checked in a process of its own, whose peak resident memory (Linux's VmHWM) is
read before and after: the growth is what the check held at its worst. ru_maxrss would not do:
Linux carries it over from the forking process across exec, so the child would start at this
test process's own peak. The images are made here, so that making them does not count.
"""
from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.documents.test_materials import LIMIT, TOO_MANY_PIXELS, bmp_rle8

BUDGET = 200_000_000  # bytes
ROOT = Path(__file__).resolve().parents[2]
CHECK = """
import json, sys
from documents.materials import InvalidUpload, check_image

def peak():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))

data = open(sys.argv[1], "rb").read()
before = peak()
try:
    image = check_image(data, int(sys.argv[2]))
    outcome = [image.width, image.height]
except InvalidUpload as refused:
    outcome = str(refused)
print(json.dumps({"before": before, "grown_bytes": peak() - before, "outcome": outcome}))
"""


def _encoded(mode: str, size: tuple[int, int], color, fmt: str, **save) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, fmt, **save)
    return out.getvalue()


# The most each format holds while decoded: 25 megapixels at 4 bytes each (Pillow keeps RGB in
# 4 bytes too), a palette image that becomes RGB, and JPEGs whose decoder also keeps every DCT
# coefficient (progressive), up to the most that is still accepted (4:4:4 and CMYK).
WORST_ACCEPTED = {
    "PNG RGBA 25 MP": lambda: _encoded("RGBA", (5000, 5000), (10, 20, 30, 128), "PNG"),
    "PNG RGB 25 MP": lambda: _encoded("RGB", (5000, 5000), (10, 20, 30), "PNG"),
    "BMP RLE 25 MP": lambda: bmp_rle8(5000, 5000),
    "JPEG 25 MP": lambda: _encoded("RGB", (5000, 5000), (10, 200, 30), "JPEG"),
    "progressive JPEG 25 MP": lambda: _encoded("RGB", (5000, 5000), (10, 200, 30), "JPEG", progressive=True),
    "progressive JPEG 4:4:4 18 MP": lambda: _encoded("RGB", (4240, 4240), (10, 200, 30), "JPEG",
                                                     progressive=True, subsampling=0),
    "progressive JPEG CMYK 15 MP": lambda: _encoded("CMYK", (3870, 3870), (10, 200, 30, 4), "JPEG",
                                                    progressive=True),
}


def checked_in_own_process(data: bytes, folder: Path) -> dict:
    path = folder / "upload"
    path.write_bytes(data)
    done = subprocess.run([sys.executable, "-c", CHECK, str(path), str(LIMIT)], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/status")
@pytest.mark.parametrize("name", WORST_ACCEPTED)
def test_the_worst_accepted_image_is_decoded_in_under_200_mb(name, tmp_path):
    data = WORST_ACCEPTED[name]()
    assert len(data) <= LIMIT
    result = checked_in_own_process(data, tmp_path)
    assert isinstance(result["outcome"], list) and max(result["outcome"]) == 3508
    assert result["grown_bytes"] < BUDGET, f"{name}: {result['grown_bytes'] / 1e6:.0f} MB"


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/status")
@pytest.mark.parametrize("name, make", [
    ("the issue's 6,300 x 6,300 PNG", lambda: _encoded("1", (6300, 6300), 1, "PNG")),
    ("progressive JPEG 4:4:4 25 MP", lambda: _encoded("RGB", (5000, 5000), (10, 200, 30), "JPEG",
                                                      progressive=True, subsampling=0)),
])
def test_what_would_need_more_is_refused_from_the_header(name, make, tmp_path):
    result = checked_in_own_process(make(), tmp_path)
    assert result["outcome"] == TOO_MANY_PIXELS
    assert result["grown_bytes"] < 5_000_000, f"{name}: {result['grown_bytes'] / 1e6:.0f} MB"
