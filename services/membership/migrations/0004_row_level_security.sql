-- Read models are visible only within the reading caller's hubs (eventstore/schema/0002).
SELECT consortium_scope_by_hub('hubs_view', 'id');
SELECT consortium_scope_by_hub('members_view', 'hub_id');
SELECT consortium_scope_by_hub('people_view', 'hub_id');
SELECT consortium_scope_by_hub('people_pii',
                               '(SELECT v.hub_id FROM people_view v WHERE v.id = person_id)');
SELECT consortium_scope_by_hub('member_cycles',
                               '(SELECT m.hub_id FROM members_view m WHERE m.id = member_id)');
