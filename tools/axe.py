"""axe-core, the accessibility engine the browser tests inject into Charla's pages.

Fetched from npm's registry once, at the pinned version, checked against the registry's
sha512 integrity, and kept in .cache/ (not in the repository): `python -m tools.axe`
prints its path (make test runs it). No Node is needed: only the tarball's axe.min.js.
"""

from __future__ import annotations

import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from pathlib import Path

VERSION = "4.14.1"
TARBALL = f"https://registry.npmjs.org/axe-core/-/axe-core-{VERSION}.tgz"
INTEGRITY = "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / ".cache" / f"axe-core-{VERSION}" / "axe.min.js"


def fetch() -> Path:
    """axe.min.js on disk, downloaded and verified if it is not there yet."""
    if SCRIPT.exists():
        return SCRIPT
    with urllib.request.urlopen(TARBALL, timeout=60) as response:
        data = response.read()
    digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != INTEGRITY:
        raise RuntimeError(f"axe-core {VERSION} from npm does not match its pinned integrity: {digest}")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        script = tar.extractfile("package/axe.min.js").read()
    SCRIPT.parent.mkdir(parents=True, exist_ok=True)
    partial = SCRIPT.with_suffix(".tmp")
    partial.write_bytes(script)
    partial.replace(SCRIPT)
    return SCRIPT


if __name__ == "__main__":
    print(fetch())
    sys.exit(0)
