"""Vendor the map's JavaScript and CSS from the npm registry into mzgis/maps/vendor/.

Run by a developer when upgrading (needs npm and the registry); the package then ships the files
and the maps never fetch anything at run time. CSS images are inlined as data URIs so every asset
is one self-contained file. Usage: ``python scripts/vendor_assets.py``.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import tarfile
import tempfile
from pathlib import Path

PACKAGES = {
    "leaflet@1.9.3": {"dist/leaflet.js": "leaflet.js", "dist/leaflet.css": "leaflet.css"},
    "leaflet-search@2.9.7": {"dist/leaflet-search.min.js": "leaflet-search.min.js",
                             "dist/leaflet-search.min.css": "leaflet-search.min.css"},
    "leaflet.markercluster@1.5.3": {"dist/leaflet.markercluster.js": "leaflet.markercluster.js",
                                    "dist/MarkerCluster.css": "MarkerCluster.css",
                                    "dist/MarkerCluster.Default.css": "MarkerCluster.Default.css"},
    # the grouped, collapsible layer control (folium.plugins.GroupedLayerControl)
    "leaflet-groupedlayercontrol@0.6.1": {"dist/leaflet.groupedlayercontrol.min.js": "leaflet.groupedlayercontrol.min.js",
                                          "dist/leaflet.groupedlayercontrol.min.css":
                                              "leaflet.groupedlayercontrol.min.css"},
}
LICENCE_FILES = ("LICENSE", "license.txt", "LICENSE.txt", "MIT-LICENCE.txt", "LICENSE.md")
OUT = Path(__file__).resolve().parents[1] / "mzgis" / "maps" / "vendor"
MIME = {".png": "image/png", ".gif": "image/gif", ".svg": "image/svg+xml", ".jpg": "image/jpeg"}


def inline_urls(css: str, base: Path) -> str:
    def sub(m: re.Match[str]) -> str:
        ref = m.group(1).strip("'\"")
        if ref.startswith(("data:", "#")):
            return m.group(0)
        p = (base / ref).resolve()
        if not p.exists():
            return m.group(0)
        data = base64.b64encode(p.read_bytes()).decode()
        return f"url(data:{MIME[p.suffix.lower()]};base64,{data})"

    return re.sub(r"url\(([^)]+)\)", sub, css)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    notes = ["# Vendored web assets (offline maps)", "",
             "Fetched from the npm registry by `scripts/vendor_assets.py`; CSS images inlined as data URIs.", "",
             "| package | version | licence | files |", "|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for spec, files in PACKAGES.items():
            tgz = subprocess.run(["npm", "pack", spec, "--silent"], cwd=tmp, capture_output=True, text=True,
                                 check=True).stdout.strip().splitlines()[-1]
            root = Path(tmp) / spec.replace("@", "-")
            with tarfile.open(Path(tmp) / tgz) as tf:
                tf.extractall(root, filter="data")
            pkg = root / "package"
            meta = json.loads((pkg / "package.json").read_text())
            for src, dst in files.items():
                text = (pkg / src).read_text(encoding="utf-8")
                if dst.endswith(".css"):
                    text = inline_urls(text, (pkg / src).parent)
                (OUT / dst).write_text(text, encoding="utf-8")
            for lic in LICENCE_FILES:
                if (pkg / lic).exists():
                    (OUT / f"LICENSE-{meta['name']}.txt").write_text((pkg / lic).read_text(encoding="utf-8"),
                                                                     encoding="utf-8")
                    break
            notes.append(f"| {meta['name']} | {meta['version']} | {meta.get('license')} | {', '.join(files.values())} |")
    (OUT / "LICENSES.md").write_text("\n".join(notes) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
