-- Over Neon's SQL over HTTP there are no prepared statements: Postgres parses, analyses and plans every
-- statement anew, which is two thirds of what an upload's statement costs it (npm run bench:statement).
-- PL/pgSQL keeps the plans of a function's statements for the life of the session, and Neon's pooled
-- sessions outlive requests: src/db/statement-functions.ts sends a hot statement as the call of a function
-- whose body is that statement, which this function defines the first time it is needed.
--
-- The functions live in a schema of their own, where only its owner (the role that runs the migrations)
-- may create: no other role of a shared database can plant a function under a name the app will call.
CREATE SCHEMA qaboard_statements;
--> statement-breakpoint
REVOKE ALL ON SCHEMA qaboard_statements FROM PUBLIC;
--> statement-breakpoint
-- `statement` is the statement's text with its $1…$n parameters, as the app sends it. Its parameter types
-- are the ones Postgres infers for it (PREPARE, then pg_prepared_statements); its result columns are those
-- an execution of it answered (names, type oids and modifiers), since Postgres 15 can't tell them without
-- running it. They make a composite type of the same name, which the function returns rows of: no OUT
-- parameters, whose names would stand for columns of the statement's own tables in its body. Another
-- session defining the same function first is not an error (duplicate_object or duplicate_function,
-- unique_violation when both create it at the same moment, dependent_objects_still_exist when one found a
-- type left alone and the other defined its function meanwhile).
CREATE FUNCTION qaboard_statements.define_statement_function(
  function_name text, statement text, column_names text[], column_types oid[], column_type_modifiers int[]
) RETURNS void LANGUAGE plpgsql AS $define$
DECLARE
  probe text := function_name || '_probe';
  argument_types text;
  result_columns text;
BEGIN
  EXECUTE format('PREPARE %I AS %s', probe, statement);
  SELECT string_agg(format_type(p.type, NULL), ', ' ORDER BY p.k) INTO argument_types
    FROM pg_prepared_statements s, unnest(s.parameter_types) WITH ORDINALITY AS p(type, k) WHERE s.name = probe;
  -- A prepared statement outlives a failed transaction: it goes before anything else can fail.
  EXECUTE format('DEALLOCATE %I', probe);
  SELECT string_agg(format('%I %s', c.name, format_type(c.type, c.modifier)), ', ' ORDER BY c.k) INTO result_columns
    FROM unnest(column_names, column_types, column_type_modifiers) WITH ORDINALITY AS c(name, type, modifier, k);
  -- Left alone when only its function was dropped, the type might no longer match the statement's columns.
  IF to_regtype(format('qaboard_statements.%I', function_name)) IS NOT NULL THEN
    EXECUTE format('DROP TYPE qaboard_statements.%I', function_name);
  END IF;
  EXECUTE format('CREATE TYPE qaboard_statements.%I AS (%s)', function_name, result_columns);
  EXECUTE format('CREATE FUNCTION qaboard_statements.%I(%s) RETURNS SETOF qaboard_statements.%I LANGUAGE plpgsql AS %L',
    function_name, coalesce(argument_types, ''), function_name, E'BEGIN\nRETURN QUERY ' || statement || E'\n;\nEND');
EXCEPTION WHEN duplicate_object OR duplicate_function OR unique_violation OR dependent_objects_still_exist THEN
  NULL;
END
$define$;
