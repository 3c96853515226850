"""Which time zone a hub plans in when it does not say: the main zone of its state.

The main zone is the one most of a state's people live in (Tennessee: Central; Kentucky and
Florida: Eastern; Idaho: Mountain). A hub in another part of its state names its own zone when
it registers (``time_zone``). Every state, the District of Columbia and the inhabited
territories are listed; a state code outside the list has no main zone here, and its hubs plan
in UTC until they say otherwise.

Plain data: membership's migration 0005 fills the hubs registered before time zones from the
same list (a unit test holds the two together).
"""

from __future__ import annotations

# For a state code this list does not have.
NO_MAIN_ZONE = "UTC"

STATE_TIME_ZONES = {
    "AL": "America/Chicago",
    "AK": "America/Anchorage",
    "AZ": "America/Phoenix",
    "AR": "America/Chicago",
    "CA": "America/Los_Angeles",
    "CO": "America/Denver",
    "CT": "America/New_York",
    "DE": "America/New_York",
    "FL": "America/New_York",
    "GA": "America/New_York",
    "HI": "Pacific/Honolulu",
    "ID": "America/Boise",
    "IL": "America/Chicago",
    "IN": "America/Indiana/Indianapolis",
    "IA": "America/Chicago",
    "KS": "America/Chicago",
    "KY": "America/New_York",
    "LA": "America/Chicago",
    "ME": "America/New_York",
    "MD": "America/New_York",
    "MA": "America/New_York",
    "MI": "America/Detroit",
    "MN": "America/Chicago",
    "MS": "America/Chicago",
    "MO": "America/Chicago",
    "MT": "America/Denver",
    "NE": "America/Chicago",
    "NV": "America/Los_Angeles",
    "NH": "America/New_York",
    "NJ": "America/New_York",
    "NM": "America/Denver",
    "NY": "America/New_York",
    "NC": "America/New_York",
    "ND": "America/Chicago",
    "OH": "America/New_York",
    "OK": "America/Chicago",
    "OR": "America/Los_Angeles",
    "PA": "America/New_York",
    "RI": "America/New_York",
    "SC": "America/New_York",
    "SD": "America/Chicago",
    "TN": "America/Chicago",
    "TX": "America/Chicago",
    "UT": "America/Denver",
    "VT": "America/New_York",
    "VA": "America/New_York",
    "WA": "America/Los_Angeles",
    "WV": "America/New_York",
    "WI": "America/Chicago",
    "WY": "America/Denver",
    "DC": "America/New_York",
    "PR": "America/Puerto_Rico",
    "GU": "Pacific/Guam",
    "VI": "America/St_Thomas",
    "AS": "Pacific/Pago_Pago",
    "MP": "Pacific/Saipan",
}


def main_time_zone(state: str) -> str:
    """The IANA time zone a hub of ``state`` plans in unless it names its own."""
    return STATE_TIME_ZONES.get(state, NO_MAIN_ZONE)
