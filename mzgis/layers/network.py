"""The road network as a layer: a compact array graph built from local OpenStreetMap or lines.

Sources
-------
* OpenStreetMap extracts: ``.osm`` (XML), ``.osm.bz2``, ``.osm.pbf``, read with pyosmium — no
  internet, no Overpass.
* Surveyed road layers (lines in GeoJSON, Shapefile, GeoPackage), for jurisdictions whose
  OpenStreetMap is thin. Lines meet where they share a vertex.

The walk profile
----------------
By default a way is kept exactly when osmnx 2.x's ``network_type="walk"`` would keep it:

* it has a ``highway`` tag and ``area`` is not ``yes``;
* ``highway`` does not match ``abandoned|bus_guideway|construction|cycleway|motor|no|planned|
  platform|proposed|raceway|razed|rest_area|services`` (a regular-expression *search*, as in
  Overpass: ``motor`` also drops ``motorway`` and ``motorway_link``);
* ``foot`` does not match ``no``, ``service`` does not match ``private``;
* ``sidewalk``, ``sidewalk:both``, ``sidewalk:left``, ``sidewalk:right`` do not match
  ``separate`` (the sidewalk is mapped as its own way);

and, beyond osmnx, ``access`` matching ``private`` or ``no`` drops the way unless ``foot`` is
``yes``, ``designated`` or ``permissive`` (osmnx drops only ``access=private``). Every way is
two-way for walking (``oneway`` is ignored).

The graph
---------
Every OSM node (every vertex of a road line) on a kept way is a graph node, and every pair of
consecutive nodes is a straight edge, so an edge's geometry is its two end points and partially
reached edges can be cut exactly. Lengths are metres in the project's metric CRS. Parallel edges
between the same two nodes keep the shortest. The adjacency is held as CSR arrays
(``indptr``, ``indices``, ``weights``), symmetric for walking. Graphs are cached as ``.npz`` under
the workspace's ``cache/`` keyed by the source's SHA-256, the profile and the CRS.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import re
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from pyproj import CRS, Transformer
from tqdm import tqdm

from mzgis.errors import NetworkError

__all__ = [
    "PROFILES",
    "RoadGraph",
    "build_graph",
    "default_workers",
    "graph_from_lines",
    "graph_from_osm",
    "is_osm",
    "load_or_build",
    "osm_bounds",
    "read_osm_ways",
    "walk_way_filter",
]

log = logging.getLogger(__name__)

#: Minimum edge weight in metres. Zero-length OSM segments (two nodes on one spot) keep a tiny
#: positive weight so sparse-graph routines never mistake them for missing edges.
MIN_EDGE_M = 1e-6

_WALK_EXCLUDE_HIGHWAY = re.compile(
    "abandoned|bus_guideway|construction|cycleway|motor|no|planned|platform|proposed|raceway|razed|"
    "rest_area|services"
)
_SEPARATE = re.compile("separate")
_YES = re.compile("yes")
_NO = re.compile("no")
_PRIVATE = re.compile("private")
_PRIVATE_OR_NO = re.compile("private|no")
#: osmium's fixed-point coordinate scale and its "no location" value.
_COORD_PRECISION = 10_000_000
_UNDEFINED_COORD = 2**31 - 1
_FOOT_OK = {"yes", "designated", "permissive"}


def walk_way_filter(tags: Any) -> bool:
    """Return True if a way with these tags belongs to the walking network (see module doc).

    ``tags``: a dict, or anything with ``get(key, default)`` such as pyosmium's ``TagList``."""
    return _walk_keep(tags.get)


def _walk_keep(get: Callable[[str, str | None], str | None]) -> bool:
    """:func:`walk_way_filter` on a tag getter ``get(key, default)``: the reader passes
    pyosmium's own tag look-up, without a ``TagList`` wrapper per call."""
    hw = get("highway", None)
    if hw is None or _WALK_EXCLUDE_HIGHWAY.search(hw):
        return False
    # absent tags (the common case) skip the regular expression: none matches ""
    v = get("area", None)
    if v is not None and _YES.search(v):
        return False
    foot = get("foot", None)
    if foot is not None and _NO.search(foot):
        return False
    v = get("service", None)
    if v is not None and _PRIVATE.search(v):
        return False
    for k in ("sidewalk", "sidewalk:both", "sidewalk:left", "sidewalk:right"):
        v = get(k, None)
        if v is not None and _SEPARATE.search(v):
            return False
    v = get("access", None)
    return v is None or not _PRIVATE_OR_NO.search(v) or foot in _FOOT_OK


