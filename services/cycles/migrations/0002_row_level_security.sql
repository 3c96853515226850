-- Read models are visible only within the reading caller's hubs (eventstore/schema/0002).
-- FORCE: the service's role owns these tables and would otherwise bypass its own policies.
ALTER TABLE hubs ENABLE ROW LEVEL SECURITY;
ALTER TABLE hubs FORCE ROW LEVEL SECURITY;
CREATE POLICY hub_scope ON hubs USING (consortium_may_see(id)) WITH CHECK (true);

ALTER TABLE members ENABLE ROW LEVEL SECURITY;
ALTER TABLE members FORCE ROW LEVEL SECURITY;
CREATE POLICY hub_scope ON members USING (consortium_may_see(hub_id)) WITH CHECK (true);

ALTER TABLE problems_view ENABLE ROW LEVEL SECURITY;
ALTER TABLE problems_view FORCE ROW LEVEL SECURITY;
CREATE POLICY hub_scope ON problems_view USING (consortium_may_see(hub_id)) WITH CHECK (true);

ALTER TABLE projects_view ENABLE ROW LEVEL SECURITY;
ALTER TABLE projects_view FORCE ROW LEVEL SECURITY;
CREATE POLICY hub_scope ON projects_view USING (consortium_may_see(hub_id)) WITH CHECK (true);

ALTER TABLE parts_view ENABLE ROW LEVEL SECURITY;
ALTER TABLE parts_view FORCE ROW LEVEL SECURITY;
CREATE POLICY hub_scope ON parts_view USING (consortium_may_see(hub_id)) WITH CHECK (true);

ALTER TABLE indicators_view ENABLE ROW LEVEL SECURITY;
ALTER TABLE indicators_view FORCE ROW LEVEL SECURITY;
CREATE POLICY hub_scope ON indicators_view USING (consortium_may_see(hub_id)) WITH CHECK (true);

ALTER TABLE shares_view ENABLE ROW LEVEL SECURITY;
ALTER TABLE shares_view FORCE ROW LEVEL SECURITY;
CREATE POLICY hub_scope ON shares_view USING (consortium_may_see(hub_id)) WITH CHECK (true);

ALTER TABLE measurements_view ENABLE ROW LEVEL SECURITY;
ALTER TABLE measurements_view FORCE ROW LEVEL SECURITY;
CREATE POLICY hub_scope ON measurements_view
    USING (consortium_may_see((SELECT i.hub_id FROM indicators_view i
                               WHERE i.id = indicator_id)))
    WITH CHECK (true);
