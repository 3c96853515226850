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
