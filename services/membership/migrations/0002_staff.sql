-- People known as a member's staff (from a roster import): which member, and their position.
ALTER TABLE people_view ADD COLUMN member_id text, ADD COLUMN position text;
CREATE INDEX people_view_member ON people_view (member_id, id) WHERE member_id IS NOT NULL;
