\echo Use "CREATE EXTENSION pgtls_ext" to load this file. \quit

CREATE FUNCTION pgtls_version() RETURNS text
  AS 'MODULE_PATHNAME', 'pgtls_ext_version' LANGUAGE C STRICT IMMUTABLE;

-- Lint findings of the running server's hba_file (as this server's version reads it).
CREATE FUNCTION pgtls_lint_hba_file() RETURNS json
  AS 'MODULE_PATHNAME', 'pgtls_ext_lint_hba_file' LANGUAGE C STRICT VOLATILE;

-- The rows pg_hba_file_rules would show, computed by pgtls from the running hba_file.
CREATE FUNCTION pgtls_hba_rules() RETURNS json
  AS 'MODULE_PATHNAME', 'pgtls_ext_hba_rules' LANGUAGE C STRICT VOLATILE;

-- A summary of a PEM certificate.
CREATE FUNCTION pgtls_cert_summary(pem text) RETURNS json
  AS 'MODULE_PATHNAME', 'pgtls_ext_cert_summary' LANGUAGE C STRICT IMMUTABLE;

-- What libpq would decide for a server presenting chain under conninfo
-- (sslmode, host, sslrootcert, ...), now.
CREATE FUNCTION pgtls_chain_verdict(chain text, conninfo text) RETURNS json
  AS 'MODULE_PATHNAME', 'pgtls_ext_chain_verdict' LANGUAGE C STRICT VOLATILE;
