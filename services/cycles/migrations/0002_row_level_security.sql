-- Read models are visible only within the reading caller's hubs (eventstore/schema/0002).
SELECT consortium_scope_by_hub('hubs', 'id');
SELECT consortium_scope_by_hub('members', 'hub_id');
SELECT consortium_scope_by_hub('problems_view', 'hub_id');
SELECT consortium_scope_by_hub('projects_view', 'hub_id');
SELECT consortium_scope_by_hub('parts_view', 'hub_id');
SELECT consortium_scope_by_hub('indicators_view', 'hub_id');
SELECT consortium_scope_by_hub('shares_view', 'hub_id');
SELECT consortium_scope_by_hub('measurements_view',
                               '(SELECT i.hub_id FROM indicators_view i WHERE i.id = indicator_id)');
