"""GeoPackage geometry blobs read back: the WKB inside (``GP`` header and envelope skipped). Used
by the GeoPackage store and by the decoding of geometries any back end hands back."""

from __future__ import annotations

__all__ = ["blob_wkb"]

#: envelope size in bytes by the envelope indicator of the header flags (GeoPackage 1.3, §2.1.3)
_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


def blob_wkb(blob: bytes) -> bytes:
    """The WKB inside a GeoPackage geometry blob (header and envelope skipped)."""
    flags = blob[3]
    return blob[8 + _ENVELOPE_BYTES.get((flags >> 1) & 7, 0):]
