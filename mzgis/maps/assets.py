"""Offline assets: the vendored Leaflet and plugin files, inlined into the pages that need them.

folium pages reference their JavaScript and CSS on CDNs. :func:`inline_assets` replaces every
such reference with the vendored file's content (``mzgis/maps/vendor``, fetched once from the npm
registry with their licences, see ``LICENSES.md`` there), drops the libraries mzgis maps do not use
(jQuery, Bootstrap, Font Awesome, awesome-markers), and refuses to return a page that would still
load anything from the network.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from importlib import resources

from mzgis.errors import MzgisError

__all__ = ["VENDORED", "external_references", "inline_assets", "vendored"]

#: URL file name → vendored file.
VENDORED = {
    "leaflet.js": "leaflet.js",
    "leaflet.css": "leaflet.css",
    "leaflet-search.min.js": "leaflet-search.min.js",
    "leaflet-search.min.css": "leaflet-search.min.css",
    "leaflet.markercluster.js": "leaflet.markercluster.js",
    "MarkerCluster.css": "MarkerCluster.css",
    "MarkerCluster.Default.css": "MarkerCluster.Default.css",
    "leaflet.groupedlayercontrol.min.js": "leaflet.groupedlayercontrol.min.js",
    "leaflet.groupedlayercontrol.min.css": "leaflet.groupedlayercontrol.min.css",
}

#: Libraries folium adds by default that mzgis maps do not use.
_DROP = ("jquery", "bootstrap", "awesome-markers", "awesome_markers", "fontawesome", "glyphicons",
         "leaflet.awesome.rotate")


@cache
def vendored(name: str) -> str:
    """The text of a vendored asset."""
    return (resources.files("mzgis.maps") / "vendor" / name).read_text(encoding="utf-8")


_SCRIPT = re.compile(r'<script\s+src="(https?:)?//[^"]+"\s*>\s*</script>', re.I)
_LINK = re.compile(r'<link\s+rel="stylesheet"\s+href="(https?:)?//[^"]+"\s*/?>', re.I)


def _url(tag: str) -> str:
    m = re.search(r'(?:src|href)="([^"]+)"', tag)
    return m.group(1) if m else ""


def inline_assets(html: str) -> str:
    """Inline vendored assets into a folium page; raise if any network reference remains."""

    def replace(tag: str) -> Callable[[re.Match[str]], str]:
        def sub(m: re.Match[str]) -> str:
            url = _url(m.group(0))
            name = url.rsplit("/", 1)[-1]
            if name in VENDORED:
                return f"<{tag}>/* {name} (vendored) */\n{vendored(VENDORED[name])}\n</{tag}>"
            if any(d in url.lower() for d in _DROP):
                return ""
            return m.group(0)

        return sub

    out = _SCRIPT.sub(replace("script"), html)
    out = _LINK.sub(replace("style"), out)
    left = external_references(out)
    if left:
        msg = f"map page would load from the network: {left[:5]}; vendor these assets (scripts/vendor_assets.py)"
        raise MzgisError(msg)
    return out


def external_references(html: str) -> list[str]:
    """URLs in ``src=`` / ``href=`` attributes of script, link and img tags that point off the page."""
    refs = re.findall(r'<(?:script|link|img)[^>]*(?:src|href)="((?:https?:)?//[^"]+)"', html, flags=re.I)
    return refs
