"""Bad input never reaches a 5xx: garbage JSON, wrong types, huge strings, text no database can hold, unknown and
malformed ids, bad ``force`` and pagination values. Each answer is a 4xx JSON object with a clear message."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.services import Services
from tests.api.conftest import GOOD_DATA, Api, job_id, request_approval
from tests.conftest import ALICE, APPROVER

JSON_HEADERS = {"Content-Type": "application/json"}


def assert_client_error(response: Any, status: int = 400) -> dict[str, Any]:
    """A 4xx JSON object (never a list or a page) whose messages are non-empty strings."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict) and body
    messages = json.dumps(body)
    assert "Traceback" not in messages and "sqlalchemy" not in messages.lower()
    return body


@pytest.fixture
def run_url(services: Services) -> str:
    return f"/api/extras/jobs/{job_id(services, 'testjobs.APITestJob')}/run/"


@pytest.fixture
def pending(services: Services) -> str:
    return request_approval(services, ALICE)


# ----------------------------------------------------------------------------------------------------- bodies


@pytest.mark.parametrize("raw", [b"{garbage", b"{'single': 'quotes'}", b"\xff\xfe\x00", b'{"data": NaN}',
                                 b'{"a": Infinity}', b"[" * 100_000 + b"]" * 100_000,
                                 b'{"data": {"var2": 1' + b"0" * 5000 + b"}}", b"data=1&commit=true"])
def test_a_body_that_is_not_json_is_400_with_a_parse_error(api: Api, run_url: str, raw: bytes) -> None:
    body = assert_client_error(api.post(run_url, ALICE, content=raw, headers=JSON_HEADERS))
    assert body["detail"].startswith("JSON parse error - ")


@pytest.mark.parametrize("payload", [[], "run", 5, True])
def test_a_body_that_is_not_an_object_is_400(api: Api, run_url: str, payload: object) -> None:
    body = assert_client_error(api.post(run_url, ALICE, json=payload))
    assert body["non_field_errors"][0].startswith("Invalid data. Expected a dictionary")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"commit": "maybe"}, "commit"),
        ({"commit": {}}, "commit"),
        ({"commit": 2}, "commit"),
        ({"schedule": "tomorrow"}, "schedule"),
        ({"schedule": ["future"]}, "schedule"),
        ({"schedule": {"interval": 5}}, "schedule"),
        ({"schedule": {"interval": "future", "name": {"a": 1}}}, "schedule"),
        ({"schedule": {"interval": "future", "name": "x", "start_time": 1893456000}}, "schedule"),
        ({"schedule": {"interval": "custom", "name": "x", "crontab": ["0", "*"]}}, "schedule"),
        ({"schedule": {"interval": "daily", "name": "x", "start_time": "2030-02-01T09:00", "time_zone": []}},
         "schedule"),
        ({"data": {**GOOD_DATA, "var2": "twelve"}}, "errors"),
        ({"data": {**GOOD_DATA, "var2": [1]}}, "errors"),
        ({"data": {**GOOD_DATA, "var4": "role-z"}}, "errors"),
        ({"data": [1, 2]}, "errors"),
    ],
)
def test_wrong_types_are_400_under_their_field(api: Api, run_url: str, payload: dict[str, Any], field: str) -> None:
    body = assert_client_error(api.post(run_url, ALICE, json=payload))
    assert list(body) == [field]


@pytest.mark.parametrize(
    "start_time",
    ["tomorrow", "2030-02-01", "2030-13-01T00:00", "2030-02-30T10:00", "", "  ", "9999-12-31T23:59:59-23:59",
     "0001-01-01T00:00:00+14:00", "2030-03-31T02:30", "1e9", "T", "2030-02-01T25:00Z", "9999-12-31T23:59:59Z",
     "9000-01-01T00:00Z"],
)
def test_unreadable_start_times_are_400_under_schedule_start_time(api: Api, run_url: str, start_time: str) -> None:
    schedule = {"interval": "future", "name": "x", "start_time": start_time, "time_zone": "Europe/Berlin"}
    body = assert_client_error(api.post(run_url, ALICE, json={"data": GOOD_DATA, "schedule": schedule}))
    assert "start_time" in body["schedule"]


@pytest.mark.parametrize("zone", ["America", "America/", "a" * 300, "../etc/passwd", "Mars/Olympus_Mons", "/UTC",
                                  "zone.tab", 5])
def test_unknown_time_zones_are_400_under_schedule_time_zone(api: Api, run_url: str, zone: object) -> None:
    schedule = {"interval": "daily", "name": "x", "start_time": "2030-02-01T09:00", "time_zone": zone}
    body = assert_client_error(api.post(run_url, ALICE, json={"data": GOOD_DATA, "schedule": schedule}))
    assert list(body["schedule"]) == ["time_zone"]


