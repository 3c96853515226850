-- What membership hears from the cycles service about a member's pre-work (a consumer's state).
CREATE TABLE member_cycles (
    member_id         text PRIMARY KEY,
    problem_adopted   boolean NOT NULL DEFAULT false,
    smart_goals_set   boolean NOT NULL DEFAULT false
);
