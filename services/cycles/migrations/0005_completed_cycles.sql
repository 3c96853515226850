-- The agencies' summary counts test cycles completed by decision from the log
-- (services/cycles/projections.py: agency_summary): this index holds only those events, so a
-- summary reads them, not the whole log.
CREATE INDEX events_cycles_completed ON events (stream_id) WHERE type = 'CycleCompleted';