@pytest.mark.parametrize(("interval", "start"), [("immediately", None), ("future", "2030-02-01T09:00Z"),
                                               ("hourly", "2030-02-01T09:00Z"), ("daily", "2030-02-01T09:00Z"),
                                               ("weekly", "2030-02-01T09:00Z")])
def test_a_crontab_with_any_type_but_custom_is_400_naming_the_rule(api: Api, services: Services, run_url: str,
                                                                   interval: str, start: str | None) -> None:
    schedule = {"interval": interval, "name": "x", "start_time": start, "crontab": "0 9 * * *"}
    body = assert_client_error(api.post(run_url, ALICE, json={"data": GOOD_DATA, "schedule": schedule}))
    assert body == {"schedule": {"crontab": [
        f'A crontab only applies to custom schedules; this schedule is "{interval}". '
        'Leave the crontab out, or make the schedule "custom".']}}
    assert services.listings.list_scheduled_jobs(ALICE).count == 0
    assert services.listings.list_job_results(ALICE).count == 0
    blank = api.post(run_url, ALICE, json={"data": GOOD_DATA, "schedule": {**schedule, "crontab": ""}})
    assert blank.status_code == 201, blank.text  # an empty crontab, as Nautobot's forms send, is none


@pytest.mark.parametrize("crontab", [None, "", "  "])
def test_a_custom_schedule_without_a_crontab_is_400_saying_it_needs_one(api: Api, run_url: str,
                                                                        crontab: str | None) -> None:
    schedule = {"interval": "custom", "name": "x", "crontab": crontab}
    body = assert_client_error(api.post(run_url, ALICE, json={"data": GOOD_DATA, "schedule": schedule}))
    assert body == {"schedule": {"crontab": [
        "A custom schedule needs a crontab: 5 fields, minute hour day-of-month month day-of-week (e.g. '0 9 * * 1-5')."
    ]}}


def test_huge_strings_are_refused_or_stored_never_a_5xx(api: Api, run_url: str, pending: str) -> None:
    huge = "x" * 300_000
    long_name = {"interval": "future", "name": huge, "start_time": "2030-02-01T09:00Z"}
    body = assert_client_error(api.post(run_url, ALICE, json={"data": GOOD_DATA, "schedule": long_name}))
    assert body == {"schedule": {"name": ["Ensure this field has no more than 255 characters."]}}
    long_crontab = {"interval": "custom", "name": "x", "crontab": ",".join(["1"] * 200) + " * * * *"}
    body = assert_client_error(api.post(run_url, ALICE, json={"data": GOOD_DATA, "schedule": long_crontab}))
    assert body == {"schedule": {"crontab": ["Ensure this field has no more than 255 characters."]}}
    stored = api.post(run_url, ALICE, json={"data": {**GOOD_DATA, "var1": huge}})
    assert stored.status_code == 201
    body = assert_client_error(api.post(f"/api/extras/scheduled-jobs/{pending}/deny/", APPROVER,
                                        json={"reason": huge}))
    assert body == {"reason": ["Ensure this value has at most 2000 characters."]}
    too_big = api.post(run_url, ALICE, json={"data": {**GOOD_DATA, "var1": "y" * 2_000_000}})
    assert assert_client_error(too_big, 413)["detail"].startswith("Request body too large")


def test_huge_numbers_never_reach_a_5xx(api: Api, run_url: str) -> None:
    response = api.post(run_url, ALICE, json={"data": {**GOOD_DATA, "var2": 10**100}})
    assert response.status_code == 201
    assert_client_error(api.post(run_url, ALICE, json={"data": {**GOOD_DATA, "var2": 1.5}}))


@pytest.mark.parametrize(
    "payload",
    [
        {"data": {**GOOD_DATA, "var1": "nul\u0000byte"}},
        {"data": {**GOOD_DATA, "var1": "lone \ud800 surrogate"}},
        {"data": {**GOOD_DATA, "var\u0000": "x"}},
        {"schedule": {"interval": "future", "name": "nul\u0000", "start_time": "2030-02-01T09:00Z"}},
        {"schedule": {"interval": "custom", "name": "x", "crontab": "0 0 * * *\u0000"}},
    ],
)
def test_text_no_database_can_hold_is_400(api: Api, run_url: str, payload: dict[str, Any]) -> None:
    raw = json.dumps(payload).encode()  # \u0000 and \ud800 travel as JSON escapes
    body = assert_client_error(api.post(run_url, ALICE, content=raw, headers=JSON_HEADERS))
    messages = json.dumps(body)
    assert "Null characters are not allowed." in messages or "lone surrogates" in messages


