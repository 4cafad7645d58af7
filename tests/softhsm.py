"""A SoftHSM2 token store of the test run: tokens made with softhsm2-util, used through
python-pkcs11 as the signing service and the station use a real token."""
from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
USER_PIN = "123456"
SO_PIN = "12345678"


class SoftHsm:
    def __init__(self, conf: Path):
        self.conf = conf
        self.module = MODULE

    def init_token(self, label: str, *, pin: str = USER_PIN, so_pin: str = SO_PIN) -> str:
        """A new token labelled `label` in a free slot; its label."""
        subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--so-pin", so_pin,
                        "--pin", pin], check=True, capture_output=True,
                       env={**os.environ, "SOFTHSM2_CONF": str(self.conf)})
        return label


@contextmanager
def token_store(folder: Path) -> Iterator[SoftHsm]:
    """SOFTHSM2_CONF points at a store in `folder` while inside, for this process and the tools
    it runs: SoftHSM2 reads the variable when python-pkcs11 loads it (once per process), and
    without it tokens land in /var/lib/softhsm/tokens."""
    (folder / "tokens").mkdir(parents=True)
    conf = folder / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    try:
        yield SoftHsm(conf)
    finally:
        if previous is None:
            del os.environ["SOFTHSM2_CONF"]
        else:
            os.environ["SOFTHSM2_CONF"] = previous
