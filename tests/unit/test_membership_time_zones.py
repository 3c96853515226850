"""A hub plans in an IANA time zone: its own, or the main zone of its state; hubs registered
before time zones get their state's from the upcaster (and their rows from migration 0005)."""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, datetime
from pathlib import Path

import pytest

from eventstore.errors import ValidationError
from eventstore.events import RecordedEvent, upcasters_of
from eventstore.testing import given, received
from eventstore.validation import load
from services.membership import schemas
from services.membership.domain import HUB_REGISTERED_VERSION, UPCASTERS, Hub
from services.membership.domain.zones import NO_MAIN_ZONE, STATE_TIME_ZONES, main_time_zone

ROOT = Path(__file__).resolve().parents[2]
STATES = [
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN",
    "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV",
    "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN",
    "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
]
REGISTERED = {"name": "El Dorado County Office of Education", "state": "CA",
              "county_code": "09", "facilitator_org": "Partner nonprofit", "stage": "external"}


@pytest.mark.parametrize("state, zone", [
    ("CA", "America/Los_Angeles"), ("TN", "America/Chicago"), ("KY", "America/New_York"),
    ("ID", "America/Boise"), ("AZ", "America/Phoenix"), ("HI", "Pacific/Honolulu"),
    ("IN", "America/Indiana/Indianapolis"), ("PR", "America/Puerto_Rico"),
    ("ZZ", "UTC"), ("ca", "UTC")])
def test_the_main_zone_of_a_state(state, zone):
    assert main_time_zone(received(state)) == zone


def test_every_state_dc_and_the_territories_have_a_main_zone_the_zone_database_knows():
    assert set(STATES) | {"DC", "PR", "GU", "VI", "AS", "MP"} == set(STATE_TIME_ZONES)
    known = zoneinfo.available_timezones()
    for state, zone in STATE_TIME_ZONES.items():
        assert zone in known and zoneinfo.ZoneInfo(zone), state
    assert NO_MAIN_ZONE in known


def test_a_hub_that_names_no_zone_plans_in_its_states_main_zone():
    hub = given(Hub, "el-dorado").when(lambda h: h.register(*received(
        "El Dorado County Office of Education", "CA", "09", "Partner nonprofit"))).then([
            ("HubRegistered", {**REGISTERED, "time_zone": "America/Los_Angeles"})])
    assert hub.time_zone == "America/Los_Angeles"
    given(Hub, "north").when(lambda h: h.register(*received("North", "MT", None, "P"))).then([
        ("HubRegistered", {"name": "North", "state": "MT", "county_code": None,
                           "facilitator_org": "P", "stage": "external",
                           "time_zone": "America/Denver"})])


def test_a_hub_that_names_its_zone_plans_in_it():
    hub = given(Hub, "el-dorado").when(lambda h: h.register(*received(
        "El Dorado County Office of Education", "CA", "09", "Partner nonprofit",
        "America/Denver"))).then([("HubRegistered", {**REGISTERED,
                                                     "time_zone": "America/Denver"})])
    assert hub.time_zone == "America/Denver"


def test_a_registration_is_recorded_as_version_2_of_its_event():
    hub = Hub("el-dorado")
    hub.register(*received("El Dorado", "CA", None, "Partner"))
    assert HUB_REGISTERED_VERSION == 2
    assert [(e.type, e.schema_version) for e in hub.pending] == [("HubRegistered", 2)]


def registered(data, schema_version):
    return RecordedEvent(1, 1, "00000000-0000-0000-0000-000000000001", "el-dorado", "hub", 1,
                         "HubRegistered", schema_version, "el-dorado", data, {},
                         datetime.now(UTC))


@pytest.mark.parametrize("state, zone", [("CA", "America/Los_Angeles"),
                                         ("NY", "America/New_York"), ("ZZ", "UTC")])
def test_an_old_registration_is_read_in_its_states_main_zone(state, zone):
    upcast = UPCASTERS.upcast(registered({**REGISTERED, "state": state}, 1))
    assert upcast.schema_version == 2
    assert upcast.data == {**REGISTERED, "state": state, "time_zone": zone}
    hub = Hub("el-dorado")
    hub.replay(upcast)
    assert hub.time_zone == zone


def test_a_registration_that_names_its_zone_is_read_as_recorded():
    event = registered({**REGISTERED, "time_zone": "America/Denver"}, 2)
    assert UPCASTERS.upcast(event) is event


def test_the_kernel_reads_the_log_through_these_upcasters():
    assert upcasters_of("services.membership") is UPCASTERS


def test_the_migration_fills_old_hubs_from_the_same_list():
    sql = (ROOT / "services/membership/migrations/0005_hub_time_zones.sql").read_text()
    pairs = dict(re.findall(r"\('([A-Z]{2})', '([^']+)'\)", sql))
    assert pairs == STATE_TIME_ZONES
    assert f"'{NO_MAIN_ZONE}')" in sql


HUB = {"name": "El Dorado", "state": "CA", "facilitator_org": "Partner"}


def test_a_request_may_name_the_hubs_zone_or_leave_it_to_the_state():
    assert load(schemas.HubCreate, {**HUB, "time_zone": "America/Denver"})["time_zone"] == \
        "America/Denver"
    assert "time_zone" not in load(schemas.HubCreate, HUB)


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "america/los_angeles", "", "PST",
                                  "../../etc/passwd", "/usr/share/zoneinfo/UTC",
                                  "America/Los_Angeles ", "America//Denver", "localtime",
                                  "posixrules", "Factory"])
def test_an_unknown_zone_is_refused_naming_the_field(zone):
    with pytest.raises(ValidationError) as refused:
        load(schemas.HubCreate, {**HUB, "time_zone": zone})
    assert refused.value.errors == {
        "time_zone": ["an IANA time zone, like America/Los_Angeles"]}


@pytest.mark.parametrize("name", ["America", "America/", "posixrules", "localtime",
                                  "../../../../etc/localtime", "zone.tab"])
def test_a_hubs_zone_is_a_zones_name_never_a_file_of_the_database(name):
    # "America" is a folder there: looked up as a file it raised IsADirectoryError, a 500.
    with pytest.raises(ValidationError) as refused:
        load(schemas.HubCreate, {"id": "h", "name": "Hub", "state": "CA", "time_zone": name,
                                 "facilitator_org": "Partner"})
    assert "time_zone" in refused.value.errors
