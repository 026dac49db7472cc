/*
 * pgtls_ext: SQL functions over libpgtls (linked statically).
 *
 * ereport(ERROR) long-jumps. No Rust frame may be on the stack when it does:
 * every function copies what it needs out of pgtls objects into palloc'd
 * memory, frees the pgtls objects, and only then reports an error. pgtls
 * never calls back into PostgreSQL.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include <pgtls.h>

PG_MODULE_MAGIC;

/* PostgreSQL 18 replaced pg_attribute_noreturn() with pg_noreturn. */
#ifdef pg_attribute_noreturn
#define EXT_NORETURN pg_attribute_noreturn()
#else
#define EXT_NORETURN pg_noreturn
#endif

#define TEXT_ARG(n) (const uint8_t *)VARDATA_ANY(PG_GETARG_TEXT_PP(n)), VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(n))

/* Copies the message, frees the error object, then raises. */
static void EXT_NORETURN raise_pgtls(const char *what, pgtls_status status,
                                                pgtls_error *err) {
  char message[1024];
  const char *m = err ? pgtls_error_message(err) : pgtls_status_str(status);
  strlcpy(message, m ? m : "unknown error", sizeof message);
  pgtls_error_free(err);
  ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                  errmsg("pgtls: %s: %s", what, message),
                  errdetail("pgtls status %u", (unsigned)status)));
}

/* Copies a pgtls buffer into a text datum and frees the buffer. */
static text *take_text(pgtls_buf *b) {
  text *t = cstring_to_text_with_len((const char *)pgtls_buf_data(b), (int)pgtls_buf_len(b));
  pgtls_buf_free(b);
  return t;
}

static uint32_t server_major(void) { return (uint32_t)(PG_VERSION_NUM / 10000); }

static pgtls_hba *read_running_hba(void) {
  const char *path = GetConfigOption("hba_file", false, false);
  const char *ssl = GetConfigOption("ssl", false, false);
  pgtls_hba *hba = NULL;
  pgtls_error *err = NULL;
  pgtls_status st = pgtls_hba_read_file((const uint8_t *)path, strlen(path), server_major(),
                                        ssl != NULL && strcmp(ssl, "on") == 0, &hba, &err);
  if (st != PGTLS_STATUS_OK) raise_pgtls("reading hba_file", st, err);
  return hba;
}

PG_FUNCTION_INFO_V1(pgtls_ext_version);
Datum pgtls_ext_version(PG_FUNCTION_ARGS) {
  PG_RETURN_TEXT_P(cstring_to_text(pgtls_version()));
}

/* Lint findings of the running server's own hba_file, as JSON. */
PG_FUNCTION_INFO_V1(pgtls_ext_lint_hba_file);
Datum pgtls_ext_lint_hba_file(PG_FUNCTION_ARGS) {
  pgtls_hba *hba = read_running_hba();
  pgtls_lint *lint = NULL;
  pgtls_buf *json = NULL;
  pgtls_error *err = NULL;
  pgtls_status st = pgtls_hba_lint(hba, NULL, &lint, &err);
  if (st == PGTLS_STATUS_OK) st = pgtls_lint_to_json(lint, &json, &err);
  pgtls_lint_free(lint);
  pgtls_hba_free(hba);
  if (st != PGTLS_STATUS_OK) raise_pgtls("lint", st, err);
  PG_RETURN_TEXT_P(take_text(json));
}

/* The rows pg_hba_file_rules would show for the running hba_file, as JSON. */
PG_FUNCTION_INFO_V1(pgtls_ext_hba_rules);
Datum pgtls_ext_hba_rules(PG_FUNCTION_ARGS) {
  pgtls_hba *hba = read_running_hba();
  pgtls_buf *json = NULL;
  pgtls_error *err = NULL;
  pgtls_status st = pgtls_hba_rules_json(hba, &json, &err);
  pgtls_hba_free(hba);
  if (st != PGTLS_STATUS_OK) raise_pgtls("rules", st, err);
  PG_RETURN_TEXT_P(take_text(json));
}

/* A summary of a certificate given as PEM text, as JSON. */
PG_FUNCTION_INFO_V1(pgtls_ext_cert_summary);
Datum pgtls_ext_cert_summary(PG_FUNCTION_ARGS) {
  pgtls_cert *cert = NULL;
  pgtls_buf *json = NULL;
  pgtls_error *err = NULL;
  pgtls_status st = pgtls_cert_parse(TEXT_ARG(0), &cert, &err);
  if (st == PGTLS_STATUS_OK) st = pgtls_cert_to_json(cert, &json, &err);
  pgtls_cert_free(cert);
  if (st != PGTLS_STATUS_OK) raise_pgtls("certificate", st, err);
  PG_RETURN_TEXT_P(take_text(json));
}

/* libpq's verdict on a chain (PEM, leaf first) for a conninfo, now. */
PG_FUNCTION_INFO_V1(pgtls_ext_chain_verdict);
Datum pgtls_ext_chain_verdict(PG_FUNCTION_ARGS) {
  int64_t now = (int64_t)timestamptz_to_time_t(GetCurrentTimestamp());
  pgtls_verdict *v = NULL;
  pgtls_buf *json = NULL;
  pgtls_error *err = NULL;
  pgtls_status st = pgtls_verify_server(TEXT_ARG(1), TEXT_ARG(0), server_major(), now, &v, &err);
  if (st == PGTLS_STATUS_OK) st = pgtls_verdict_to_json(v, &json, &err);
  pgtls_verdict_free(v);
  if (st != PGTLS_STATUS_OK) raise_pgtls("verify", st, err);
  PG_RETURN_TEXT_P(take_text(json));
}

#ifdef PGTLS_TEST_HOOKS
/* Makes Rust panic inside the library: the panic is caught at the boundary
 * and becomes an ERROR; the backend survives. */
PG_FUNCTION_INFO_V1(pgtls_ext_testing_panic);
Datum pgtls_ext_testing_panic(PG_FUNCTION_ARGS) {
  pgtls_error *err = NULL;
  pgtls_status st = pgtls_testing_panic(&err);
  raise_pgtls("testing panic", st, err);
}
#endif
