"""Issue 23, field records through the web, in process (no server): a browser's CR+LF note, the
offline queue's client_key scoped to the user, the far-position warning, and bad dates and
accuracies at /field/record and /edit/feature refused with the field named and the store unchanged."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.web.conftest import EXTRA_USERS
from tests.web.test_issue23_web import client

# M2 is at (116.4080, 39.9045); 0.02° of latitude north is about 2.2 km
NEAR = {"lon": "116.4080100", "lat": "39.9045100"}
FAR = {"lon": "116.4080000", "lat": "39.9245000"}


@pytest.fixture
def app(private_ws: Path) -> Any:
    from mzgis.web.app import create_app

    return create_app(private_ws)


def bilingual(text: str) -> bool:
    return bool(re.search(r"[\u4e00-\u9fff]", text)) and bool(re.search(r"[A-Za-z]{4,}.*[A-Za-z]{4,}", text))


def record_form(c: Any, code: str = "M2", **over: str) -> dict[str, str]:
    return {"csrf_token": c.csrf, "code": code, "client_key": secrets.token_hex(16), "condition": "完好",
            "date": "2026-01-05", "inspector": "测试员", "note": "", **over}


def post(c: Any, fields: dict[str, str], *, html: bool = False) -> Any:
    # multipart, as the phone's browser sends it (an empty file part: no photo)
    return c.post("/field/record", data=fields, files={"photo": ("", b"", "application/octet-stream")},
                  headers={"Accept": "text/html" if html else "application/json"})


def inspections(app: Any) -> pd.DataFrame:
    return app.state.mz.store().records("mzgis_inspections")


def state(app: Any) -> Any:
    store = app.state.mz.store()
    return store.dump(), inspections(app).to_dict("records")


# -- 1. CR+LF in a note ------------------------------------------------------------------------------

def test_a_browser_note_with_crlf_is_stored_with_lf(app):
    c = client(app, "placename")
    f = record_form(c, note="第一行 line one\r\n第二行 line two\rthree")
    r = post(c, f)
    assert r.status_code == 200, r.text
    rec = inspections(app).set_index("client_key").loc[f["client_key"]]
    assert rec["note"] == "第一行 line one\n第二行 line two\nthree"


def test_a_cr_in_a_one_line_field_is_still_refused(app):
    c = client(app, "placename")
    before = state(app)
    for html in (False, True):
        r = post(c, record_form(c, inspector="张\r\n三"), html=html)
        assert r.status_code == 400, r.text
        text = r.json()["error"] if not html else r.text
        assert "检查人 inspector" in text
        assert "U+000D" in text
        assert "control character" in text
    assert state(app) == before


def test_edit_note_with_crlf_kept_as_lf_and_cr_in_a_field_refused(app):
    store = app.state.mz.store()
    c = client(app, "placename")
    v = int(store.feature("markers", "M3")["mz_version"])
    before = store.dump()
    r = c.post("/edit/feature", data={"csrf_token": c.csrf, "layer": "markers", "id": "M3", "expect_version": str(v),
                                      "f:marker_type": "混凝土\r\n桩", "note": "x"})
    assert r.status_code == 400, r.text
    assert "marker_type" in r.text
    assert "U+000D" in r.text
    assert store.dump() == before
    r = c.post("/edit/feature", data={"csrf_token": c.csrf, "layer": "markers", "id": "M3", "expect_version": str(v),
                                      "f:marker_type": "混凝土桩", "note": "联检\r\n2026"})
    assert r.status_code == 303, r.text
    assert store.history("markers", "M3").iloc[-1]["note"] == "联检\n2026"


# -- 2. client_key per user ------------------------------------------------------------------------------

def test_client_key_identical_resend_is_a_duplicate(app):
    c = client(app, "placename")
    f = record_form(c, note="once")
    n0 = len(inspections(app))
    first, again = post(c, f), post(c, f)
    assert (first.status_code, again.status_code) == (200, 200)
    assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)
    assert len(inspections(app)) == n0 + 1


def test_client_key_reused_with_other_content_or_by_another_user_is_refused(app):
    c = client(app, "placename")
    f = record_form(c, note="the first")
    assert post(c, f).status_code == 200
    before = state(app)
    other_role, other_pw = EXTRA_USERS["field2"][0], EXTRA_USERS["field2"][1]
    assert other_role == "placename"
    c2 = client(app, login="field2", password=other_pw)
    for who, fields in ((c, {**f, "note": "another record"}), (c, {**f, "condition": "损坏"}),
                        (c2, {**f, "csrf_token": c2.csrf})):
        for html in (False, True):
            r = post(who, fields, html=html)
            assert r.status_code == 409, (fields, r.status_code, r.text[:300])
            text = r.json()["error"] if not html else r.text
            assert "client_key" in text
            assert bilingual(text)
            assert "未写入 nothing was written" in text
            if not html:
                assert r.json()["ok"] is False
    assert state(app) == before
    # a key of another user is not the other user's business: nothing of the first record is shown
    r = post(c2, {**f, "csrf_token": c2.csrf})
    assert "the first" not in r.text


# (the offline queue meeting a 409: tests/web/test_field.py, in a browser)


# -- 3. a far position's warning -------------------------------------------------------------------------

def test_far_position_warning_is_returned_and_shown(app):
    c = client(app, "placename")
    r = post(c, record_form(c, condition="移位", **FAR))
    assert r.status_code == 200, r.text
    w = r.json()["warning"]
    assert w
    assert "km" in w
    assert "warning" in w
    assert w in r.json()["message"]  # the queue shows the message
    page = c.get(r.json()["next"])
    assert page.status_code == 200
    assert "警告 warning" in page.text
    assert "2.2 km" in page.text
    r = post(c, record_form(c, condition="移位", **FAR), html=True)
    assert r.status_code == 303
    assert "2.2 km" in c.get(r.headers["location"]).text
    r = post(c, record_form(c, **NEAR))
    assert r.json()["warning"] is None
    assert "警告 warning" not in c.get(r.json()["next"]).text


def test_a_forged_warning_parameter_is_not_shown_as_html(app):
    c = client(app, "placename")
    page = c.get("/field/marker", params={"code": "M2", "saved": "1", "far_m": "<script>x</script>"})
    assert "<script>x</script>" not in page.text


# -- 4. bad dates and accuracies ------------------------------------------------------------------------

BAD_DATES = ["26-11-20", "2099-01-01", "0001-01-01", "２０２６-０１-０５", "2026-11-20T00:00"]


def test_bad_dates_and_accuracies_at_field_record(app):
    c = client(app, "placename")
    before = state(app)
    bad = [({"date": d}, "日期 date") for d in BAD_DATES]
    bad += [({"accuracy": a, **NEAR}, "精度 accuracy") for a in ("-5", "nan", "abc", "inf")]
    for over, name in bad:
        for html in (False, True):
            r = post(c, record_form(c, **over), html=html)
            assert r.status_code == 400, (over, r.status_code, r.text[:300])
            text = r.json()["error"] if not html else r.text
            assert name in text, (over, text[:300])
            assert bilingual(text)
    assert state(app) == before


def test_a_valid_accuracy_is_stored(app):
    c = client(app, "placename")
    f = record_form(c, accuracy="12.3", **NEAR)
    assert post(c, f).status_code == 200
    rec = inspections(app).set_index("client_key").loc[f["client_key"]]
    assert float(rec["accuracy_m"]) == pytest.approx(12.3)
    assert (rec["lon"], rec["lat"]) == (NEAR["lon"], NEAR["lat"])


@pytest.mark.parametrize("field", ["last_inspection_date", "install_date"])
def test_bad_dates_at_edit_feature(app, field):
    store = app.state.mz.store()
    c = client(app, "placename")
    v = int(store.feature("markers", "M5")["mz_version"])
    before = store.dump()
    for d in BAD_DATES:
        r = c.post("/edit/feature", data={"csrf_token": c.csrf, "layer": "markers", "id": "M5",
                                          "expect_version": str(v), f"f:{field}": d})
        assert r.status_code == 400, (d, r.status_code)
        err = re.search(r'<p class="error"[^>]*>(.*?)</p>', r.text, re.S)
        assert err, r.text[:500]
        assert field in err.group(1), (d, err.group(1))
        assert bilingual(err.group(1)), (d, err.group(1))
    assert store.dump() == before


def test_an_accuracy_without_a_position_is_refused_not_dropped(app):
    c = client(app, "placename")
    before = state(app)
    r = post(c, record_form(c, accuracy="8"))
    assert r.status_code == 400, r.text
    assert "精度 accuracy" in r.json()["error"]
    assert bilingual(r.json()["error"])
    assert state(app) == before
