"""The registry of facility kinds (设施类型) named in the plans (PLAN_REQUIREMENTS §1).

Each kind has an English id (used in file names and code), its Chinese name and variants as
spelled in the plans, the administrative level it serves (district / subdistrict / community),
and the default service threshold in walking minutes used by the coverage analyses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mzgis.errors import LayerError

__all__ = ["KINDS", "LEVELS", "LEVEL_NAMES_ZH", "FacilityKind", "get_kind"]

#: Administrative levels, top-down. The jurisdiction is the whole project.
LEVELS = ("district", "subdistrict", "community")
LEVEL_NAMES_ZH = {
    "jurisdiction": "辖区",
    "district": "区县",
    "subdistrict": "街道乡镇",
    "community": "社区村",
}


@dataclass(frozen=True)
class FacilityKind:
    """One kind of located civil-affairs facility.

    Parameters
    ----------
    id
        English identifier, ``snake_case``.
    name_zh
        Chinese name as the plans use it.
    name_en
        English name.
    level
        Administrative level the facility serves (one of :data:`LEVELS`).
    threshold_min
        Default service threshold in walking minutes (``None`` where the plans set no walking
        standard, e.g. district institutions).
    aliases
        Other spellings found in the plans.
    plan_ref
        Section of PLAN_REQUIREMENTS.md.
    """

    id: str
    name_zh: str
    name_en: str
    level: str
    threshold_min: float | None
    aliases: tuple[str, ...] = field(default_factory=tuple)
    plan_ref: str = ""


KINDS: dict[str, FacilityKind] = {
    k.id: k
    for k in [
        FacilityKind("elderly_care_center", "街道乡镇养老照料中心", "Subdistrict/township elderly-care center",
                     "subdistrict", 15, ("街乡养老照料中心", "镇(街)养老照料中心", "养老照料中心", "照料中心"), "1.A A1"),
        FacilityKind("elderly_care_station", "社区养老服务驿站", "Community elderly-care station",
                     "community", 15, ("养老服务驿站", "养老驿站", "社区养老驿站", "驿站"), "1.A A2"),
        FacilityKind("elderly_day_care", "老年人日间照料中心", "Elderly day-care center",
                     "community", 15, ("日间照料中心", "社区日间照料机构", "社区养老服务站", "日间照料"), "1.A A6"),
        FacilityKind("elderly_dining", "老年餐桌", "Senior dining table", "community", 15, ("助餐点",), "1.A A3"),
        FacilityKind("elderly_institution", "养老机构", "Residential elderly-care institution",
                     "district", None, ("养老院", "敬老院", "乡镇敬老院"), "1.A A15"),
        FacilityKind("community_service", "社区综合服务设施", "Community comprehensive service facility",
                     "community", 15, ("城乡社区综合服务设施", "社区服务用房", "党群服务中心", "社区服务中心", "社区服务站"), "1.E E1"),
        FacilityKind("public_cemetery", "公益性公墓", "Public-welfare cemetery", "subdistrict", None,
                     ("城乡公益性公墓", "镇级公益性公墓"), "1.I I1"),
        FacilityKind("rural_cemetery", "农村公益性墓地", "Rural public-welfare graveyard", "community", None,
                     ("农村集体埋葬点", "集中埋葬点"), "1.I I2"),
        FacilityKind("minor_protection_station", "未成年人保护工作站", "Minor-protection workstation",
                     "subdistrict", None, ("未保工作站", "镇(街)未保工作站", "乡镇(街道)未成年人保护工作站"), "1.C C3"),
        FacilityKind("children_home", "儿童之家", "Children's home", "community", 15,
                     ("社区(村)儿童之家", "妇女儿童之家"), "1.C C4"),
        FacilityKind("funeral_home", "殡仪馆", "Funeral home", "district", None, ("殡仪服务设施",), "1.I I3"),
        FacilityKind("relief_station", "救助管理站", "Relief-management station", "district", None,
                     ("救助管理机构", "流浪乞讨人员救助机构"), "1.D D1"),
        FacilityKind("child_welfare", "儿童福利机构", "Child-welfare institution", "district", None,
                     ("儿童福利院", "儿童福利中心"), "1.C C1"),
        FacilityKind("volunteer_station", "志愿服务站点", "Volunteer service station", "community", 15,
                     ("志愿服务站",), "1.F"),
        FacilityKind("social_work_station", "社会工作服务站", "Social-work station", "subdistrict", None,
                     ("社工站",), "1.F"),
        FacilityKind("marriage_registry", "婚姻登记处", "Marriage registration office", "district", None,
                     ("婚姻登记机关",), "1.H"),
    ]
}


def get_kind(value: str) -> FacilityKind:
    """Find a kind by English id, Chinese name or any variant spelling.

    Raises
    ------
    LayerError
        If nothing matches; the message lists the known kinds.
    """
    v = str(value).strip()
    if v in KINDS:
        return KINDS[v]
    for k in KINDS.values():
        if v == k.name_zh or v in k.aliases or v.lower() == k.name_en.lower():
            return k
    known = "; ".join(f"{k.name_zh} ({k.id})" for k in KINDS.values())
    msg = f"不认识的设施类型 unknown facility kind '{v}'. 可用 known kinds: {known}"
    raise LayerError(msg)
