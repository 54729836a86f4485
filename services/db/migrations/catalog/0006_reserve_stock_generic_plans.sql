-- reserve_stock plans its statements once per session instead of once per call.
--
-- Measured on the order benchmark (hack/bench/README.md, orders): reserve_stock took 39% of
-- PostgreSQL's CPU per order, and the planner half of that (19% of all samples in a profile of
-- the backends). plpgsql caches each statement's plan, but a statement reading an array parameter
-- (unnest(p_product_ids, ...), = ANY (p_product_ids)) gets a fresh custom plan on every call:
-- the custom plan knows the array's length (1-3 lines), the generic one assumes 10 elements and so
-- always looks dearer, and PostgreSQL re-planned all six statements against catalog.products and
-- its six indexes on every order. Every one of them is an index lookup by primary key whatever
-- the array's length, which is the plan the generic one is, so the function now always uses it.
-- Body, results, owner, grants, SECURITY DEFINER and search_path stay as 0004 left them.
ALTER FUNCTION catalog.reserve_stock(bigint[], integer[])
    SET plan_cache_mode = force_generic_plan;
