-- What cycles knew of hubs and members moves into membership's directory
-- (services/membership/directory), which every service that needs them includes. Its tables
-- exist by now: a service's included modules migrate before the service's own files.
INSERT INTO directory_hubs (id, name) SELECT id, name FROM hubs ON CONFLICT (id) DO NOTHING;
-- A member cycles heard of only by its pre-work or off-boarding (its name '') is unknown until
-- its enrollment arrives, as it would be in the directory.
INSERT INTO directory_members (id, hub_id, name, status, prework_ready, prework_missing,
                               prework_version)
SELECT id, hub_id, nullif(name, ''), CASE WHEN active THEN 'active' ELSE 'offboarded' END,
       prework_ready, missing, prework_version
FROM members ON CONFLICT (id) DO NOTHING;
DROP TABLE hubs;
DROP TABLE members;
-- The directory keeps more than these tables did (a hub's state, time zone and stage; a
-- member's kind, grade span and enrollment; people's roles), so it reads membership's log again
-- from the beginning (its migration set the catch-up back). Its consumers have the names cycles'
-- own had: their inbox rows go too, so the news they handled is read again, and the directory's
-- rules make a second reading of the same news change nothing.
DELETE FROM inbox WHERE consumer IN ('on_hub_registered', 'on_member_enrolled',
                                     'on_member_prework_changed', 'on_member_offboarded');
