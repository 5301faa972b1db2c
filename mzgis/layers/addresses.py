"""Chinese standard addresses (标准地址) and door plates (门牌): parsing into parts.

An address is read left to right, each part taken when it is next:
省 province · 市 city · 区县 district/county · 街道乡镇 subdistrict/township · 社区村 community/
village · 组 villager group · 路街巷 road · 门牌号 house number · 小区 compound · 楼 building ·
单元 entrance · 室 room. What is left over is kept as ``rest``.

``flags`` name the non-standard forms staff are asked to correct (GB/T 23705 style door plates):
``no_house_number`` (neither 门牌号 nor 楼), ``hash_number`` (``12#`` for 12号), ``landmark``
(附近/对面/旁边/往东… instead of a number), ``chinese_numerals`` (三十二号 instead of 32号),
``fullwidth_digits``, ``brackets``, ``unparsed_rest``.

Unit names before patterns
--------------------------
Regular expressions cannot tell 学院路街道 (a subdistrict) or 新桥南大街社区 (a community) from a
road: the names contain 路/街. So the administrative units the store knows are matched first: a
:class:`Gazetteer` holds every district, subdistrict and community name (with and without its
level suffix, and with the usual long forms such as 街道办事处 / 社区居委会), and at each position
the longest known name that starts there is taken (an anchored longest match: one hash look-up per
distinct name length). Only what no known name explains is left to the patterns.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field

__all__ = ["ADDRESS_PARTS", "Gazetteer", "ParsedAddress", "parse_address", "unit_key"]

ADDRESS_PARTS = ("province", "city", "district", "subdistrict", "community", "group", "road", "house_number",
                 "compound", "building", "unit", "room")

_MUNICIPALITIES = ("北京市", "天津市", "上海市", "重庆市")
_CN_NUM = "零〇一二两三四五六七八九十百千"

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("province", re.compile(r"^(北京市|天津市|上海市|重庆市|[^省市区县]{2,7}?(?:省|自治区|特别行政区))")),
    ("city", re.compile(r"^([^省市区县街镇乡村路]{2,9}?(?:市|自治州|地区|盟))")),
    ("district", re.compile(r"^([^省市区县街镇乡村路]{1,9}?(?:区|县|旗|市))")),
    # 街道 names may hold 路/街 (学院路街道); 镇/乡 names may not start a road (…路镇 is rare)
    ("subdistrict", re.compile(r"^([^区县号]{1,9}?(?:街道办事处|街道|地区办事处)|[^区县路街号]{1,9}?(?:镇|乡|苏木))")),
    # a village or community name, unless it is the start of a road name (中关村大街, 双井村路)
    ("community", re.compile(r"^([^区县镇乡号]{1,12}?(?:社区居委会|社区|居委会)|"
                             r"[^区县路街镇乡号]{1,9}?(?:村委会|嘎查|村)"
                             r"(?![东西南北中]?(?:大街|大道|路|街|巷|胡同)))")),
    ("group", re.compile(rf"^([0-9{_CN_NUM}]+组)")),
    ("road", re.compile(r"^([^号区县镇乡]{1,12}?(?:大街|大道|路|街|巷|胡同|里|道|条|弄|坊)(?:[东西南北中]段|[0-9一二三四五六七八九十]+段)?)")),
    # "3号楼" is a building, not house number 3
    ("house_number", re.compile(rf"^((?:甲|乙|丙|丁)?[0-9{_CN_NUM}]+(?:-[0-9]+)?号(?:院)?)(?!楼)")),
    ("compound", re.compile(rf"^([^号楼栋幢座单元室]{{2,12}}?(?:小区|花园|家园|公寓|大厦|苑|园|广场|新村|里|院)"
                            rf"(?:[0-9{_CN_NUM}]+[区期]|[东西南北中]区)?)")),
    ("building", re.compile(rf"^([0-9A-Za-z{_CN_NUM}]+(?:号楼|楼|栋|幢|座))")),
    ("unit", re.compile(rf"^([0-9{_CN_NUM}]+单元)")),
    ("room", re.compile(r"^([0-9A-Za-z-]+(?:室|号房|号)?)$")),
]

_SUFFIX = re.compile(r"(街道办事处|地区办事处|街道|地区|镇|乡|苏木|社区居委会|社区|居委会|村委会|嘎查|村)$")
_LONG_FORMS = {"街道": ("街道办事处",), "社区": ("社区居委会", "居委会"), "村": ("村委会",)}
_GAZ_LEVELS = ("district", "subdistrict", "community")


def unit_key(name: str) -> str:
    """A unit name without its level suffix (望京街道 → 望京), to match addresses to units."""
    return _SUFFIX.sub("", str(name).strip())


class Gazetteer:
    """The administrative unit names an address may contain, by level.

    Parameters
    ----------
    names
        ``{level: names}`` for ``district``, ``subdistrict`` and ``community`` (other levels are
        ignored). Each name is also known in its long form (望京街道 → 望京街道办事处, 花家地
        社区 → 花家地社区居委会); a match reports the name as the unit layer spells it.

    Examples
    --------
    >>> gz = Gazetteer({"subdistrict": ["学院路街道"], "community": ["新桥南大街社区"]})
    >>> p = parse_address("北京市海淀区学院路街道新桥南大街社区清华东路12号", gazetteer=gz)
    >>> (p.subdistrict, p.community, p.road, p.house_number)
    ('学院路街道', '新桥南大街社区', '清华东路', '12号')
    """

    def __init__(self, names: Mapping[str, Iterable[str]]) -> None:
        self._by_level: dict[str, dict[str, str]] = {}
        for level in _GAZ_LEVELS:
            table: dict[str, str] = {}
            for raw in names.get(level, ()):
                name = unicodedata.normalize("NFKC", str(raw)).strip().replace(" ", "")
                if len(name) < 2:
                    continue
                table.setdefault(name, name)
                for short, longs in _LONG_FORMS.items():
                    if name.endswith(short):
                        for lf in longs:
                            table.setdefault(name[: -len(short)] + lf, name)
            self._by_level[level] = table
        self._lengths = {lv: sorted({len(k) for k in t}, reverse=True) for lv, t in self._by_level.items()}

    def match(self, level: str, text: str) -> tuple[str, int] | None:
        """The longest known name of ``level`` at the start of ``text``: (unit name, length)."""
        table = self._by_level.get(level) or {}
        for n in self._lengths.get(level, ()):
            hit = table.get(text[:n])
            if hit is not None:
                return hit, n
        return None

    def __bool__(self) -> bool:
        return any(self._by_level.values())


_LANDMARK = re.compile(r"附近|对面|旁边|旁|往[东西南北]|以[东西南北]|交叉口|路口|斜对")


@dataclass
class ParsedAddress:
    """The parts of one address (None where absent) and its non-standard forms."""

    raw: str
    province: str | None = None
    city: str | None = None
    district: str | None = None
    subdistrict: str | None = None
    community: str | None = None
    group: str | None = None
    road: str | None = None
    house_number: str | None = None
    compound: str | None = None
    building: str | None = None
    unit: str | None = None
    room: str | None = None
    rest: str = ""
    flags: list[str] = field(default_factory=list)

    @property
    def standard(self) -> bool:
        """True when no non-standard form was found."""
        return not self.flags

    def as_dict(self) -> dict[str, object]:
        """The parts as a dict (for tables)."""
        d = asdict(self)
        d["flags"] = ",".join(self.flags)
        return d


def parse_address(text: str, *, gazetteer: Gazetteer | None = None) -> ParsedAddress:
    """Split a Chinese address into its parts and flag non-standard forms.

    Parameters
    ----------
    text
        The address.
    gazetteer
        Unit names known from the store; where given, a known 区县 / 街道乡镇 / 社区村 name at its
        place in the address is taken before any pattern.

    Examples
    --------
    >>> p = parse_address("北京市朝阳区望京街道花家地社区花家地街8号院3号楼2单元501室")
    >>> (p.district, p.subdistrict, p.community, p.road, p.house_number, p.building, p.unit, p.room)
    ('朝阳区', '望京街道', '花家地社区', '花家地街', '8号院', '3号楼', '2单元', '501室')
    >>> parse_address("望京西园三区12#楼").flags
    ['hash_number']
    """
    raw = str(text)
    flags: list[str] = []
    if any(unicodedata.east_asian_width(c) == "F" and c.isdigit() for c in raw):
        flags.append("fullwidth_digits")
    s = unicodedata.normalize("NFKC", raw).strip().replace(" ", "")
    if re.search(r"[()（）\[\]【】]", s):
        flags.append("brackets")
        s = re.sub(r"[(（\[【][^)）\]】]*[)）\]】]", "", s)
    if re.search(r"\d+#", s):
        flags.append("hash_number")
        s = re.sub(r"(\d+)#", r"\1号", s)
    if _LANDMARK.search(s):
        flags.append("landmark")
    out = ParsedAddress(raw)
    if s.startswith(_MUNICIPALITIES):
        out.province = s[:3]
        out.city = s[:3]
        s = s[3:]
        if s.startswith("市辖区"):
            s = s[3:]
    for part, pat in _PATTERNS:
        if getattr(out, part) is not None:
            continue
        if gazetteer is not None and part in _GAZ_LEVELS:
            hit = gazetteer.match(part, s)
            if hit is not None:
                setattr(out, part, hit[0])
                s = s[hit[1]:]
                continue
        m = pat.match(s)
        if m:
            setattr(out, part, m.group(1))
            s = s[m.end():]
    if out.house_number and re.search(f"[{_CN_NUM}]", out.house_number):
        flags.append("chinese_numerals")
    if out.house_number is None and out.building is None and out.group is None:
        flags.append("no_house_number")
    out.rest = s
    if s:
        flags.append("unparsed_rest")
    out.flags = flags
    return out
