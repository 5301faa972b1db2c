"""Sites that add nothing are not proposed: when ``--add N`` asks for more sites than it takes to
cover every household within reach, the sites after the last one that gains households are
dropped and the result says how many suffice."""

from __future__ import annotations

from dataclasses import replace

from mzgis.analysis.siting import SitingResult

__all__ = ["drop_idle_sites"]


def drop_idle_sites(result: SitingResult, *, asked: int | None) -> SitingResult:
    """``result`` without its trailing sites of no gain (≤ 1e-9 of the total), with a note in
    Chinese and English saying that N sites suffice (or that none is needed).

    >>> r = SitingResult([3, 5], [40.0, 0.0], 100.0, 100.0, "exact", 0.0)
    >>> d = drop_idle_sites(r, asked=2)
    >>> d.chosen, d.gains, d.notes[-1][:7]
    ([3], [40.0], '1 个新址即可')
    """
    tol = 1e-9 * max(result.total, 1.0)
    keep = len(result.gains)
    while keep and result.gains[keep - 1] <= tol:
        keep -= 1
    if keep == len(result.chosen):
        return result
    share = 100 * result.covered / result.total if result.total > 0 else 100.0
    want = asked if asked is not None else len(result.chosen)
    if keep == 0:
        note = (f"无需新址 no new site is needed: 新址不增加覆盖 a new site would add no households "
                f"(覆盖 coverage {share:.1f}%, 所有可覆盖的户数已覆盖 every household within reach is covered)")
    else:
        note = (f"{keep} 个新址即可 {keep} new site{'s' if keep > 1 else ''} suffice{'' if keep > 1 else 's'}: "
                f"要求 {want} 个 asked for {want}, 第 {keep + 1} 个起不增加覆盖户数 site {keep + 1} on adds no "
                f"households (覆盖 coverage {share:.1f}% 已是可达的全部 all that can be reached)")
    return replace(result, chosen=result.chosen[:keep], gains=result.gains[:keep], notes=[*result.notes, note])
