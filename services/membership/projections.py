"""Membership read models, applied inline (in the command's transaction) for read-your-writes."""

from eventstore.projections import Projection, handles


class Hubs(Projection):
    name = "hubs"
    tables = ("hubs_view",)
    inline = True

    @handles("HubRegistered")
    def registered(self, cur, event):
        d = event.data
        cur.execute("""INSERT INTO hubs_view (id, name, state, county_code, stage,
                                              facilitator_org, version)
                       VALUES (%s, %s, %s, %s, %s, %s, %s)""",
                    (event.stream_id, d["name"], d["state"], d["county_code"], d["stage"],
                     d["facilitator_org"], event.version))

    @handles("FacilitationHandedOver")
    def handed_over(self, cur, event):
        cur.execute("""UPDATE hubs_view SET stage = %s, facilitator_org = %s, version = %s
                       WHERE id = %s""", (event.data["stage"], event.data["facilitator_org"],
                                          event.version, event.stream_id))


class Members(Projection):
    name = "members"
    tables = ("members_view",)
    inline = True

    @handles("MemberEnrolled")
    def enrolled(self, cur, event):
        d = event.data
        cur.execute("""INSERT INTO members_view (id, hub_id, name, kind, grade_span, enrollment,
                                                 cds_code, nces_id, status, version)
                       VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'active', %s)""",
                    (event.stream_id, d["hub_id"], d["name"], d["kind"], d["grade_span"],
                     d["enrollment"], d["cds_code"], d["nces_id"], event.version))

    @handles("RoleAssigned", "RoleRemoved")
    def versioned(self, cur, event):
        cur.execute("UPDATE members_view SET version = %s WHERE id = %s",
                    (event.version, event.stream_id))

    @handles("OnboardingCompleted")
    def onboarded(self, cur, event):
        cur.execute("UPDATE members_view SET onboarded = true, version = %s WHERE id = %s",
                    (event.version, event.stream_id))

    @handles("MemberOffboarded")
    def offboarded(self, cur, event):
        cur.execute("UPDATE members_view SET status = 'offboarded', version = %s WHERE id = %s",
                    (event.version, event.stream_id))


class People(Projection):
    name = "people"
    tables = ("people_view",)
    inline = True

    @handles("PersonAdded")
    def added(self, cur, event):
        cur.execute("""INSERT INTO people_view (id, hub_id, member_id, position)
                       VALUES (%s, %s, %s, %s)""",
                    (event.stream_id, event.data["hub_id"], event.data.get("member_id"),
                     event.data.get("position")))

    @handles("PersonErased")
    def erased(self, cur, event):
        cur.execute("UPDATE people_view SET erased = true WHERE id = %s", (event.stream_id,))


PROJECTIONS = [Hubs(), Members(), People()]
