-- Row-level security on read models, keyed on a per-transaction setting (DESIGN.md §5): a
-- transaction that reads on behalf of a caller sets consortium.hubs to the caller's hubs
-- ('a,b', '*' for every hub, '-' for none); a system task (projection runner, consumer,
-- command, rebuild) leaves it unset and sees every row. Services check the caller in code too;
-- this is the second barrier, should a query forget a WHERE.
CREATE FUNCTION consortium_may_see(hub text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE coalesce(current_setting('consortium.hubs', true), '')
               WHEN '' THEN true
               WHEN '*' THEN true
               ELSE hub = ANY (string_to_array(current_setting('consortium.hubs', true), ','))
           END
$$;

-- What a service migration calls for each read model: `hub` is the SQL expression of a row's
-- hub (a column, or a subquery for a table that has none). FORCE: the service's role owns its
-- tables and would otherwise bypass its own policies. Inserts are not checked: writes go
-- through commands, which check the caller in code.
CREATE FUNCTION consortium_scope_by_hub(tbl regclass, hub text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
    EXECUTE format('CREATE POLICY hub_scope ON %s USING (consortium_may_see(%s)) '
                   'WITH CHECK (true)', tbl, hub);
END
$$;