PROFILES: dict[str, Callable[[Any], bool]] = {"walk": walk_way_filter}
#: The same filters on a tag getter ``get(key, default)`` (see :func:`_walk_keep`).
_GETTER_FILTERS: dict[str, Callable[[Callable[[str, str | None], str | None]], bool]] = {"walk": _walk_keep}


@dataclass
class RoadGraph:
    """An undirected road graph held as arrays.

    Attributes
    ----------
    x, y
        Node coordinates in ``crs`` (metres).
    node_ids
        OSM node ids (or vertex numbers for line layers).
    u, v, length_m
        One row per undirected edge (``u < v``), straight between its two nodes.
    crs
        The metric CRS (WKT or ``EPSG:n``).
    indptr, indices, weights
        Symmetric CSR adjacency (each edge both ways).
    """

    x: NDArray[np.float64]
    y: NDArray[np.float64]
    node_ids: NDArray[np.int64]
    u: NDArray[np.int32]
    v: NDArray[np.int32]
    length_m: NDArray[np.float64]
    crs: str
    indptr: NDArray[np.int64]
    indices: NDArray[np.int32]
    weights: NDArray[np.float64]
    source: str = ""
    profile: str = "walk"
    dropped_nodes: int = 0
    #: Set by :func:`load_or_build`: the cache file's key and folder, so derived data (snapped
    #: positions) can be cached next to the graph. Not saved.
    cache_key: str = ""
    cache_dir: str = ""

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.x.size)

    @property
    def n_edges(self) -> int:
        """Number of undirected edges."""
        return int(self.u.size)

    def csr(self) -> sp.csr_matrix:
        """The adjacency as a SciPy CSR matrix (lengths in metres)."""
        n = self.n_nodes
        return sp.csr_matrix((self.weights, self.indices, self.indptr), shape=(n, n))

    # -- persistence --------------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write the arrays to an uncompressed ``.npz`` (loads in milliseconds)."""
        np.savez(Path(path), x=self.x, y=self.y, node_ids=self.node_ids, u=self.u, v=self.v,
                 length_m=self.length_m, indptr=self.indptr, indices=self.indices, weights=self.weights,
                 meta=np.array([self.crs, self.source, self.profile, str(self.dropped_nodes)]))

    @classmethod
    def load(cls, path: str | Path) -> RoadGraph:
        """Read a graph written by :meth:`save`."""
        with Path(path).open("rb") as fh, np.load(fh, allow_pickle=False) as z:  # fh: closed on a damaged file too
            meta = [str(s) for s in z["meta"]]
            return cls(z["x"], z["y"], z["node_ids"], z["u"], z["v"], z["length_m"], meta[0], z["indptr"],
                       z["indices"], z["weights"], meta[1], meta[2], int(meta[3]))

    # -- interoperability -----------------------------------------------------------------------------
    def to_networkx(self, *, node_key: str = "osmid") -> Any:
        """The graph as osmnx builds one: a ``networkx.MultiDiGraph`` that ``osmnx.graph_to_gdfs``,
        ``osmnx.convert.graph_to_gdfs`` and the rest of osmnx accept.

        * graph attributes: ``crs`` (this graph's metric CRS), ``simplified`` (False: every OSM
          node is a node), ``created_with``;
        * nodes keyed by OSM node id (``node_key="osmid"``, as osmnx does) or by their position
          ``0 .. n-1`` in this graph's arrays (``node_key="index"``, the numbering the reach engine
          uses, the OSM id then in ``osmid``), with ``x``, ``y`` (in ``crs``) and ``street_count``
          (edges at the node);
        * every undirected edge as two directed edges (walking is two-way), key 0, with ``length``
          (metres), ``geometry`` (a straight ``LineString`` from ``u`` to ``v`` in ``crs``),
          ``oneway`` False and ``reversed`` (False for ``u < v``).

        Shortest-path lengths on it (``weight="length"``) equal the engine's node distances. The
        graph keeps no OSM way ids, so edges have no ``osmid`` and ``osmnx.convert.validate_graph``
        reports that; ``graph_to_gdfs``, ``graph_from_gdfs`` and routing do not need it.
        """
        import networkx as nx
        import shapely

        if node_key not in ("osmid", "index"):
            msg = f"node_key must be 'osmid' or 'index', got {node_key!r}"
            raise NetworkError(msg)
        ids = self.node_ids.astype(np.int64)
        if node_key == "osmid":
            if np.unique(ids).size != ids.size:
                msg = "node ids are not unique: use to_networkx(node_key='index')"
                raise NetworkError(msg)
            keys = ids.tolist()
        else:
            keys = list(range(self.n_nodes))
        g = nx.MultiDiGraph(crs=self.crs, simplified=False, created_with="mzgis")
        streets = np.bincount(np.concatenate([self.u, self.v]), minlength=self.n_nodes).tolist()
        g.add_nodes_from(
            (k, {"x": float(a), "y": float(b), "street_count": int(c)}
             | ({"osmid": int(o)} if node_key == "index" else {}))
            for k, a, b, o, c in zip(keys, self.x.tolist(), self.y.tolist(), ids.tolist(), streets, strict=True))
        xy = np.column_stack([self.x, self.y])
        fwd = shapely.linestrings(np.stack([xy[self.u], xy[self.v]], axis=1))
        back = shapely.linestrings(np.stack([xy[self.v], xy[self.u]], axis=1))
        us = [keys[i] for i in self.u.tolist()]
        vs = [keys[i] for i in self.v.tolist()]
        lengths = self.length_m.tolist()
        g.add_edges_from((a, b, 0, {"length": w, "geometry": geom, "oneway": False, "reversed": False})
                         for a, b, w, geom in zip(us, vs, lengths, fwd, strict=True))
        g.add_edges_from((b, a, 0, {"length": w, "geometry": geom, "oneway": False, "reversed": True})
                         for a, b, w, geom in zip(us, vs, lengths, back, strict=True))
        return g

    @classmethod
    def from_networkx(cls, g: Any, *, weight: str = "length", crs: str | None = None) -> RoadGraph:
        """Build from a networkx or osmnx graph whose nodes carry projected ``x``/``y``.

        Directed and multi-graphs are collapsed to one undirected edge per node pair (shortest).
        """
        crs_s = crs or str(g.graph.get("crs", ""))
        if not crs_s or not CRS.from_user_input(crs_s).is_projected:
            msg = (f"graph CRS {crs_s!r} is not projected; project it first "
                   "(osmnx.project_graph) or pass crs=")
            raise NetworkError(msg)
        nodes = list(g.nodes)
        index = {n: i for i, n in enumerate(nodes)}
        x = np.array([g.nodes[n]["x"] for n in nodes], dtype=float)
        y = np.array([g.nodes[n]["y"] for n in nodes], dtype=float)
        ids = np.array([int(g.nodes[n].get("osmid", n)) if isinstance(g.nodes[n].get("osmid", n), int | np.integer)
                        else i for i, n in enumerate(nodes)], dtype=np.int64)
        us, vs, ws = [], [], []
        for a, b, data in g.edges(data=True):
            us.append(index[a])
            vs.append(index[b])
            ws.append(float(data.get(weight, np.hypot(x[index[a]] - x[index[b]], y[index[a]] - y[index[b]]))))
        return build_graph(x, y, ids, np.array(us), np.array(vs), crs_s, lengths=np.array(ws))


