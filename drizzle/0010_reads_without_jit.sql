-- Postgres' JIT compiles a query whose estimated cost passes jit_above_cost (100,000). With a million
-- outputs, the reads of /commits and /commit are estimated above it although they touch few rows
-- through indexes, and compiling them added 0.3–1.2 s to a request. The setting applies to every new
-- session of this database, whatever the driver (node-postgres, Neon's HTTP path, Hyperdrive).
-- A role that doesn't own the database may not change it: the migration goes on without it.
DO $$
BEGIN
  EXECUTE format('ALTER DATABASE %I SET jit = off', current_database());
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'jit stays as configured: % may not alter database %', current_user, current_database();
END
$$;
