"""Place (位置): coordinates and address on 上报, searches by area, and possible duplicates (疑似重复)
of a new report near an open case of the same category and parties."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import World, case_body

# 成都 天府广场 and points ~300 m north, ~2 km east of it.
SQUARE = {"lat": 30.6574, "lng": 104.0658}
NORTH_300 = {"lat": 30.6601, "lng": 104.0658}
EAST_2KM = {"lat": 30.6574, "lng": 104.0866}
ZHANG = [{"name": "张 三", "role": "applicant", "phone": "138-0000-1111"}]
LI = [{"name": "李四", "role": "applicant"}]


def report(w: World, geo: dict[str, float] | None, parties: Any = ZHANG, **kw: Any) -> dict:
    data = {"rounds": 0, "handler_org": "town_a", "checker_org": "town_a"}
    if geo is not None:
        data["geo"] = geo
    data["location"] = kw.pop("location", "锦江区天府广场东侧")
    body = case_body(parties=parties, data=data, **kw)
    r = w.post("grid_a", "/api/v1/cases", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def cases(w: World, **params: Any) -> list[str]:
    r = w.get("town_a_staff", "/api/v1/cases", params=params)
    assert r.status_code == 200, r.text
    return sorted(c["case_no"] for c in r.json()["items"])


def test_a_report_keeps_its_place(world: World) -> None:
    made = report(world, SQUARE, location="锦江区 人民南路一段 86 号")
    case = made["case"]
    assert (case["lat"], case["lng"]) == (SQUARE["lat"], SQUARE["lng"])
    assert case["address"] == "锦江区 人民南路一段 86 号"
    again = world.get("town_a_staff", f"/api/v1/cases/{case['case_no']}").json()["case"]
    assert (again["lat"], again["lng"], again["address"]) == (
        case["lat"], case["lng"], case["address"],
    )  # fmt: skip


def test_cases_are_found_by_radius_box_and_address(world: World) -> None:
    centre = report(world, SQUARE)["case"]["case_no"]
    north = report(world, NORTH_300, parties=LI)["case"]["case_no"]
    east = report(world, EAST_2KM, parties=LI, location="成华区建设路")["case"]["case_no"]
    nowhere = report(world, None, parties=LI)["case"]["case_no"]
    near = f"{SQUARE['lat']},{SQUARE['lng']}"
    assert cases(world, near=near, radius_m=100) == [centre]
    assert cases(world, near=near, radius_m=500) == sorted([centre, north])
    assert cases(world, near=near, radius_m=5000) == sorted([centre, north, east])
    assert nowhere not in cases(world, near=near, radius_m=100_000)
    assert cases(world, bbox="104.08,30.65,104.09,30.66") == [east]
    assert cases(world, text="建设路") == [east]


def test_bad_place_queries_name_the_field(world: World) -> None:
    for params, field in [
        ({"near": "30.6"}, "near"),
        ({"near": "abc,def"}, "near"),
        ({"near": "91,104"}, "near"),
        ({"near": "nan,104"}, "near"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "104.1,30.7,104.0,30.6"}, "bbox"),
    ]:
        r = world.get("town_a_staff", "/api/v1/cases", params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["field"] == field


def test_a_report_near_an_open_case_with_the_same_party_is_flagged(world: World) -> None:
    first = report(world, SQUARE)["case"]["case_no"]
    second = report(world, NORTH_300, parties=[{"name": "张三", "role": "respondent"}])
    flagged = second["fields"]["possible_duplicates"]
    assert [d["case_no"] for d in flagged] == [first]
    assert 250 <= flagged[0]["distance_m"] <= 350
    history = world.get("town_a_staff", f"/api/v1/cases/{second['case']['case_no']}/history")
    started = history.json()["items"][0]
    assert started["data_after"]["possible_duplicates"][0]["case_no"] == first  # audited


def test_the_same_telephone_counts_as_the_same_party(world: World) -> None:
    first = report(world, SQUARE)["case"]["case_no"]
    other_name = [{"name": "张先生", "role": "applicant", "phone": "13800001111"}]
    second = report(world, SQUARE, parties=other_name)
    assert [d["case_no"] for d in second["fields"]["possible_duplicates"]] == [first]


def test_without_coordinates_the_same_grid_is_near(world: World) -> None:
    first = report(world, None)["case"]["case_no"]
    second = report(world, None)
    assert [d["case_no"] for d in second["fields"]["possible_duplicates"]] == [first]
    assert second["fields"]["possible_duplicates"][0]["distance_m"] is None


def test_far_other_party_other_category_or_closed_cases_are_not_flagged(world: World) -> None:
    report(world, SQUARE)
    assert "possible_duplicates" not in report(world, EAST_2KM)["fields"]  # 2 km away
    assert "possible_duplicates" not in report(world, SQUARE, parties=LI)["fields"]
    assert "possible_duplicates" not in report(world, SQUARE, category="debt")["fields"]
    closed = report(world, SQUARE, category="labour")["case"]["case_no"]
    r = world.post("town_a_staff", f"/api/v1/cases/{closed}/cancel", json={"reason": "重复登记"})
    assert r.status_code == 200
    assert "possible_duplicates" not in report(world, SQUARE, category="labour")["fields"]