def build_graph(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    node_ids: NDArray[np.int64],
    u: NDArray[Any],
    v: NDArray[Any],
    crs: str,
    *,
    lengths: NDArray[np.float64] | None = None,
    keep_largest: bool = False,
    source: str = "",
    profile: str = "walk",
) -> RoadGraph:
    """Assemble a :class:`RoadGraph` from node coordinates and edge end points.

    Self-loops are dropped; parallel edges keep the shortest; isolated nodes are removed. With
    ``keep_largest`` only the largest connected component is kept and the number of nodes dropped
    is recorded in ``dropped_nodes`` (and logged).
    """
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    length = np.hypot(x[u] - x[v], y[u] - y[v]) if lengths is None else np.asarray(lengths, dtype=float)
    keep = u != v
    u, v, length = u[keep], v[keep], length[keep]
    a, b = np.minimum(u, v), np.maximum(u, v)
    # parallel edges: keep the shortest (NaN only where all are); edges sorted by (a, b) — one
    # sort on a combined key, then the minimum of each run
    pair = a * np.int64(x.size) + b  # < 2**63 for any graph that fits in memory
    order = np.argsort(pair)
    pair = pair[order]
    first = np.ones(pair.size, dtype=bool)
    np.not_equal(pair[1:], pair[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    length = np.fmin.reduceat(length[order], starts) if starts.size else length[:0]
    a, b = a[order[starts]], b[order[starts]]
    # drop isolated nodes and renumber
    used = np.zeros(x.size, dtype=bool)
    used[a] = True
    used[b] = True
    dropped = 0
    if keep_largest and a.size:
        n0 = x.size
        m = sp.coo_matrix((np.ones(a.size), (a, b)), shape=(n0, n0))
        _, labels = sp.csgraph.connected_components(m, directed=False)
        counts = np.bincount(labels[used], minlength=labels.max() + 1)
        big = int(np.argmax(counts))
        in_big = labels == big
        dropped = int(used.sum() - in_big[used].sum())
        used &= in_big
        ek = in_big[a] & in_big[b]
        a, b, length = a[ek], b[ek], length[ek]
        n_comp = int((counts > 0).sum())
        log.info("largest component kept: %d nodes dropped in %d smaller components", dropped, n_comp - 1)
    new_index = np.full(x.size, -1, dtype=np.int64)
    new_index[used] = np.arange(int(used.sum()))
    a, b = new_index[a], new_index[b]
    xs, ys, ids = x[used], y[used], node_ids[used]
    n = xs.size
    if n == 0 or a.size == 0:
        msg = f"路网为空 the network is empty: no walkable edges in {source or 'the input'}"
        raise NetworkError(msg)
    w = np.maximum(length, MIN_EDGE_M)
    indptr, indices, weights = _symmetric_csr(a, b, w, n)
    return RoadGraph(xs.astype(float, copy=False), ys.astype(float, copy=False), ids.astype(np.int64, copy=False),
                     a.astype(np.int32), b.astype(np.int32), length.astype(float, copy=False), crs, indptr,
                     indices, weights, source, profile, dropped)


def _symmetric_csr(a: NDArray[np.int64], b: NDArray[np.int64], w: NDArray[np.float64],
                   n: int) -> tuple[NDArray[np.int64], NDArray[np.int32], NDArray[np.float64]]:
    """The CSR arrays (column indices sorted in each row) of the symmetric matrix with ``w`` at
    ``(a, b)`` and ``(b, a)``, for distinct edges ``a < b`` sorted by ``(a, b)``.

    Built directly: row ``r`` holds first its edges to smaller nodes (``b == r``, ordered by
    ``a``), then those to larger nodes (``a == r``, ordered by ``b``), so one stable sort of ``b``
    places everything; no COO matrix, no duplicate summing, no per-row sort."""
    m = a.size
    lo = np.bincount(b, minlength=n)  # per row: entries left of the diagonal
    hi = np.bincount(a, minlength=n)  # and right of it
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lo + hi, out=indptr[1:])
    indices = np.empty(2 * m, dtype=np.int32)
    weights = np.empty(2 * m, dtype=np.float64)
    ranks = np.arange(m, dtype=np.int64)
    # (a, b): the rows' right parts, already in order; np.repeat of per-row shifts, no gathers
    pos = ranks + np.repeat(indptr[:-1] + lo - (np.cumsum(hi) - hi), hi)
    indices[pos] = b
    weights[pos] = w
    # (b, a): a stable sort by b keeps a ascending within each row
    ob = np.argsort(b, kind="stable")
    pos = ranks + np.repeat(indptr[:-1] - (np.cumsum(lo) - lo), lo)
    indices[pos] = a[ob]
    weights[pos] = w[ob]
    return indptr, indices, weights


def _project(lon: NDArray[np.float64], lat: NDArray[np.float64], crs: CRS) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    tr = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = tr.transform(lon, lat)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


#: PBF files at least this big are read by several processes by default; smaller files, and XML
#: (whose parse would be repeated in every process), by one.
PARALLEL_MIN_BYTES = 4_000_000
#: The default number of reading processes is one per two idle cores, at most this.
MAX_DEFAULT_WORKERS = 4


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_workers(path: str | Path) -> int:
    """The number of processes :func:`read_osm_ways` uses for ``path`` when ``workers`` is not given.

    One for XML and for PBF files under :data:`PARALLEL_MIN_BYTES`; else one per two idle cores
    (usable cores minus the 1-minute load average), at least one and at most
    :data:`MAX_DEFAULT_WORKERS`. One process already keeps more than one core busy (osmium decodes
    the PBF and writes the ways in threads of its own), and every process decodes the whole file:
    measured on 2 cores, two processes were slower than one even with one core idle (4×4 tiles:
    15.1 s against 10.3 s).
    """
    import multiprocessing as mp

    p = Path(path)
    if not p.name.lower().endswith(".pbf") or p.stat().st_size < PARALLEL_MIN_BYTES:
        return 1
    if mp.current_process().daemon:  # e.g. a Dask worker: may not start processes
        return 1
    cores = _usable_cores()
    try:
        busy = os.getloadavg()[0]
    except (AttributeError, OSError):  # not on Unix
        busy = 0.0
    return max(1, min(MAX_DEFAULT_WORKERS, int((cores - busy) // 2)))


#: One reading process's share: ``(way_seq, way_len, refs, x, y)`` — the kept ways' positions in
#: the file's sequence of highway ways, their node counts, and their nodes' ids and osmium
#: fixed-point coordinates, way after way.
_Part = tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]


class _OplFailed(Exception):
    """The temporary OPL file could not be written or read back (not the input's fault)."""


def _kept_ways(path: str, profile: str, part: int, parts: int, progress: bool) -> Iterator[tuple[int, Any, int]]:
    """``(seq, way, n_nodes)`` for the kept ways (two nodes or more) of the ``part``-th of
    ``parts`` shares of an OSM file's highway ways: those whose position ``seq`` in the file's
    sequence of highway ways is ``part`` modulo ``parts``. Every share decodes the whole file (in
    C++) and looks at the tags of its own ways only. osmium's ``RuntimeError`` passes through."""
    import osmium

    keep = PROFILES[profile]
    keep_get = _GETTER_FILTERS.get(profile)
    fp = osmium.FileProcessor(path, osmium.osm.NODE | osmium.osm.WAY).with_locations()
    # nodes feed the location store and stop in C++; Python sees only the highway ways
    fp = fp.with_filter(osmium.filter.KeyFilter("highway")).with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
    way_type = osmium.osm.Way
    fast = keep_get is not None
    # no tqdm object unless it shows: creating one starts tqdm's monitor thread
    ways = tqdm(fp, desc=f"reading {Path(path).name}", unit=" ways") if progress else fp
    seq = -1
    for obj in ways:
        if not isinstance(obj, way_type):
            continue
        seq += 1
        if seq % parts != part:
            continue
        n = -1
        if fast:
            # pyosmium 4's C objects directly: no TagList wrapper per tag look-up
            try:
                d = obj._pyosmium_data
                if not keep_get(d.tags_get_value_by_key):  # type: ignore[misc]
                    continue
                n = d.nodes().size(d)
            except AttributeError:  # another pyosmium layout: the public interface below
                fast = False
        if n < 0:
            if not keep(obj.tags):
                continue
            n = len(obj.nodes)
        if n >= 2:
            yield seq, obj, n


def _scan_ways(path: str, profile: str, part: int, parts: int, progress: bool, *, opl: bool = True) -> _Part | str:
    """Read a share of the kept ways of an OSM file (see :func:`_kept_ways`).

    A kept way is handed to osmium's OPL writer (C++, its own thread), which writes its node ids
    and locations as text to a temporary file; pandas' C parser turns that into arrays. Unpacking
    each node in Python instead (the fallback when no temporary file can be written, or
    ``opl=False``) costs about twice the whole read.

    Returns the share, or the reader's error message for a file osmium cannot read. Runs in a
    worker process: no exception crosses back for a bad file, only its message.
    """
    import osmium

    seqs: list[int] = []
    with contextlib.ExitStack() as stack:
        opl_out: Any = None
        opl_file = ""
        try:
            if opl:
                opl_file = str(Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mzgis-ways-"))) / "ways.opl")
                opl_out = osmium.SimpleWriter(osmium.io.File(opl_file, "opl,add_metadata=false,locations_on_ways=true"))
        except (OSError, RuntimeError) as exc:
            log.info("no temporary file for the ways (%s): unpacking them in Python", exc)
        if opl_out is None:
            return _scan_ways_in_python(path, profile, part, parts, progress)
        try:
            for seq, obj, _ in _kept_ways(path, profile, part, parts, progress):
                seqs.append(seq)
                try:
                    opl_out.add_way(obj)
                except (OSError, RuntimeError) as exc:  # the temporary file, not the input
                    raise _OplFailed(exc) from exc
            try:
                opl_out.close()
                return (np.array(seqs, dtype=np.int64), *_read_opl_way_nodes(opl_file))
            except (OSError, RuntimeError, ValueError) as exc:
                raise _OplFailed(exc) from exc
        except _OplFailed as exc:
            _close_quietly(opl_out)
            log.info("temporary OPL file failed (%s): unpacking the ways in Python", exc)
        except RuntimeError as exc:
            _close_quietly(opl_out)
            return str(exc)
    return _scan_ways_in_python(path, profile, part, parts, progress)


def _scan_ways_in_python(path: str, profile: str, part: int, parts: int, progress: bool) -> _Part | str:
    """:func:`_scan_ways` unpacking every node in Python (no temporary file)."""
    rows: list[tuple[int, int, int]] = []
    lens: list[int] = []
    seqs: list[int] = []
    try:
        for seq, obj, n in _kept_ways(path, profile, part, parts, progress):
            seqs.append(seq)
            lens.append(n)
            rows.extend([(nd.ref, nd.x, nd.y) for nd in obj.nodes])
    except RuntimeError as exc:
        return str(exc)
    arr = np.array(rows, dtype=np.int64).reshape(-1, 3)
    del rows
    return np.array(seqs, dtype=np.int64), np.array(lens, dtype=np.int64), arr[:, 0].copy(), arr[:, 1].copy(), arr[:, 2].copy()


def _close_quietly(handle: Any) -> None:
    if handle is not None:
        with contextlib.suppress(OSError, RuntimeError):
            handle.close()


#: OPL way nodes ``n<id>x<lon>y<lat>,...`` to CSV rows ``<id>,<lon>,<lat>`` (the ``n`` deleted).
_OPL_TO_CSV = bytes.maketrans(b"xy,", b",,\n")


def _read_opl_way_nodes(path: str) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """``(way_len, refs, x, y)`` from an OPL file of ways written with ``locations_on_ways``.

    A way's line is ``w<id> T<tags> N<nodes>``; the tags escape spaces, so the node list is what
    follows the last `` N``. A node without a location is written ``n<id>xy`` (empty fields: NaN,
    then osmium's "undefined" value). OPL writes a coordinate as the decimal digits of osmium's
    fixed-point integer (trailing zeros dropped), so ``rint(value * 1e7)`` is that integer exactly.
    """
    import pandas as pd

    lines = Path(path).read_bytes().split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    if not lines:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty
    nodes = [ln[ln.rindex(b" N") + 2:] for ln in lines]
    del lines
    lens = np.fromiter((s.count(b",") + 1 for s in nodes), dtype=np.int64, count=len(nodes))
    csv = b"\n".join(nodes).translate(_OPL_TO_CSV, b"n")
    del nodes
    df = pd.read_csv(io.BytesIO(csv), header=None, names=["ref", "x", "y"], engine="c",
                     dtype={"ref": np.int64, "x": np.float64, "y": np.float64})
    del csv
    if len(df) != int(lens.sum()):  # the format is not what this parser expects: fail loudly
        msg = f"OPL way nodes: {len(df)} parsed, {int(lens.sum())} listed"
        raise RuntimeError(msg)

    def fixed(v: NDArray[np.float64]) -> NDArray[np.int64]:
        out = np.full(v.size, _UNDEFINED_COORD, dtype=np.int64)
        ok = ~np.isnan(v)
        out[ok] = np.rint(v[ok] * _COORD_PRECISION)
        return out

    return lens, df["ref"].to_numpy(dtype=np.int64), fixed(df["x"].to_numpy()), fixed(df["y"].to_numpy())


def _merge_parts(shares: list[_Part]) -> _Part:
    """Concatenate shares back into the file's order of ways."""
    if len(shares) == 1:
        return shares[0]
    seq, lens, refs, x, y = (np.concatenate(a) for a in zip(*shares, strict=True))
    order = np.argsort(seq, kind="stable")
    start = np.cumsum(lens) - lens  # each way's first node in the concatenation
    lens = lens[order]
    new_start = np.cumsum(lens) - lens
    take = np.repeat(start[order] - new_start, lens) + np.arange(refs.size)
    return seq[order], lens, refs[take], x[take], y[take]


def _fork_is_safe() -> bool:
    import multiprocessing as mp
    import threading

    if "fork" not in mp.get_all_start_methods():
        return False
    main = threading.main_thread()
    return all(t is main or (t.daemon and type(t).__name__ == "TMonitor") for t in threading.enumerate())


def _scan_parallel(path: str, profile: str, workers: int, progress: bool) -> list[_Part | str]:
    """Run :func:`_scan_ways` over ``workers`` shares: shares 1.. in worker processes, share 0 here.

    Workers are forked when this process runs no other thread than tqdm's monitor (which the
    workers never touch): fork is cheap and needs nothing importable. Otherwise (a notebook's
    kernel, a threaded server) they are spawned, since forking a threaded process can deadlock the
    child; spawning imports the main script again, which must then keep its work under
    ``if __name__ == "__main__":``. Raises ``OSError``/``BrokenProcessPool`` when the processes
    cannot be started or die."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    if mp.current_process().daemon:
        msg = "a daemonic process may not start worker processes"
        raise OSError(msg)
    method = "fork" if _fork_is_safe() else "spawn"
    with ProcessPoolExecutor(max_workers=workers - 1, mp_context=mp.get_context(method)) as pool:
        futures = [pool.submit(_scan_ways, path, profile, r, workers, False) for r in range(1, workers)]
        try:
            mine = _scan_ways(path, profile, 0, workers, progress)
        except BaseException:
            for f in futures:
                f.cancel()
            raise
        return [mine, *(f.result() for f in futures)]


def read_osm_ways(path: str | Path, *, profile: str = "walk", workers: int | None = None) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
    """Read the kept ways of an OSM file.

    ``workers``: the number of processes sharing the work (each decodes the file and handles
    every ``workers``-th way); default :func:`default_workers`. The result does not depend on it.

    Returns
    -------
    tuple
        ``(node_ids, lon, lat, seg_from, seg_to)``: the distinct nodes of kept ways (sorted by id)
        and the consecutive-node segments (in the file's order of ways) as indices into them.
    """
    if profile not in PROFILES:
        msg = f"不认识的路网类型 unknown profile '{profile}'; use one of {', '.join(PROFILES)}"
        raise NetworkError(msg)
    if workers is None:
        workers = default_workers(path)
    elif not isinstance(workers, int | np.integer) or isinstance(workers, bool) or workers < 1:
        msg = f"读取进程数必须是正整数 workers must be a positive whole number, got {workers!r}"
        raise NetworkError(msg)
    workers = int(workers)
    big = Path(path).stat().st_size > 20_000_000
    progress = big and sys.stderr.isatty()
    shares: list[_Part | str] | None = None
    if workers > 1:
        try:
            shares = _scan_parallel(str(path), profile, workers, progress)
        except (OSError, BrokenProcessPool) as exc:
            log.warning("%s: reading in %d processes failed (%s); reading in one", path, workers, exc)
    if shares is None:
        shares = [_scan_ways(str(path), profile, 0, 1, progress)]
    for s in shares:
        if isinstance(s, str):
            msg = f"{path}: 无法读取 OSM cannot read the OpenStreetMap file: {s}"
            raise NetworkError(msg)
    _, lens, refs, xs, ys = _merge_parts([s for s in shares if not isinstance(s, str)])
    n_ways = lens.size
    if not refs.size:
        msg = f"{path}: 没有可步行道路 no walkable ways ({profile} profile) in the file"
        raise NetworkError(msg)
    # osmium's fixed-point coordinates (1e-7 degree); an undefined location is 2**31 - 1
    undefined = xs == _UNDEFINED_COORD
    missing = int(undefined.sum())
    lon = np.where(undefined, np.nan, xs / _COORD_PRECISION)
    lat = np.where(undefined, np.nan, ys / _COORD_PRECISION)
    seg_ok = np.ones(refs.size, dtype=bool)
    seg_ok[np.cumsum(lens) - 1] = False  # no segment starts at the last node of a way
    if missing:
        log.info("%s: %d way nodes have no location (outside the extract); their segments are dropped",
                    path, missing)
    uniq, first, inv = _unique(refs)
    starts = np.flatnonzero(seg_ok)
    seg_from, seg_to = inv[starts], inv[starts + 1]
    lon, lat = lon[first], lat[first]
    good = np.isfinite(lon[seg_from]) & np.isfinite(lon[seg_to])
    log.info("%s: %d walkable ways, %d nodes, %d segments", path, n_ways, uniq.size, int(good.sum()))
    return uniq, lon, lat, seg_from[good], seg_to[good]


def _unique(refs: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """``np.unique(refs, return_index=True, return_inverse=True)``, except that the index may point
    at any occurrence of a value, not the first (every occurrence of a node id carries the same
    location): an unstable sort is about twice as fast as the stable one ``np.unique`` needs."""
    order = np.argsort(refs)
    s = refs[order]
    new = np.empty(s.size, dtype=bool)
    new[:1] = True
    np.not_equal(s[1:], s[:-1], out=new[1:])
    inv = np.empty(s.size, dtype=np.int64)
    inv[order] = np.cumsum(new) - 1
    return s[new], order[new], inv


#: The last file read by :func:`osm_bounds`, so that choosing the CRS and building the graph parse
#: the file once (the first build into an empty workspace needs both).
_LAST_READ: dict[tuple[str, int, int, str], Any] = {}


def _read_ways_once(path: str | Path, profile: str, workers: int | None = None) -> Any:
    st = Path(path).stat()
    key = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns, profile)
    hit = _LAST_READ.get(key)
    if hit is None:
        _LAST_READ.clear()
        hit = read_osm_ways(path, profile=profile, workers=workers)
        _LAST_READ[key] = hit
    return hit


def graph_from_osm(path: str | Path, crs: CRS | str, *, profile: str = "walk",
                   keep_largest: bool = False, workers: int | None = None) -> RoadGraph:
    """Build the walking graph of an OSM extract (``.osm``, ``.osm.bz2``, ``.osm.pbf``) in ``crs``.

    ``workers``: processes reading the file (see :func:`read_osm_ways`; default
    :func:`default_workers`); the graph does not depend on it."""
    crs = CRS.from_user_input(crs)
    if not crs.is_projected:
        msg = f"graph CRS must be projected (metres), got {crs.to_string()}"
        raise NetworkError(msg)
    ids, lon, lat, a, b = _read_ways_once(path, profile, workers)
    _LAST_READ.clear()
    x, y = _project(lon, lat, crs)
    return build_graph(x, y, ids, a, b, crs.to_string(), keep_largest=keep_largest, source=str(path),
                       profile=profile)


def osm_bounds(path: str | Path, *, workers: int | None = None) -> tuple[float, float, float, float]:
    """Lon/lat bounds of the walkable ways of an OSM file (to choose a metric CRS)."""
    _, lon, lat, _, _ = _read_ways_once(path, "walk", workers)
    return (float(np.nanmin(lon)), float(np.nanmin(lat)), float(np.nanmax(lon)), float(np.nanmax(lat)))


def graph_from_lines(lines: Any, crs: CRS | str, *, keep_largest: bool = False, source: str = "",
                     snap_tolerance_m: float = 0.01) -> RoadGraph:
    """Build a graph from a GeoDataFrame/GeoSeries of (multi)lines; vertices within
    ``snap_tolerance_m`` of each other become one node."""
    import geopandas as gpd
    import shapely

    crs = CRS.from_user_input(crs)
    geoms = lines.geometry if isinstance(lines, gpd.GeoDataFrame) else lines
    if geoms.crs is None:
        msg = f"{source}: 路网图层没有坐标系 the road layer has no CRS"
        raise NetworkError(msg)
    geoms = geoms.to_crs(crs).explode(ignore_index=True)
    geoms = geoms[geoms.geom_type == "LineString"]
    if geoms.empty:
        msg = f"{source}: 没有线要素 no line features in the road layer"
        raise NetworkError(msg)
    coords, part = shapely.get_coordinates(np.asarray(geoms.values), return_index=True)
    key = np.round(coords / snap_tolerance_m).astype(np.int64)
    _, first, inv = np.unique(key, axis=0, return_index=True, return_inverse=True)
    inv = inv.ravel()
    same = part[1:] == part[:-1]
    a = inv[:-1][same]
    b = inv[1:][same]
    xy = coords[first]
    return build_graph(xy[:, 0], xy[:, 1], np.arange(first.size, dtype=np.int64), a, b, crs.to_string(),
                       keep_largest=keep_largest, source=source)


def file_hash(path: str | Path) -> str:
    """SHA-256 of a file (and of a Shapefile's sidecar files)."""
    h = hashlib.sha256()
    p = Path(path)
    files = [p]
    if p.suffix.lower() == ".shp":
        files += [p.with_suffix(s) for s in (".dbf", ".shx", ".prj") if p.with_suffix(s).exists()]
    for f in files:
        with open(f, "rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    return h.hexdigest()


OSM_SUFFIXES = (".osm", ".osm.bz2", ".osm.gz", ".pbf", ".osm.pbf", ".xml")


def is_osm(path: str | Path) -> bool:
    """True for OpenStreetMap files (by suffix)."""
    name = Path(path).name.lower()
    return name.endswith(OSM_SUFFIXES)


def load_or_build(path: str | Path, crs: CRS | str, cache_dir: str | Path, *, profile: str = "walk",
                  keep_largest: bool = False, workers: int | None = None) -> tuple[RoadGraph, bool]:
    """Load the cached graph of a source, or build and cache it.

    ``workers``: processes reading an OSM file (see :func:`read_osm_ways`); not part of the cache
    key, since the graph does not depend on it.

    Returns
    -------
    tuple
        ``(graph, from_cache)``.
    """
    crs = CRS.from_user_input(crs)
    p = Path(path)
    if not p.exists():
        msg = f"路网文件不存在 network source not found: {p}"
        raise NetworkError(msg)
    epsg = crs.to_epsg()
    crs_key = f"epsg{epsg}" if epsg else hashlib.sha1(crs.to_wkt().encode()).hexdigest()[:8]
    key = f"network-{file_hash(p)[:20]}-{profile}-{crs_key}-{'lcc' if keep_largest else 'all'}.npz"
    cache = Path(cache_dir) / key
    if cache.exists():
        try:
            g = RoadGraph.load(cache)
        except (OSError, ValueError, KeyError, EOFError, IndexError, zipfile.BadZipFile) as exc:  # damaged: rebuild
            log.warning("cached network %s is damaged (%s); rebuilding it from %s", cache, exc, p)
        else:
            _LAST_READ.clear()  # the bounds of a file whose graph was cached: not needed any more
            g.cache_key, g.cache_dir = key, str(cache_dir)
            return g, True
    if is_osm(p):
        g = graph_from_osm(p, crs, profile=profile, keep_largest=keep_largest, workers=workers)
    else:
        import geopandas as gpd

        try:
            lines = gpd.read_file(p)
        except Exception as exc:
            msg = f"{p}: 无法读取路网图层 cannot read the road layer: {exc}"
            raise NetworkError(msg) from exc
        g = graph_from_lines(lines, crs, keep_largest=keep_largest, source=str(p))
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(cache.name + ".part.npz")
    g.save(tmp)
    tmp.replace(cache)
    g.cache_key, g.cache_dir = key, str(cache_dir)
    return g, False
