"""Layer types and their fields (the mzgis data model, PLAN_REQUIREMENTS §0.1, §1, §3, §6).

A :class:`LayerSchema` lists the fields of one layer type, each with its type, whether it is
required, whether it must be non-negative, the allowed values, and the column names that map to it
automatically (Chinese first). Columns of a source that match no field are kept as extra
attributes under their own names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "FACILITY_STATUSES",
    "LAYER_TYPES",
    "MARKER_CONDITIONS",
    "OPERATING",
    "PLANNED",
    "SCENARIO_STATUSES",
    "SCHEMAS",
    "UNDER_CONSTRUCTION",
    "Field",
    "LayerSchema",
]

#: 设施状态, as stored: operating, under construction, planned (spelled here only).
OPERATING = "建成运营"
UNDER_CONSTRUCTION = "在建"
PLANNED = "规划"

#: 设施状态: the spellings a source may use → the stored status.
FACILITY_STATUSES = {
    PLANNED: PLANNED, "planned": PLANNED, "拟建": PLANNED,
    UNDER_CONSTRUCTION: UNDER_CONSTRUCTION, "under_construction": UNDER_CONSTRUCTION, "建设中": UNDER_CONSTRUCTION,
    OPERATING: OPERATING, "operating": OPERATING, "运营": OPERATING, "已建成": OPERATING,
    "建成": OPERATING, "现状": OPERATING,
}

#: Which facility statuses each scenario counts. "today" is what operates now; "planned" adds the
#: stations under construction and in the plan, so "today" and "when the committed stations open"
#: can be reported side by side.
SCENARIO_STATUSES: dict[str, tuple[str, ...]] = {
    "today": (OPERATING,),
    "planned": (OPERATING, UNDER_CONSTRUCTION, PLANNED),
}

#: 界桩状况: boundary-marker condition.
MARKER_CONDITIONS = {
    "完好": "完好", "good": "完好", "正常": "完好",
    "损坏": "损坏", "damaged": "损坏",
    "丢失": "丢失", "missing": "丢失", "缺失": "丢失",
    "移位": "移位", "moved": "移位",
}

ID_ALIASES = ("id", "feature_id", "编号", "编码", "code", "代码", "fid_src")
LON_ALIASES = ("经度", "lon", "lng", "long", "longitude", "x", "x坐标", "东经")
LAT_ALIASES = ("纬度", "lat", "latitude", "y", "y坐标", "北纬")


@dataclass(frozen=True)
class Field:
    """One field of a layer type."""

    name: str
    dtype: str  # "str" | "float" | "int" | "date"
    aliases: tuple[str, ...] = ()
    required: bool = False
    nonneg: bool = False
    choices: dict[str, str] | None = None
    label_zh: str = ""


@dataclass(frozen=True)
class LayerSchema:
    """The fields and geometry of one layer type."""

    type: str
    label_zh: str
    geometry: tuple[str, ...]  # allowed base geometry types: "Point", "Polygon", "LineString"
    fields: tuple[Field, ...] = field(default_factory=tuple)



_ADMIN_CODES = (
    Field("district_code", "str", ("区县编码", "所属区县", "区县", "district"), label_zh="区县"),
    Field("subdistrict_code", "str", ("街道编码", "街道乡镇编码", "所属街道", "街道乡镇", "街道", "乡镇", "subdistrict"),
          label_zh="街道乡镇"),
    Field("community_code", "str", ("社区编码", "所属社区", "社区", "村", "社区村", "community"), label_zh="社区村"),
)

SCHEMAS: dict[str, LayerSchema] = {
    "facilities": LayerSchema("facilities", "设施", ("Point",), (
        Field("name", "str", ("名称", "设施名称", "机构名称", "name", "名字"), required=True, label_zh="名称"),
        Field("kind", "str", ("设施类型", "类型", "类别", "kind", "type"), label_zh="类型"),
        Field("status", "str", ("状态", "建设状态", "status"), choices=FACILITY_STATUSES, label_zh="状态"),
        Field("floor_area_m2", "float", ("建筑面积", "面积", "建筑面积(㎡)", "建筑面积（平方米）", "floor_area",
                                         "floor_area_m2", "area_m2"), nonneg=True, label_zh="建筑面积(㎡)"),
        Field("beds", "int", ("床位数", "床位", "beds"), nonneg=True, label_zh="床位数"),
        Field("capacity_households", "int", ("服务户数上限", "容量", "capacity"), nonneg=True, label_zh="服务户数上限"),
        Field("address", "str", ("地址", "详细地址", "address"), label_zh="地址"),
        Field("ownership", "str", ("性质", "产权", "运营方式", "ownership"), label_zh="性质"),
        *_ADMIN_CODES,
    )),
    "demand": LayerSchema("demand", "需求点", ("Point", "Polygon"), (
        Field("name", "str", ("名称", "小区名称", "小区", "name"), label_zh="名称"),
        Field("households", "float", ("户数", "住户数", "households", "hh"), nonneg=True, label_zh="户数"),
        Field("population", "float", ("人口", "常住人口", "人数", "population", "pop"), nonneg=True, label_zh="人口"),
        Field("elderly", "float", ("老年人口", "60岁以上人口", "老年人", "elderly"), nonneg=True, label_zh="老年人口"),
        Field("floors", "float", ("层数", "楼层数", "floors", "building:levels"), nonneg=True, label_zh="层数"),
        Field("address", "str", ("地址", "address"), label_zh="地址"),
        *_ADMIN_CODES,
    )),
    "candidates": LayerSchema("candidates", "候选址", ("Point", "Polygon"), (
        Field("name", "str", ("名称", "name"), label_zh="名称"),
        Field("floor_area_m2", "float", ("建筑面积", "面积", "floor_area_m2"), nonneg=True, label_zh="建筑面积(㎡)"),
        Field("address", "str", ("地址", "address"), label_zh="地址"),
    )),
    "admin_units": LayerSchema("admin_units", "行政区划", ("Polygon",), (
        Field("name", "str", ("名称", "name", "行政区名称", "单位名称"), required=True, label_zh="名称"),
        Field("level", "str", ("级别", "层级", "level"), label_zh="级别"),
        Field("parent_code", "str", ("上级编码", "上级代码", "parent_code", "parent"), label_zh="上级编码"),
        Field("parent_name", "str", ("上级名称", "parent_name"), label_zh="上级名称"),
        Field("households", "float", ("户数", "households"), nonneg=True, label_zh="户数"),
        Field("population", "float", ("人口", "常住人口", "population", "pop"), nonneg=True, label_zh="常住人口"),
        Field("elderly", "float", ("老年人口", "60岁以上人口", "elderly"), nonneg=True, label_zh="老年人口"),
        Field("community_type", "str", ("社区类型", "community_type"), label_zh="社区类型"),
    )),
    "boundary_lines": LayerSchema("boundary_lines", "界线", ("LineString",), (
        Field("name", "str", ("名称", "界线名称", "name"), label_zh="名称"),
        Field("left_code", "str", ("左侧编码", "left_code"), label_zh="左侧"),
        Field("right_code", "str", ("右侧编码", "right_code"), label_zh="右侧"),
        Field("level", "str", ("级别", "界线级别", "level"), label_zh="级别"),
    )),
    "boundary_markers": LayerSchema("boundary_markers", "界桩", ("Point",), (
        Field("line_id", "str", ("界线编号", "所属界线", "line_id"), label_zh="界线编号"),
        Field("marker_type", "str", ("界桩类型", "类型", "marker_type"), label_zh="类型"),
        Field("install_date", "date", ("埋设日期", "设立日期", "install_date"), label_zh="埋设日期"),
        Field("last_inspection_date", "date", ("最近检查日期", "检查日期", "联检日期", "last_inspection_date"),
              label_zh="最近检查日期"),
        Field("condition", "str", ("状况", "状态", "condition"), choices=MARKER_CONDITIONS, label_zh="状况"),
    )),
    "addresses": LayerSchema("addresses", "地址门牌", ("Point",), (
        Field("address", "str", ("地址", "标准地址", "门牌地址", "address"), required=True, label_zh="地址"),
        Field("name", "str", ("名称", "name"), label_zh="名称"),
        Field("plate_type", "str", ("门牌类型", "牌类", "plate_type"), label_zh="门牌类型"),
        *_ADMIN_CODES,
    )),
    "place_names": LayerSchema("place_names", "地名", ("Point", "LineString", "Polygon"), (
        Field("name", "str", ("名称", "地名", "标准名称", "name"), required=True, label_zh="地名"),
        Field("category", "str", ("类别", "地名类别", "category"), label_zh="类别"),
        *_ADMIN_CODES,
    )),
    "lines": LayerSchema("lines", "线状地物", ("LineString",), (
        Field("name", "str", ("名称", "线路名称", "道路名称", "河流名称", "name"), label_zh="名称"),
        Field("class", "str", ("类别", "等级", "道路等级", "class", "fclass", "highway", "railway", "waterway"),
              label_zh="类别"),
        Field("ref", "str", ("线路编号", "ref"), label_zh="线路编号"),
    )),
    "graves": LayerSchema("graves", "坟墓(散埋乱葬)", ("Point", "Polygon"), (
        Field("name", "str", ("名称", "name"), label_zh="名称"),
        Field("status", "str", ("整治状态", "状态", "status"), label_zh="整治状态"),
        *_ADMIN_CODES,
    )),
    "zones": LayerSchema("zones", "规划分区", ("Polygon",), (
        Field("name", "str", ("名称", "分区名称", "name"), label_zh="名称"),
        Field("zone_type", "str", ("分区类型", "类型", "zone_type", "type"), label_zh="分区类型"),
    )),
}

LAYER_TYPES = tuple(SCHEMAS)