@pytest.mark.parametrize("payload", [b"[1]", b'"no"', b'{"reason": 5}', b'{"reason": ["a"]}', b"{oops"])
def test_a_bad_deny_body_is_400_and_changes_nothing(api: Api, pending: str, payload: bytes) -> None:
    assert_client_error(api.post(f"/api/extras/scheduled-jobs/{pending}/deny/", APPROVER, content=payload,
                                 headers=JSON_HEADERS))
    assert api.get(f"/api/extras/scheduled-jobs/{pending}/", APPROVER).json()["approval_state"] == "pending"


# --------------------------------------------------------------------------------------------------- ids


@pytest.mark.parametrize("ident", [str(uuid.uuid4()), "not-a-uuid", "x" * 5000, "%00", "%ED%A0%80", "..", "%20"])
@pytest.mark.parametrize("route", ["scheduled-jobs/{}/", "scheduled-jobs/{}/approve/", "scheduled-jobs/{}/deny/",
                                   "scheduled-jobs/{}/dry-run/", "job-results/{}/", "jobs/{}/", "jobs/{}/run/"])
def test_unknown_and_malformed_ids_are_404(api: Api, ident: str, route: str) -> None:
    path = "/api/extras/" + route.format(ident)
    response = api.get(path, APPROVER) if not path.endswith(("approve/", "deny/", "dry-run/", "run/")) else (
        api.post(path, APPROVER)
    )
    body = assert_client_error(response, 404)
    assert body["detail"].lower().endswith("not found.")


# ------------------------------------------------------------------------------------------ query parameters


@pytest.mark.parametrize("force", ["", "maybe", "2", "tru", "true!", "%00", "y" * 500])
def test_bad_force_values_are_400_and_approve_nothing(api: Api, pending: str, force: str) -> None:
    response = api.post(f"/api/extras/scheduled-jobs/{pending}/approve/?force={force}", APPROVER)
    body = assert_client_error(response)
    assert "is not a valid boolean" in body["force"][0]
    assert api.get(f"/api/extras/scheduled-jobs/{pending}/", APPROVER).json()["approval_state"] == "pending"


FILTERS = {
    "scheduled-jobs": {"limit", "offset", "job", "approval_state", "brief"},
    "job-results": {"limit", "offset", "job", "brief"},
    "jobs": {"limit", "offset"},
}


@pytest.mark.parametrize(
    ("query", "field"),
    [("limit=-1", "limit"), ("limit=abc", "limit"), ("limit=1.5", "limit"), ("offset=-5", "offset"),
     ("offset=99999999999999999999", "offset"), ("offset=", "offset"), ("limit=" + "9" * 5000, "limit"),
     ("approval_state=bogus", "approval_state"), ("job=%00", "job"),
     ("brief=maybe", "brief")],
)
@pytest.mark.parametrize("listing", ["scheduled-jobs", "job-results", "jobs"])
def test_bad_filters_and_pagination_are_400_per_field(api: Api, pending: str, query: str, field: str,
                                                      listing: str) -> None:
    response = api.get(f"/api/extras/{listing}/?{query}", APPROVER)
    if field not in FILTERS[listing]:
        # parameters a listing does not have are refused, as Nautobot's STRICT_FILTERING does
        assert response.status_code == 400 and response.json() == {field: ["Unknown filter field"]}
        return
    body = assert_client_error(response)
    assert list(body) == [field] and body[field][0]


@pytest.mark.parametrize(("query", "size"), [("limit=0", 1000), ("limit=100000", 1000), ("", 50), ("limit=2", 2)])
def test_page_sizes_follow_nautobot(api: Api, services: Services, query: str, size: int) -> None:
    for _ in range(3):
        request_approval(services, ALICE)
    response = api.get(f"/api/extras/scheduled-jobs/?{query}", APPROVER)
    assert response.status_code == 200
    assert len(response.json()["results"]) == min(size, 3)


# ----------------------------------------------------------------------------------------------------- fuzzing

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
_schedules = st.fixed_dictionaries(
    {},
    optional={
        "interval": st.sampled_from(["immediately", "future", "hourly", "daily", "weekly", "custom"]) | _json_values,
        "name": st.text(max_size=300) | _json_values,
        "start_time": st.datetimes().map(lambda d: d.isoformat()) | st.text(max_size=40) | _json_values,
        "crontab": st.text(max_size=40) | st.sampled_from(["*/5 * * * *", "0 9 * * mon", "0 0 31 2 *"]),
        "time_zone": st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kathmandu"]) | st.text(),
    },
)
_bodies = st.fixed_dictionaries(
    {},
    optional={
        "data": st.fixed_dictionaries({}, optional={k: _json_values for k in ("var1", "var2", "var3", "var4")})
        | _json_values,
        "commit": _json_values,
        "schedule": _schedules | _json_values,
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_bodies)
def test_run_never_answers_5xx_whatever_the_body(api: Api, run_url: str, body: dict[str, Any]) -> None:
    response = api.post(run_url, ALICE, json=body)
    assert response.status_code in (201, 400), response.text
    assert isinstance(response.json(), dict)
