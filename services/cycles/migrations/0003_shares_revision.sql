-- A prototype is shared once per revision (decision 005): which revision each share is of.
-- Shares recorded before the field existed have none.
ALTER TABLE shares_view ADD COLUMN revision integer;
