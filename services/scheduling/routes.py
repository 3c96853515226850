"""The scheduling service's part of the public HTTP API (API.md): the gateway serves this table."""

from eventstore.routes import Route

from . import schemas

WRITERS = ("admin", "facilitator")
PEOPLE = ("admin", "facilitator", "member")
CALENDAR = {"text/calendar": "ics"}
ON_MEETING: dict = {"response": schemas.Meeting, "links": {"meeting": "/id"}}

ROUTES: list[Route] = [
    # Meetings.
    Route("POST", "/v1/hubs/<hub>/meetings", "schedule_meeting",
          "Schedule a meeting: a network meeting (recurring by an RRULE), a site visit, a "
          "check-in, a webinar or an expert session (which books the expert's time)",
          "meetings", body=schemas.MeetingCreate, status=201, roles=WRITERS, **ON_MEETING),
    Route("GET", "/v1/hubs/<hub>/meetings", "hub_meetings",
          "The hub's meetings in a window of dates, one item per occurrence, by start",
          "meetings", query=schemas.Window, response=schemas.OccurrenceShown, paged=True,
          cursor="token"),
    Route("GET", "/v1/meetings/<meeting>", "get_meeting",
          "A meeting with its occurrences, who is invited now and its feedback", "meetings",
          response=schemas.Meeting),
    Route("POST", "/v1/meetings/<meeting>/reschedule", "reschedule_meeting",
          "Move one occurrence, it and those after it, or all", "meetings",
          body=schemas.Reschedule, roles=WRITERS, conditional=True, **ON_MEETING),
    Route("POST", "/v1/meetings/<meeting>/cancellation", "cancel_meeting",
          "Cancel one occurrence, it and those after it, or all, with a reason", "meetings",
          body=schemas.Cancellation, roles=WRITERS, conditional=True, **ON_MEETING),
    Route("POST", "/v1/meetings/<meeting>/recording", "add_recording",
          "Add a webinar's recording link", "meetings", body=schemas.Recording,
          roles=WRITERS, conditional=True, **ON_MEETING),
    Route("POST", "/v1/meetings/<meeting>/rsvps", "rsvp",
          "An invitee's answer for an occurrence: yes, no or maybe", "meetings",
          body=schemas.Rsvp, roles=PEOPLE, **ON_MEETING),
    Route("POST", "/v1/meetings/<meeting>/attendance", "record_attendance",
          "Who came to an occurrence (invitees only)", "meetings", body=schemas.Attendance,
          roles=WRITERS, **ON_MEETING),
    Route("POST", "/v1/meetings/<meeting>/feedback", "give_feedback",
          "An attendee's feedback on an occurrence: 1 to 5 stars and a comment", "meetings",
          body=schemas.Feedback, roles=PEOPLE, **ON_MEETING),
    Route("GET", "/v1/hubs/<hub>/feedback", "hub_feedback",
          "The hub's meeting feedback per month: meetings, answers and their average",
          "meetings", response=schemas.HubFeedback),
    # Blackouts and experts' calendars.
    Route("POST", "/v1/members/<member>/blackouts", "declare_blackout",
          "Dates a member cannot meet (a testing window, no substitutes), with a reason",
          "blackouts", body=schemas.BlackoutCreate, response=schemas.Blackout, status=201,
          roles=PEOPLE, links={"blackout": "/id"}),
    Route("GET", "/v1/members/<member>/blackouts", "member_blackouts",
          "A member's blackouts", "blackouts", response=schemas.Blackout, paged=True),
    Route("DELETE", "/v1/blackouts/<blackout>", "withdraw_blackout", "Withdraw a blackout",
          "blackouts", response=schemas.Blackout, roles=PEOPLE, conditional=True),
    Route("POST", "/v1/experts/<expert>/unavailability", "mark_expert_unavailable",
          "A time the expert is unavailable (the hub that added the expert)", "experts",
          body=schemas.Unavailability, response=schemas.ExpertCalendar, status=201,
          roles=WRITERS),
    Route("GET", "/v1/experts/<expert>/busy", "expert_busy",
          "When a shared expert is busy (never which hub booked it or why)", "experts",
          query=schemas.BusyWindow, response=schemas.ExpertCalendar),
    Route("POST", "/v1/hubs/<hub>/find-a-time", "find_a_time",
          "Candidate slots for a meeting, ranked, each with who cannot come and why",
          "meetings", body=schemas.FindATime, response=schemas.Slots, roles=WRITERS),
    # iCalendar feeds: with a token, or by a secret link for calendar apps.
    Route("GET", "/v1/hubs/<hub>/calendar.ics", "hub_calendar", "The hub's meetings",
          "calendars", content=CALENDAR),
    Route("GET", "/v1/people/<person>/calendar.ics", "person_calendar",
          "The meetings a person is invited to", "calendars", content=CALENDAR),
    # PUTs: each gives a new secret and retires the one before (a retry after a lost answer
    # is safe without an Idempotency-Key, whose kept answer would keep the secret).
    Route("PUT", "/v1/people/<person>/calendar-link", "rotate_person_calendar_link",
          "A new secret link to a person's calendar for a calendar app (the one before "
          "answers 404)", "calendars", response=schemas.CalendarLink, roles=WRITERS),
    Route("PUT", "/v1/hubs/<hub>/calendar-link", "rotate_hub_calendar_link",
          "A new secret link to the hub's calendar (the one before answers 404)",
          "calendars", response=schemas.CalendarLink, roles=WRITERS),
    Route("GET", "/v1/calendars/people/<link>.ics", "person_calendar_by_link",
          "A person's calendar, for whoever holds the link (no token)", "calendars",
          content=CALENDAR, access="link"),
    Route("GET", "/v1/calendars/hubs/<link>.ics", "hub_calendar_by_link",
          "A hub's calendar, for whoever holds the link (no token)", "calendars",
          content=CALENDAR, access="link"),
]
