-- Read models are visible only within the reading caller's hubs (eventstore/schema/0002).
-- FORCE: the service's role owns these tables and would otherwise bypass its own policies.
ALTER TABLE hubs_view ENABLE ROW LEVEL SECURITY;
ALTER TABLE hubs_view FORCE ROW LEVEL SECURITY;
CREATE POLICY hub_scope ON hubs_view USING (consortium_may_see(id)) WITH CHECK (true);

ALTER TABLE members_view ENABLE ROW LEVEL SECURITY;
ALTER TABLE members_view FORCE ROW LEVEL SECURITY;
CREATE POLICY hub_scope ON members_view USING (consortium_may_see(hub_id)) WITH CHECK (true);

ALTER TABLE people_view ENABLE ROW LEVEL SECURITY;
ALTER TABLE people_view FORCE ROW LEVEL SECURITY;
CREATE POLICY hub_scope ON people_view USING (consortium_may_see(hub_id)) WITH CHECK (true);

ALTER TABLE people_pii ENABLE ROW LEVEL SECURITY;
ALTER TABLE people_pii FORCE ROW LEVEL SECURITY;
CREATE POLICY hub_scope ON people_pii
    USING (consortium_may_see((SELECT v.hub_id FROM people_view v WHERE v.id = person_id)))
    WITH CHECK (true);

ALTER TABLE member_cycles ENABLE ROW LEVEL SECURITY;
ALTER TABLE member_cycles FORCE ROW LEVEL SECURITY;
CREATE POLICY hub_scope ON member_cycles
    USING (consortium_may_see((SELECT m.hub_id FROM members_view m WHERE m.id = member_id)))
    WITH CHECK (true);
