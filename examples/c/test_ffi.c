/*
 * The C test suite of libpgtls: every export with valid input and with NULL,
 * empty, truncated and garbage input. Built with -std=c99 -Wall -Wextra
 * -Wpedantic -Werror and run under AddressSanitizer + UndefinedBehaviorSanitizer,
 * and once under valgrind (see Makefile and scripts/test-ffi.sh).
 */
#define _POSIX_C_SOURCE 200809L
#include <pgtls.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int failures = 0;
static int checks = 0;

#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    checks++;                                                                  \
    if (!(cond)) {                                                             \
      failures++;                                                              \
      fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
    }                                                                          \
  } while (0)

/* A (const uint8_t *, size_t) pair from a C string. */
#define S(s) (const uint8_t *)(s), strlen(s)
#define EMPTY NULL, 0
/* A pointer value no call may write on failure. */
#define SENTINEL ((void *)0x5a5a)
/* A NULL-terminated list of role names for eval_conn. */
#define ROLES(...) ((const char *const[]){__VA_ARGS__, NULL})
/* Role arrays for pgtls_ident_usermap: none, or a static array of names. */
#define NO_ROLES NULL, NULL, 0
#define ROLE_ARRAY(a) (a), a##_lens, sizeof(a) / sizeof((a)[0])

/* An outcome enum's value as text, for failure messages. */
static const char *u32s(unsigned v) {
  static char buf[16];
  snprintf(buf, sizeof buf, "%u", v);
  return buf;
}

/* Evaluates one connection through the request builder (the only way):
 * `address` (NULL, 0) is a Unix-domain socket, `roles` a NULL-terminated
 * list or NULL. Stops at the first call that fails. */
static pgtls_status eval_conn(const pgtls_hba *hba, const uint8_t *address, size_t address_len,
                              const uint8_t *db, size_t db_len, const uint8_t *user,
                              size_t user_len, const char *const *roles, uint32_t flags,
                              pgtls_hba_decision **out, pgtls_error **err) {
  pgtls_hba_request *req = NULL;
  pgtls_status st = pgtls_hba_request_new(db, db_len, user, user_len, &req, err);
  if (st == PGTLS_STATUS_OK) st = pgtls_hba_request_set_address(req, address, address_len, err);
  if (st == PGTLS_STATUS_OK) st = pgtls_hba_request_set_flags(req, flags, err);
  for (size_t i = 0; st == PGTLS_STATUS_OK && roles != NULL && roles[i] != NULL; i++)
    st = pgtls_hba_request_add_role(req, (const uint8_t *)roles[i], strlen(roles[i]), err);
  if (st == PGTLS_STATUS_OK) st = pgtls_hba_evaluate_request(hba, req, out, err);
  pgtls_hba_request_free(req);
  return st;
}

static const char *msg(const pgtls_error *e) {
  const char *m = pgtls_error_message(e);
  return m ? m : "(no message)";
}

/* Checks that a call failed with `want` (or any failure when want == 0),
 * produced an error object with that status and a message, and frees it. */
static void expect_fail(const char *what, pgtls_status got, pgtls_error *err,
                        pgtls_status want, int line) {
  checks++;
  if (got == PGTLS_STATUS_OK || (want != 0 && got != want) ||
      got == PGTLS_STATUS_PANIC) {
    failures++;
    fprintf(stderr, "line %d: %s: status %u (%s), wanted %u: %s\n", line, what,
            (unsigned)got, pgtls_status_str(got), (unsigned)want, msg(err));
  } else if (err == NULL || pgtls_error_status(err) != got ||
             pgtls_error_message(err) == NULL ||
             strlen(pgtls_error_message(err)) == 0) {
    failures++;
    fprintf(stderr, "line %d: %s: no proper error object\n", line, what);
  }
  pgtls_error_free(err);
}
#define FAILS(call, want)                                                      \
  do {                                                                         \
    pgtls_error *err_ = NULL;                                                  \
    pgtls_status st_ = call;                                                   \
    expect_fail(#call, st_, err_, want, __LINE__);                             \
  } while (0)

static void expect_ok(const char *what, pgtls_status got, pgtls_error *err,
                      int line) {
  checks++;
  if (got != PGTLS_STATUS_OK) {
    failures++;
    fprintf(stderr, "line %d: %s: status %u (%s): %s\n", line, what,
            (unsigned)got, pgtls_status_str(got), msg(err));
  }
  pgtls_error_free(err);
}
#define OK(call)                                                               \
  do {                                                                         \
    pgtls_error *err_ = NULL;                                                  \
    pgtls_status st_ = call;                                                   \
    expect_ok(#call, st_, err_, __LINE__);                                     \
  } while (0)

static char *buf_string(pgtls_buf *b) {
  /* pgtls_buf data is NUL-terminated after pgtls_buf_len bytes. */
  size_t n = pgtls_buf_len(b);
  char *s = malloc(n + 1);
  if (s == NULL) abort();
  memcpy(s, pgtls_buf_data(b), n + 1);
  pgtls_buf_free(b);
  return s;
}

static int64_t now_s;
/* Under valgrind, passphrase work (PBKDF2 with 600000 iterations) takes
 * minutes; PGTLS_TEST_NO_PASSPHRASE=1 leaves it to the sanitizer run. */
static int with_passphrase = 1;

static void test_version(void) {
  char expect[64];
  snprintf(expect, sizeof expect, "%d.%d.%d", PGTLS_VERSION_MAJOR,
           PGTLS_VERSION_MINOR, PGTLS_VERSION_PATCH);
  CHECK(strcmp(pgtls_version(), expect) == 0, "runtime %s, header %s",
        pgtls_version(), expect);
  CHECK(pgtls_abi_version() == PGTLS_ABI_VERSION, "abi %u",
        (unsigned)pgtls_abi_version());
  CHECK(PGTLS_VERSION_NUMBER == ((PGTLS_VERSION_MAJOR << 16) |
                                 (PGTLS_VERSION_MINOR << 8) |
                                 PGTLS_VERSION_PATCH),
        "version number %d", PGTLS_VERSION_NUMBER);
  CHECK(PGTLS_VERSION_CHECK(PGTLS_VERSION_MAJOR, PGTLS_VERSION_MINOR,
                            PGTLS_VERSION_PATCH),
        "version check");
  CHECK(!PGTLS_VERSION_CHECK(PGTLS_VERSION_MAJOR + 1, 0, 0), "version check");
  CHECK(strcmp(pgtls_status_str(PGTLS_STATUS_OK), "ok") == 0, "ok text");
  CHECK(strcmp(pgtls_status_str(123456), "unknown status") == 0, "unknown");
  CHECK(strlen(pgtls_status_str(PGTLS_STATUS_PANIC)) > 0, "panic text");
}

static void test_null_handles(void) {
  /* Every _free accepts NULL; getters give NULL/0/false for NULL. */
  pgtls_buf_free(NULL);
  pgtls_error_free(NULL);
  pgtls_key_free(NULL);
  pgtls_cert_free(NULL);
  pgtls_ca_free(NULL);
  pgtls_store_free(NULL);
  pgtls_hba_free(NULL);
  pgtls_hba_decision_free(NULL);
  pgtls_lint_free(NULL);
  pgtls_ident_free(NULL);
  pgtls_hba_request_free(NULL);
  CHECK(pgtls_client_decision_outcome(NULL) == PGTLS_CLIENT_OUTCOME_INVALID &&
            pgtls_client_decision_undecided(NULL) == NULL,
        "client decision getters");
  CHECK(pgtls_buf_data(NULL) == NULL && pgtls_buf_len(NULL) == 0, "buf");
  CHECK(pgtls_error_status(NULL) == PGTLS_STATUS_NULL_ARGUMENT, "err status");
  CHECK(pgtls_error_message(NULL) == NULL, "err msg");
  CHECK(pgtls_cert_subject(NULL) == NULL && pgtls_cert_issuer(NULL) == NULL &&
            pgtls_cert_serial(NULL) == NULL,
        "cert strings");
  CHECK(pgtls_cert_not_before(NULL) == 0 && pgtls_cert_not_after(NULL) == 0 &&
            !pgtls_cert_is_ca(NULL) && pgtls_cert_san_count(NULL) == 0 &&
            pgtls_cert_san(NULL, 0) == NULL,
        "cert values");
  {
    pgtls_cert *c = SENTINEL;
    FAILS(pgtls_ca_certificate(NULL, &c, &err_), PGTLS_STATUS_NULL_ARGUMENT);
    FAILS(pgtls_store_ca_certificate(NULL, &c, &err_), PGTLS_STATUS_NULL_ARGUMENT);
    CHECK(c == SENTINEL, "cert written on failure");
  }
  CHECK(pgtls_hba_load_error(NULL) == NULL && pgtls_hba_line_count(NULL) == 0 &&
            pgtls_hba_line_number(NULL, 0) == 0 &&
            pgtls_hba_line_text(NULL, 0) == NULL &&
            pgtls_hba_line_error(NULL, 0) == NULL &&
            pgtls_hba_line_type(NULL, 0) == NULL &&
            pgtls_hba_line_method(NULL, 0) == NULL,
        "hba getters");
  CHECK(pgtls_hba_decision_outcome(NULL) == PGTLS_HBA_OUTCOME_INVALID &&
            pgtls_hba_decision_line(NULL) == 0 &&
            pgtls_hba_decision_method(NULL) == NULL &&
            pgtls_hba_decision_message(NULL) == NULL,
        "decision getters");
  CHECK(pgtls_lint_count(NULL) == 0 && pgtls_lint_line(NULL, 0) == 0 &&
            pgtls_lint_severity(NULL, 0) == PGTLS_SEVERITY_INVALID &&
            pgtls_lint_code(NULL, 0) == NULL &&
            pgtls_lint_message(NULL, 0) == NULL,
        "lint getters");
  CHECK(pgtls_ident_load_error(NULL) == NULL, "ident");

  pgtls_buf *b = SENTINEL;
  FAILS(pgtls_cert_to_pem(NULL, &b, &err_), PGTLS_STATUS_NULL_ARGUMENT);
  FAILS(pgtls_cert_to_json(NULL, &b, &err_), PGTLS_STATUS_NULL_ARGUMENT);
  FAILS(pgtls_key_to_pem(NULL, EMPTY, &b, &err_), PGTLS_STATUS_NULL_ARGUMENT);
  FAILS(pgtls_hba_rules_json(NULL, &b, &err_), PGTLS_STATUS_NULL_ARGUMENT);
  FAILS(pgtls_hba_decision_to_json(NULL, &b, &err_), PGTLS_STATUS_NULL_ARGUMENT);
  FAILS(pgtls_lint_to_json(NULL, &b, &err_), PGTLS_STATUS_NULL_ARGUMENT);
  FAILS(pgtls_ident_mappings_json(NULL, &b, &err_), PGTLS_STATUS_NULL_ARGUMENT);
  FAILS(pgtls_store_entries_json(NULL, &b, &err_), PGTLS_STATUS_NULL_ARGUMENT);
  FAILS(pgtls_store_generate_crl(NULL, now_s + 86400, now_s, &b, &err_),
        PGTLS_STATUS_NULL_ARGUMENT);
  FAILS(pgtls_store_revoke(NULL, S("01"), EMPTY, now_s, &err_),
        PGTLS_STATUS_NULL_ARGUMENT);
  CHECK(b == SENTINEL, "output written on failure");
  /* err_out may be NULL. */
  CHECK(pgtls_cert_to_pem(NULL, &b, NULL) == PGTLS_STATUS_NULL_ARGUMENT, "no err");
#ifdef PGTLS_TEST_HOOKS
  {
    pgtls_error *err = NULL;
    CHECK(pgtls_testing_panic(&err) == PGTLS_STATUS_PANIC, "panic status");
    CHECK(err != NULL && strstr(msg(err), "pgtls_testing_panic") != NULL,
          "panic message: %s", msg(err));
    pgtls_error_free(err);
    CHECK(pgtls_testing_panic(NULL) == PGTLS_STATUS_PANIC, "panic, no err");
  }
#endif
}

static void test_keys(void) {
  pgtls_key *key = SENTINEL;
  FAILS(pgtls_key_generate(S("no-such-algorithm"), &key, &err_),
        PGTLS_STATUS_INVALID_ARGUMENT);
  FAILS(pgtls_key_generate(NULL, 4, &key, &err_), PGTLS_STATUS_NULL_ARGUMENT);
  FAILS(pgtls_key_generate((const uint8_t *)"\xff\xfe", 2, &key, &err_),
        PGTLS_STATUS_INVALID_UTF8);
  FAILS(pgtls_key_generate(EMPTY, NULL, &err_), PGTLS_STATUS_NULL_ARGUMENT);
  CHECK(key == SENTINEL, "key written on failure");
  OK(pgtls_key_generate(EMPTY, &key, &err_));
  pgtls_buf *pem = NULL;
  OK(pgtls_key_to_pem(key, EMPTY, &pem, &err_));
  char *text = buf_string(pem);
  CHECK(strstr(text, "-----BEGIN PRIVATE KEY-----") != NULL, "%s", text);
  pgtls_key *again = NULL;
  OK(pgtls_key_parse(S(text), EMPTY, &again, &err_));
  pgtls_key_free(again);
  /* Truncated, garbage, empty. */
  pgtls_key *bad = SENTINEL;
  FAILS(pgtls_key_parse((const uint8_t *)text, strlen(text) / 2, EMPTY, &bad, &err_), 0);
  FAILS(pgtls_key_parse(S("garbage"), EMPTY, &bad, &err_), 0);
  FAILS(pgtls_key_parse(EMPTY, EMPTY, &bad, &err_), 0);
  FAILS(pgtls_key_parse(NULL, 10, EMPTY, &bad, &err_), PGTLS_STATUS_NULL_ARGUMENT);
  CHECK(bad == SENTINEL, "key written on failure");
  free(text);
  /* Encrypted PKCS#8 round trip; the wrong passphrase fails. */
  if (!with_passphrase) {
    pgtls_key_free(key);
    return;
  }
  OK(pgtls_key_to_pem(key, S("secret"), &pem, &err_));
  text = buf_string(pem);
  CHECK(strstr(text, "ENCRYPTED PRIVATE KEY") != NULL, "%s", text);
  OK(pgtls_key_parse(S(text), S("secret"), &again, &err_));
  pgtls_key_free(again);
  FAILS(pgtls_key_parse(S(text), S("wrong"), &bad, &err_), PGTLS_STATUS_PARSE_KEY);
  FAILS(pgtls_key_parse(S(text), EMPTY, &bad, &err_), PGTLS_STATUS_PARSE_KEY);
  free(text);
  pgtls_key_free(key);
}

static void check_cert_input(const char *pem) {
  /* Every prefix of a valid certificate is rejected cleanly or accepted. */
  size_t n = strlen(pem);
  for (size_t i = 0; i < n; i += 13) {
    pgtls_cert *c = SENTINEL;
    pgtls_error *err = NULL;
    pgtls_status st = pgtls_cert_parse((const uint8_t *)pem, i, &c, &err);
    CHECK(st != PGTLS_STATUS_PANIC, "panic at prefix %zu", i);
    if (st == PGTLS_STATUS_OK) {
      pgtls_cert_free(c);
    } else {
      CHECK(c == SENTINEL && err != NULL, "prefix %zu", i);
    }
    pgtls_error_free(err);
  }
  /* Garbage: flip bytes in the middle. */
  char *copy = strdup(pem);
  if (copy == NULL) abort();
  for (size_t i = 40; i + 40 < n; i += 97) {
    copy[i] ^= 0x55;
    pgtls_cert *c = NULL;
    pgtls_error *err = NULL;
    pgtls_status st = pgtls_cert_parse((const uint8_t *)copy, n, &c, &err);
    CHECK(st != PGTLS_STATUS_PANIC, "panic with garbage at %zu", i);
    pgtls_cert_free(c);
    pgtls_error_free(err);
  }
  free(copy);
}

static void test_verify(const char *dir, const pgtls_store *store, const pgtls_cert *server,
                        const pgtls_cert *client) {
  char root[600], conninfo[1200];
  snprintf(root, sizeof root, "%s/root.crt", dir);
  pgtls_buf *b = NULL;
  pgtls_cert *cacert = NULL;
  OK(pgtls_store_ca_certificate(store, &cacert, &err_));
  OK(pgtls_cert_to_pem(cacert, &b, &err_));
  pgtls_cert_free(cacert); /* an owned copy: the store keeps its own */
  FILE *f = fopen(root, "w");
  if (f == NULL) abort();
  fwrite(pgtls_buf_data(b), 1, pgtls_buf_len(b), f);
  fclose(f);
  pgtls_buf_free(b);
  OK(pgtls_cert_to_pem(server, &b, &err_));
  char *chain = buf_string(b);

  pgtls_verdict *v = SENTINEL;
  snprintf(conninfo, sizeof conninfo, "host=db.example.com sslmode=verify-full sslrootcert=%s",
           root);
  FAILS(pgtls_verify_server(S(conninfo), S(chain), 11, now_s, &v, &err_),
        PGTLS_STATUS_INVALID_ARGUMENT);
  FAILS(pgtls_verify_server(S("no equals sign"), S(chain), 15, now_s, &v, &err_),
        PGTLS_STATUS_PARSE_VALUE);
  FAILS(pgtls_verify_server(S(conninfo), S("garbage"), 15, now_s, &v, &err_), 0);
  FAILS(pgtls_verify_server(S(conninfo), EMPTY, 15, now_s, &v, &err_), 0);
  FAILS(pgtls_verify_server(S(conninfo), (const uint8_t *)chain, strlen(chain) / 2, 15, now_s,
                            &v, &err_), 0);
  FAILS(pgtls_verify_server(NULL, 3, S(chain), 15, now_s, &v, &err_), PGTLS_STATUS_NULL_ARGUMENT);
  FAILS(pgtls_verify_server(S(conninfo), S(chain), 15, now_s, NULL, &err_),
        PGTLS_STATUS_NULL_ARGUMENT);
  CHECK(v == SENTINEL, "verdict written on failure");

  OK(pgtls_verify_server(S(conninfo), S(chain), 15, now_s, &v, &err_));
  CHECK(pgtls_verdict_outcome(v) == PGTLS_CHAIN_OUTCOME_ACCEPT && pgtls_verdict_tls(v), "accept");
  CHECK(pgtls_verdict_message(v) == NULL && pgtls_verdict_reason(v) == NULL &&
            pgtls_verdict_reason_code(v) == 0 && !pgtls_verdict_plaintext_fallback(v),
        "accepted verdict details");
  OK(pgtls_verdict_to_json(v, &b, &err_));
  char *json = buf_string(b);
  CHECK(strstr(json, "\"verdict\":\"accept\"") != NULL, "%s", json);
  free(json);
  pgtls_verdict_free(v);

  snprintf(conninfo, sizeof conninfo, "host=wrong.example.com sslmode=verify-full sslrootcert=%s",
           root);
  OK(pgtls_verify_server(S(conninfo), S(chain), 15, now_s, &v, &err_));
  CHECK(pgtls_verdict_outcome(v) != PGTLS_CHAIN_OUTCOME_ACCEPT, "wrong host accepted");
  CHECK(pgtls_verdict_message(v) != NULL &&
            strstr(pgtls_verdict_message(v), "does not match host name") != NULL,
        "%s", pgtls_verdict_message(v));
  pgtls_verdict_free(v);

  /* Expired at `now`: a chain failure with OpenSSL's hidden reason (10). */
  snprintf(conninfo, sizeof conninfo, "host=db.example.com sslmode=prefer sslrootcert=%s", root);
  OK(pgtls_verify_server(S(conninfo), S(chain), 15, now_s + 400 * 86400, &v, &err_));
  CHECK(pgtls_verdict_outcome(v) != PGTLS_CHAIN_OUTCOME_ACCEPT && pgtls_verdict_plaintext_fallback(v), "expired, prefer");
  CHECK(pgtls_verdict_reason(v) != NULL &&
            strcmp(pgtls_verdict_reason(v), "certificate has expired") == 0,
        "reason %s", pgtls_verdict_reason(v));
  CHECK(pgtls_verdict_reason_code(v) == 10, "code %u", (unsigned)pgtls_verdict_reason_code(v));
  pgtls_verdict_free(v);

  /* sslmode=disable: no TLS at all. */
  OK(pgtls_verify_server(S("sslmode=disable host=db.example.com"), S(chain), 15, now_s, &v,
                         &err_));
  CHECK(!pgtls_verdict_tls(v) && pgtls_verdict_outcome(v) != PGTLS_CHAIN_OUTCOME_ACCEPT, "disable");
  pgtls_verdict_free(v);

  CHECK(pgtls_verdict_outcome(NULL) == PGTLS_CHAIN_OUTCOME_INVALID && !pgtls_verdict_tls(NULL) &&
            !pgtls_verdict_plaintext_fallback(NULL) && pgtls_verdict_message(NULL) == NULL &&
            pgtls_verdict_reason(NULL) == NULL && pgtls_verdict_reason_code(NULL) == 0,
        "NULL verdict getters");
  pgtls_verdict_free(NULL);
  FAILS(pgtls_verdict_to_json(NULL, &b, &err_), PGTLS_STATUS_NULL_ARGUMENT);

  /* libpq's host-name check on its own. */
  pgtls_leaf *leaf = SENTINEL;
  FAILS(pgtls_leaf_parse(S("garbage"), &leaf, &err_), 0);
  FAILS(pgtls_leaf_parse(EMPTY, &leaf, &err_), 0);
  FAILS(pgtls_leaf_parse((const uint8_t *)chain, strlen(chain) / 3, &leaf, &err_), 0);
  CHECK(leaf == SENTINEL, "leaf written on failure");
  OK(pgtls_leaf_parse(S(chain), &leaf, &err_));
  {
    const char *hosts[] = {"db.example.com", "DB.Example.COM", "127.0.0.1"};
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
      bool matches = false;
      pgtls_buf *m = SENTINEL;
      OK(pgtls_leaf_check_host(leaf, S(hosts[i]), 15, &matches, &m, &err_));
      CHECK(matches && m == NULL, "%s does not match", hosts[i]);
    }
    /* A mismatch is a verdict, not a failed call. */
    bool matches = true;
    pgtls_buf *m = NULL;
    OK(pgtls_leaf_check_host(leaf, S("x.example.com"), 15, &matches, &m, &err_));
    char *text = buf_string(m);
    CHECK(!matches && strstr(text, "does not match host name") != NULL, "%s", text);
    free(text);
    matches = true;
    OK(pgtls_leaf_check_host(leaf, S("x.example.com"), 15, &matches, NULL, &err_));
    CHECK(!matches, "mismatch without a message");
    FAILS(pgtls_leaf_check_host(leaf, S("db.example.com"), 15, NULL, NULL, &err_),
          PGTLS_STATUS_NULL_ARGUMENT);
    FAILS(pgtls_leaf_check_host(leaf, S("db.example.com"), 3, &matches, NULL, &err_),
          PGTLS_STATUS_INVALID_ARGUMENT);
    FAILS(pgtls_leaf_check_host(NULL, S("db.example.com"), 15, &matches, NULL, &err_),
          PGTLS_STATUS_NULL_ARGUMENT);
  }
  pgtls_leaf_free(leaf);
  pgtls_leaf_free(NULL);

  /* The server's decision about a client certificate (cert authentication). */
  OK(pgtls_cert_to_pem(client, &b, &err_));
  char *client_pem = buf_string(b);
  const char *line = "hostssl all all 0.0.0.0/0 cert";
  pgtls_client_decision *cd = SENTINEL;
  FAILS(pgtls_verify_client(S("local all all peer"), S(root), EMPTY, NULL, S("alice"),
                            S(client_pem), 15, now_s, &cd, &err_), 0);
  FAILS(pgtls_verify_client(S(line), S("/nonexistent/root.crt"), EMPTY, NULL, S("alice"),
                            S(client_pem), 15, now_s, &cd, &err_), 0);
  FAILS(pgtls_verify_client(S(line), S(root), EMPTY, NULL, S("alice"), S("garbage"), 15, now_s,
                            &cd, &err_), 0);
  FAILS(pgtls_verify_client(S(line), S(root), EMPTY, NULL, NULL, 2, S(client_pem), 15, now_s, &cd,
                            &err_), PGTLS_STATUS_NULL_ARGUMENT);
  CHECK(cd == SENTINEL, "decision written on failure");
  OK(pgtls_verify_client(S(line), S(root), EMPTY, NULL, S("alice"), S(client_pem), 15, now_s,
                         &cd, &err_));
  CHECK(pgtls_client_decision_outcome(cd) == PGTLS_CLIENT_OUTCOME_ACCEPT, "alice: %s", pgtls_client_decision_message(cd));
  CHECK(pgtls_client_decision_message(cd) == NULL, "no message");
  CHECK(pgtls_client_decision_outcome(cd) == PGTLS_CLIENT_OUTCOME_ACCEPT &&
            pgtls_client_decision_undecided(cd) == NULL,
        "accept verdict %s", u32s(pgtls_client_decision_outcome(cd)));
  OK(pgtls_client_decision_to_json(cd, &b, &err_));
  json = buf_string(b);
  CHECK(strstr(json, "\"peer_cn\":\"alice\"") != NULL, "%s", json);
  free(json);
  pgtls_client_decision_free(cd);
  OK(pgtls_verify_client(S(line), S(root), EMPTY, NULL, S("bob"), S(client_pem), 15, now_s, &cd,
                         &err_));
  CHECK(pgtls_client_decision_outcome(cd) != PGTLS_CLIENT_OUTCOME_ACCEPT, "bob accepted with alice's certificate");
  CHECK(pgtls_client_decision_outcome(cd) == PGTLS_CLIENT_OUTCOME_REJECT &&
            pgtls_client_decision_undecided(cd) == NULL,
        "reject verdict %s", u32s(pgtls_client_decision_outcome(cd)));
  CHECK(pgtls_client_decision_message(cd) != NULL &&
            strstr(pgtls_client_decision_message(cd), "FATAL") != NULL,
        "%s", pgtls_client_decision_message(cd));
  (void)pgtls_client_decision_log(cd);
  pgtls_client_decision_free(cd);
  OK(pgtls_verify_client(S(line), S(root), EMPTY, NULL, S("alice"), EMPTY, 15, now_s, &cd, &err_));
  CHECK(pgtls_client_decision_outcome(cd) != PGTLS_CLIENT_OUTCOME_ACCEPT, "no certificate accepted");
  pgtls_client_decision_free(cd);
  /* A pg_ident.conf regular expression with a back-reference, which pgtls
   * cannot run the way PostgreSQL's regex engine does: undecided, which is
   * neither an acceptance nor a refusal. */
  {
    pgtls_ident *ident = NULL;
    OK(pgtls_ident_parse(S("m /^(a)\\1?lice$ alice\n"), 15, &ident, &err_));
    const char *mapline = "hostssl all all 0.0.0.0/0 cert map=m";
    OK(pgtls_verify_client(S(mapline), S(root), EMPTY, ident, S("alice"), S(client_pem), 15,
                           now_s, &cd, &err_));
    CHECK(pgtls_client_decision_outcome(cd) != PGTLS_CLIENT_OUTCOME_ACCEPT, "undecided accepted");
    CHECK(pgtls_client_decision_outcome(cd) == PGTLS_CLIENT_OUTCOME_UNDECIDED, "verdict %s",
          u32s(pgtls_client_decision_outcome(cd)));
    CHECK(pgtls_client_decision_undecided(cd) != NULL &&
              strlen(pgtls_client_decision_undecided(cd)) > 0,
          "undecided reason");
    CHECK(pgtls_client_decision_message(cd) != NULL &&
              strstr(pgtls_client_decision_message(cd), "pgtls cannot decide") != NULL,
          "%s", pgtls_client_decision_message(cd));
    OK(pgtls_client_decision_to_json(cd, &b, &err_));
    json = buf_string(b);
    /* The report's verdict says undecided, and "undecided" carries the reason. */
    CHECK(strstr(json, "\"verdict\":\"undecided\"") != NULL &&
              strstr(json, "\"undecided\":\"") != NULL,
          "%s", json);
    free(json);
    pgtls_client_decision_free(cd);
    /* The same map with a literal line decides. */
    pgtls_ident_free(ident);
    OK(pgtls_ident_parse(S("m alice alice\n"), 15, &ident, &err_));
    OK(pgtls_verify_client(S(mapline), S(root), EMPTY, ident, S("alice"), S(client_pem), 15,
                           now_s, &cd, &err_));
    CHECK(pgtls_client_decision_outcome(cd) == PGTLS_CLIENT_OUTCOME_ACCEPT, "literal map: %s",
          pgtls_client_decision_message(cd));
    pgtls_client_decision_free(cd);
    pgtls_ident_free(ident);
  }
  CHECK(pgtls_client_decision_outcome(NULL) == PGTLS_CLIENT_OUTCOME_INVALID && pgtls_client_decision_message(NULL) == NULL &&
            pgtls_client_decision_log(NULL) == NULL,
        "NULL decision getters");
  pgtls_client_decision_free(NULL);
  FAILS(pgtls_client_decision_to_json(NULL, &b, &err_), PGTLS_STATUS_NULL_ARGUMENT);
  free(client_pem);
  free(chain);
}

static void test_ca_and_store(const char *dir) {
  char storedir[512];
  snprintf(storedir, sizeof storedir, "%s/ca", dir);
  pgtls_key *cakey = NULL, *key = NULL;
  OK(pgtls_key_generate(S("p256"), &cakey, &err_));
  OK(pgtls_key_generate(S("p256"), &key, &err_));

  pgtls_ca *ca = SENTINEL;
  FAILS(pgtls_ca_create_root(S("not a subject"), cakey, 365, -1, now_s, &ca, &err_), 0);
  FAILS(pgtls_ca_create_root(S("/CN=x"), NULL, 365, -1, now_s, &ca, &err_),
        PGTLS_STATUS_NULL_ARGUMENT);
  FAILS(pgtls_ca_create_root(S("/CN=x"), cakey, 365, 300, now_s, &ca, &err_),
        PGTLS_STATUS_INVALID_ARGUMENT);
  FAILS(pgtls_ca_create_root(S("/CN=x"), cakey, 365, -1, INT64_MAX, &ca, &err_),
        PGTLS_STATUS_INVALID_ARGUMENT);
  CHECK(ca == SENTINEL, "ca written on failure");
  OK(pgtls_ca_create_root(S("/O=pgtls test/CN=Test Root CA"), cakey, 3650, 0,
                          now_s, &ca, &err_));
  pgtls_cert *cacert = NULL; /* an owned copy, freed below */
  OK(pgtls_ca_certificate(ca, &cacert, &err_));
  CHECK(cacert != NULL && pgtls_cert_is_ca(cacert), "CA cert");
  CHECK(strstr(pgtls_cert_subject(cacert), "CN=Test Root CA") != NULL, "%s",
        pgtls_cert_subject(cacert));
  CHECK(strcmp(pgtls_cert_subject(cacert), pgtls_cert_issuer(cacert)) == 0,
        "self-signed");
  CHECK(pgtls_cert_not_before(cacert) <= now_s &&
            pgtls_cert_not_after(cacert) > now_s + 3649 * 86400,
        "validity");

  pgtls_store *store = SENTINEL;
  FAILS(pgtls_store_create(EMPTY, ca, EMPTY, &store, &err_),
        PGTLS_STATUS_INVALID_ARGUMENT);
  FAILS(pgtls_store_create(S(storedir), NULL, EMPTY, &store, &err_),
        PGTLS_STATUS_NULL_ARGUMENT);
  CHECK(store == SENTINEL, "store written on failure");
  const uint8_t *pass = with_passphrase ? (const uint8_t *)"store pass" : NULL;
  size_t pass_len = with_passphrase ? strlen("store pass") : 0;
  OK(pgtls_store_create(S(storedir), ca, pass, pass_len, &store, &err_));
  if (store == SENTINEL) abort(); /* nothing below can work */
  pgtls_store *dup = SENTINEL;
  FAILS(pgtls_store_create(S(storedir), ca, EMPTY, &dup, &err_),
        PGTLS_STATUS_ALREADY_EXISTS);
  FAILS(pgtls_store_open(S("/nonexistent/pgtls/store"), EMPTY, &dup, &err_), 0);
  if (with_passphrase)
    FAILS(pgtls_store_open(S(storedir), S("wrong pass"), &dup, &err_), PGTLS_STATUS_PARSE_KEY);
  CHECK(dup == SENTINEL, "store written on failure");
  pgtls_store_free(store);
  OK(pgtls_store_open(S(storedir), pass, pass_len, &store, &err_));
  {
    pgtls_cert *storecert = NULL;
    OK(pgtls_store_ca_certificate(store, &storecert, &err_));
    CHECK(storecert != cacert &&
              strcmp(pgtls_cert_subject(storecert), pgtls_cert_subject(cacert)) == 0,
          "store CA");
    pgtls_cert_free(storecert);
  }

  pgtls_cert *server = SENTINEL;
  FAILS(pgtls_store_issue_server(store, EMPTY, key, 30, now_s, &server, &err_),
        PGTLS_STATUS_INVALID_ARGUMENT);
  FAILS(pgtls_store_issue_server(store, S("bad name!"), key, 30, now_s, &server, &err_), 0);
  FAILS(pgtls_store_issue_server(store, S("db"), NULL, 30, now_s, &server, &err_),
        PGTLS_STATUS_NULL_ARGUMENT);
  FAILS(pgtls_store_issue_server(NULL, S("db"), key, 30, now_s, &server, &err_),
        PGTLS_STATUS_NULL_ARGUMENT);
  FAILS(pgtls_store_issue_server(store, S("db"), key, 30, now_s - 86400 * 365, &server, &err_),
        PGTLS_STATUS_ISSUE);
  CHECK(server == SENTINEL, "cert written on failure");
  OK(pgtls_store_issue_server(store, S("db.example.com, 127.0.0.1"), key, 30,
                              now_s, &server, &err_));
  CHECK(pgtls_cert_san_count(server) == 2, "%zu SANs", pgtls_cert_san_count(server));
  CHECK(pgtls_cert_san(server, 0) != NULL &&
            strstr(pgtls_cert_san(server, 0), "db.example.com") != NULL,
        "SAN 0 %s", pgtls_cert_san(server, 0));
  CHECK(pgtls_cert_san(server, 1) != NULL &&
            strstr(pgtls_cert_san(server, 1), "127.0.0.1") != NULL,
        "SAN 1 %s", pgtls_cert_san(server, 1));
  CHECK(pgtls_cert_san(server, 2) == NULL, "SAN out of range");
  CHECK(!pgtls_cert_is_ca(server), "server is not a CA");
  CHECK(strcmp(pgtls_cert_issuer(server), pgtls_cert_subject(cacert)) == 0,
        "issuer");

  pgtls_cert *client = NULL;
  FAILS(pgtls_store_issue_client(store, EMPTY, key, 30, now_s, &client, &err_),
        PGTLS_STATUS_INVALID_ARGUMENT);
  OK(pgtls_store_issue_client(store, S("alice"), key, 30, now_s, &client, &err_));
  CHECK(strstr(pgtls_cert_subject(client), "CN=alice") != NULL, "%s",
        pgtls_cert_subject(client));

  /* PEM and JSON of a certificate; parse them back. */
  pgtls_buf *b = NULL;
  OK(pgtls_cert_to_pem(server, &b, &err_));
  char *pem = buf_string(b);
  pgtls_cert *parsed = NULL;
  OK(pgtls_cert_parse(S(pem), &parsed, &err_));
  CHECK(strcmp(pgtls_cert_serial(parsed), pgtls_cert_serial(server)) == 0, "serial");
  pgtls_cert_free(parsed);
  check_cert_input(pem);
  pgtls_cert *bad = SENTINEL;
  FAILS(pgtls_cert_parse(EMPTY, &bad, &err_), 0);
  FAILS(pgtls_cert_parse(S("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
                         &bad, &err_), 0);
  FAILS(pgtls_cert_parse(S(pem), NULL, &err_), PGTLS_STATUS_NULL_ARGUMENT);
  CHECK(bad == SENTINEL, "cert written on failure");
  OK(pgtls_cert_to_json(server, &b, &err_));
  char *json = buf_string(b);
  CHECK(strstr(json, "\"subject_alt_names\"") != NULL &&
            strstr(json, pgtls_cert_serial(server)) != NULL,
        "%s", json);
  free(json);
  OK(pgtls_inspect_json(S(pem), EMPTY, &b, &err_));
  json = buf_string(b);
  CHECK(strstr(json, "\"kind\":\"certificate\"") != NULL, "%s", json);
  free(json);
  FAILS(pgtls_inspect_json(S("nothing here"), EMPTY, &b, &err_), 0);
  FAILS(pgtls_inspect_json(EMPTY, EMPTY, &b, &err_), 0);
  free(pem);

  /* A CSR, signed as a server certificate with the names it requests. */
  OK(pgtls_csr_create(S("/CN=csr.example.com"), S("csr.example.com"), key, &b, &err_));
  char *csr = buf_string(b);
  CHECK(strstr(csr, "CERTIFICATE REQUEST") != NULL, "%s", csr);
  FAILS(pgtls_csr_create(S("/CN=x"), EMPTY, NULL, &b, &err_), PGTLS_STATUS_NULL_ARGUMENT);
  pgtls_cert *signed_csr = SENTINEL;
  FAILS(pgtls_store_sign_csr(store, S(csr), S("bogus"), EMPTY, 30, now_s, &signed_csr, &err_),
        PGTLS_STATUS_INVALID_ARGUMENT);
  FAILS(pgtls_store_sign_csr(store, S(csr), S("client"), S("x.example"), 30, now_s,
                             &signed_csr, &err_),
        PGTLS_STATUS_INVALID_ARGUMENT);
  FAILS(pgtls_store_sign_csr(store, (const uint8_t *)csr, strlen(csr) / 2, S("server"),
                             EMPTY, 30, now_s, &signed_csr, &err_), 0);
  FAILS(pgtls_store_sign_csr(store, S("garbage"), S("server"), EMPTY, 30, now_s,
                             &signed_csr, &err_), 0);
  CHECK(signed_csr == SENTINEL, "cert written on failure");
  OK(pgtls_store_sign_csr(store, S(csr), S("server"), EMPTY, 30, now_s, &signed_csr, &err_));
  CHECK(pgtls_cert_san_count(signed_csr) == 1 &&
            strstr(pgtls_cert_san(signed_csr, 0), "csr.example.com") != NULL,
        "CSR SANs");
  CHECK(strstr(pgtls_cert_subject(signed_csr), "CN=csr.example.com") != NULL, "%s",
        pgtls_cert_subject(signed_csr));
  free(csr);

  /* Load an existing CA from PEM, make intermediates under it, issue from
   * an intermediate through a store. */
  {
    OK(pgtls_cert_to_pem(cacert, &b, &err_));
    char *ca_pem = buf_string(b);
    OK(pgtls_key_to_pem(cakey, EMPTY, &b, &err_));
    char *cakey_pem = buf_string(b);
    OK(pgtls_key_to_pem(key, EMPTY, &b, &err_));
    char *other_key_pem = buf_string(b);
    OK(pgtls_cert_to_pem(server, &b, &err_));
    char *leaf_pem = buf_string(b);
    pgtls_ca *loaded = SENTINEL;
    FAILS(pgtls_ca_load(EMPTY, S(cakey_pem), EMPTY, &loaded, &err_), 0);
    FAILS(pgtls_ca_load(S(ca_pem), EMPTY, EMPTY, &loaded, &err_), 0);
    FAILS(pgtls_ca_load(S("garbage"), S(cakey_pem), EMPTY, &loaded, &err_), 0);
    FAILS(pgtls_ca_load((const uint8_t *)ca_pem, strlen(ca_pem) / 2, S(cakey_pem), EMPTY, &loaded,
                        &err_), 0);
    FAILS(pgtls_ca_load(S(ca_pem), (const uint8_t *)cakey_pem, strlen(cakey_pem) / 2, EMPTY,
                        &loaded, &err_), 0);
    FAILS(pgtls_ca_load(S(ca_pem), S(other_key_pem), EMPTY, &loaded, &err_),
          PGTLS_STATUS_WRONG_OBJECT);
    FAILS(pgtls_ca_load(S(leaf_pem), S(other_key_pem), EMPTY, &loaded, &err_),
          PGTLS_STATUS_WRONG_OBJECT);
    FAILS(pgtls_ca_load(NULL, 5, S(cakey_pem), EMPTY, &loaded, &err_), PGTLS_STATUS_NULL_ARGUMENT);
    FAILS(pgtls_ca_load(S(ca_pem), S(cakey_pem), EMPTY, NULL, &err_), PGTLS_STATUS_NULL_ARGUMENT);
    CHECK(loaded == SENTINEL, "ca written on failure");
    OK(pgtls_ca_load(S(ca_pem), S(cakey_pem), EMPTY, &loaded, &err_));
    pgtls_cert *loadedcert = NULL;
    OK(pgtls_ca_certificate(loaded, &loadedcert, &err_));
    CHECK(strcmp(pgtls_cert_serial(loadedcert), pgtls_cert_serial(cacert)) == 0,
          "loaded CA serial");
    pgtls_cert_free(loadedcert);
    OK(pgtls_ca_chain_to_pem(loaded, &b, &err_));
    char *chain = buf_string(b);
    CHECK(strcmp(chain, ca_pem) == 0, "a root's chain is itself: %s", chain);
    free(chain);
    if (with_passphrase) {
      OK(pgtls_key_to_pem(cakey, S("ca pass"), &b, &err_));
      char *enc = buf_string(b);
      pgtls_ca *l2 = SENTINEL;
      FAILS(pgtls_ca_load(S(ca_pem), S(enc), EMPTY, &l2, &err_), PGTLS_STATUS_PARSE_KEY);
      FAILS(pgtls_ca_load(S(ca_pem), S(enc), S("wrong"), &l2, &err_), PGTLS_STATUS_PARSE_KEY);
      CHECK(l2 == SENTINEL, "ca written on failure");
      OK(pgtls_ca_load(S(ca_pem), S(enc), S("ca pass"), &l2, &err_));
      pgtls_ca_free(l2);
      free(enc);
    }

    /* The root was made with path length 0: no intermediate under it. */
    pgtls_key *ikey = NULL;
    OK(pgtls_key_generate(S("p256"), &ikey, &err_));
    pgtls_ca *inter = SENTINEL;
    FAILS(pgtls_ca_create_intermediate(loaded, S("/CN=Inter"), ikey, 365, -1, now_s, &inter,
                                       &err_), 0);
    pgtls_ca *root2 = NULL;
    OK(pgtls_ca_create_root(S("/CN=Root Two"), cakey, 3650, 1, now_s, &root2, &err_));
    FAILS(pgtls_ca_create_intermediate(NULL, S("/CN=Inter"), ikey, 365, -1, now_s, &inter, &err_),
          PGTLS_STATUS_NULL_ARGUMENT);
    FAILS(pgtls_ca_create_intermediate(root2, S("/CN=Inter"), NULL, 365, -1, now_s, &inter, &err_),
          PGTLS_STATUS_NULL_ARGUMENT);
    FAILS(pgtls_ca_create_intermediate(root2, S("no slash"), ikey, 365, -1, now_s, &inter, &err_),
          0);
    FAILS(pgtls_ca_create_intermediate(root2, S("/CN=Inter"), ikey, 365, 256, now_s, &inter,
                                       &err_), PGTLS_STATUS_INVALID_ARGUMENT);
    FAILS(pgtls_ca_create_intermediate(root2, S("/CN=Inter"), ikey, 365, -1, INT64_MAX, &inter,
                                       &err_), PGTLS_STATUS_INVALID_ARGUMENT);
    FAILS(pgtls_ca_create_intermediate(root2, S("/CN=Inter"), ikey, 99999, -1, now_s, &inter,
                                       &err_), PGTLS_STATUS_ISSUE);
    FAILS(pgtls_ca_create_intermediate(root2, S("/CN=Inter"), ikey, 365, -1, now_s, NULL, &err_),
          PGTLS_STATUS_NULL_ARGUMENT);
    CHECK(inter == SENTINEL, "ca written on failure");
    OK(pgtls_ca_create_intermediate(root2, S("/O=pgtls test/CN=Inter"), ikey, 365, 0, now_s,
                                    &inter, &err_));
    pgtls_cert *icert = NULL, *root2cert = NULL;
    OK(pgtls_ca_certificate(inter, &icert, &err_));
    OK(pgtls_ca_certificate(root2, &root2cert, &err_));
    CHECK(pgtls_cert_is_ca(icert) &&
              strcmp(pgtls_cert_issuer(icert), pgtls_cert_subject(root2cert)) == 0,
          "intermediate issuer %s", pgtls_cert_issuer(icert));
    pgtls_cert_free(root2cert);
    OK(pgtls_ca_chain_to_pem(inter, &b, &err_));
    chain = buf_string(b);
    CHECK(strstr(chain, "END CERTIFICATE") != strstr(chain, "BEGIN CERTIFICATE") &&
              strstr(strstr(chain, "END CERTIFICATE") + 1, "BEGIN CERTIFICATE") != NULL,
          "two certificates: %s", chain);
    FAILS(pgtls_ca_chain_to_pem(NULL, &b, &err_), PGTLS_STATUS_NULL_ARGUMENT);
    FAILS(pgtls_ca_chain_to_pem(inter, NULL, &err_), PGTLS_STATUS_NULL_ARGUMENT);
    /* pathlen:0 on the intermediate: nothing below it. */
    pgtls_ca *third = SENTINEL;
    FAILS(pgtls_ca_create_intermediate(inter, S("/CN=Third"), key, 30, -1, now_s, &third, &err_),
          0);
    CHECK(third == SENTINEL, "ca written on failure");
    /* Reload the intermediate from its chain PEM and issue from it via a store. */
    OK(pgtls_key_to_pem(ikey, EMPTY, &b, &err_));
    char *ikey_pem = buf_string(b);
    pgtls_ca *reloaded = NULL;
    OK(pgtls_ca_load(S(chain), S(ikey_pem), EMPTY, &reloaded, &err_));
    OK(pgtls_ca_chain_to_pem(reloaded, &b, &err_));
    char *chain2 = buf_string(b);
    CHECK(strcmp(chain, chain2) == 0, "chain kept on reload");
    char idir[600];
    snprintf(idir, sizeof idir, "%s/inter-ca", dir);
    pgtls_store *istore = NULL;
    OK(pgtls_store_create(S(idir), reloaded, EMPTY, &istore, &err_));
    pgtls_cert *ileaf = NULL;
    OK(pgtls_store_issue_server(istore, S("leaf.example.com"), key, 30, now_s, &ileaf, &err_));
    CHECK(strcmp(pgtls_cert_issuer(ileaf), pgtls_cert_subject(icert)) == 0, "issued by %s",
          pgtls_cert_issuer(ileaf));
    pgtls_cert_free(icert);
    pgtls_cert_free(ileaf);
    pgtls_store_free(istore);
    pgtls_ca_free(reloaded);
    free(chain2);
    free(ikey_pem);
    free(chain);
    pgtls_ca_free(inter);
    pgtls_ca_free(root2);
    pgtls_key_free(ikey);
    pgtls_ca_free(loaded);
    free(leaf_pem);
    free(other_key_pem);
    free(cakey_pem);
    free(ca_pem);
  }

  test_verify(dir, store, server, client);

  /* Revoke, CRL, index. */
  FAILS(pgtls_store_revoke(store, S("zz-not-hex"), EMPTY, now_s, &err_), 0);
  FAILS(pgtls_store_revoke(store, S("0123456789"), EMPTY, now_s, &err_),
        PGTLS_STATUS_NOT_FOUND);
  FAILS(pgtls_store_revoke(store, S(pgtls_cert_serial(client)), S("no-such-reason"),
                           now_s, &err_), 0);
  OK(pgtls_store_revoke(store, S(pgtls_cert_serial(client)), S("keyCompromise"), now_s,
                        &err_));
  FAILS(pgtls_store_revoke(store, S(pgtls_cert_serial(client)), EMPTY, now_s, &err_),
        PGTLS_STATUS_ALREADY_EXISTS);
  FAILS(pgtls_store_generate_crl(store, now_s - 10, now_s, &b, &err_), 0);
  OK(pgtls_store_generate_crl(store, now_s + 7 * 86400, now_s, &b, &err_));
  char *crl = buf_string(b);
  CHECK(strncmp(crl, "-----BEGIN X509 CRL-----", 24) == 0, "%s", crl);
  OK(pgtls_inspect_json(S(crl), EMPTY, &b, &err_));
  json = buf_string(b);
  CHECK(strstr(json, "\"kind\":\"crl\"") != NULL &&
            strstr(json, pgtls_cert_serial(client)) != NULL,
        "%s", json);
  free(json);
  free(crl);
  OK(pgtls_store_entries_json(store, &b, &err_));
  json = buf_string(b);
  CHECK(strstr(json, "\"status\":\"revoked\"") != NULL &&
            strstr(json, "\"status\":\"valid\"") != NULL,
        "%s", json);
  free(json);

  pgtls_cert_free(signed_csr);
  pgtls_cert_free(client);
  pgtls_cert_free(server);
  pgtls_store_free(store);
  pgtls_cert_free(cacert);
  pgtls_ca_free(ca);
  pgtls_key_free(key);
  pgtls_key_free(cakey);
}

static const char *HBA =
    "# TYPE  DATABASE  USER  ADDRESS  METHOD\n"
    "local   all       all            peer\n"
    "hostssl all       all   0.0.0.0/0 scram-sha-256\n"
    "host    all       all   10.0.0.0/8 reject\n";

static void test_hba(const char *dir) {
  pgtls_hba *hba = SENTINEL;
  FAILS(pgtls_hba_parse(S(HBA), 11, true, &hba, &err_), PGTLS_STATUS_INVALID_ARGUMENT);
  FAILS(pgtls_hba_parse(NULL, 3, 15, true, &hba, &err_), PGTLS_STATUS_NULL_ARGUMENT);
  FAILS(pgtls_hba_parse(S(HBA), 15, true, NULL, &err_), PGTLS_STATUS_NULL_ARGUMENT);
  CHECK(hba == SENTINEL, "hba written on failure");
  OK(pgtls_hba_parse(S(HBA), 15, true, &hba, &err_));
  CHECK(pgtls_hba_load_error(hba) == NULL, "%s", pgtls_hba_load_error(hba));
  CHECK(pgtls_hba_line_count(hba) == 3, "%zu lines", pgtls_hba_line_count(hba));
  CHECK(pgtls_hba_line_number(hba, 1) == 3, "line number");
  CHECK(strcmp(pgtls_hba_line_type(hba, 1), "hostssl") == 0, "type");
  CHECK(strcmp(pgtls_hba_line_method(hba, 1), "scram-sha-256") == 0, "method");
  CHECK(strstr(pgtls_hba_line_text(hba, 2), "reject") != NULL, "text");
  CHECK(pgtls_hba_line_error(hba, 1) == NULL, "no error");
  CHECK(pgtls_hba_line_text(hba, 3) == NULL && pgtls_hba_line_number(hba, 99) == 0,
        "out of range");
  pgtls_buf *b = NULL;
  OK(pgtls_hba_rules_json(hba, &b, &err_));
  char *json = buf_string(b);
  CHECK(strstr(json, "scram-sha-256") != NULL, "%s", json);
  free(json);

  pgtls_hba_decision *d = SENTINEL;
  FAILS(eval_conn(hba, S("10.1.2.3"), S("db"), S("u"), NULL, 0x100, &d, &err_),
        PGTLS_STATUS_INVALID_ARGUMENT);
  FAILS(eval_conn(hba, S("not-an-ip"), S("db"), S("u"), NULL, 0, &d, &err_),
        PGTLS_STATUS_PARSE_VALUE);
  FAILS(eval_conn(hba, S("10.1.2.3"), S("db"), NULL, 1, NULL, 0, &d, &err_),
        PGTLS_STATUS_NULL_ARGUMENT);
  FAILS(eval_conn(hba, S("10.1.2.3"), S("db"), S("u"), NULL,
                           PGTLS_HBA_REQUEST_REPLICATION_PHYSICAL |
                               PGTLS_HBA_REQUEST_REPLICATION_LOGICAL,
                           &d, &err_),
        PGTLS_STATUS_INVALID_ARGUMENT);
  CHECK(d == SENTINEL, "decision written on failure");
  OK(eval_conn(hba, S("10.1.2.3"), S("db"), S("u"), NULL, PGTLS_HBA_REQUEST_TLS,
                        &d, &err_));
  CHECK(pgtls_hba_decision_outcome(d) == PGTLS_HBA_OUTCOME_MATCH, "%s",
        u32s(pgtls_hba_decision_outcome(d)));
  CHECK(pgtls_hba_decision_line(d) == 3, "line %u", (unsigned)pgtls_hba_decision_line(d));
  CHECK(strcmp(pgtls_hba_decision_method(d), "scram-sha-256") == 0, "method");
  CHECK(pgtls_hba_decision_message(d) == NULL, "message");
  OK(pgtls_hba_decision_to_json(d, &b, &err_));
  json = buf_string(b);
  CHECK(strstr(json, "\"verdict\":\"match\"") != NULL, "%s", json);
  free(json);
  pgtls_hba_decision_free(d);
  OK(eval_conn(hba, S("10.1.2.3"), S("db"), S("u"), ROLES("a", "b"), 0, &d, &err_));
  CHECK(pgtls_hba_decision_outcome(d) == PGTLS_HBA_OUTCOME_REJECT, "reject");
  CHECK(pgtls_hba_decision_message(d) != NULL &&
            strstr(pgtls_hba_decision_message(d), "rejects connection") != NULL,
        "%s", pgtls_hba_decision_message(d));
  pgtls_hba_decision_free(d);
  OK(eval_conn(hba, S("192.0.2.1"), S("db"), S("u"), NULL, 0, &d, &err_));
  CHECK(pgtls_hba_decision_outcome(d) == PGTLS_HBA_OUTCOME_NO_MATCH, "no-match");
  CHECK(strstr(pgtls_hba_decision_message(d), "no pg_hba.conf entry") != NULL, "%s",
        pgtls_hba_decision_message(d));
  pgtls_hba_decision_free(d);
  OK(eval_conn(hba, EMPTY, S("db"), S("u"), NULL, 0, &d, &err_));
  CHECK(strcmp(pgtls_hba_decision_method(d), "peer") == 0, "local peer");
  pgtls_hba_decision_free(d);

  /* The request builder: host names, samehost/samenet, roles, a role that
   * does not exist. */
  {
    pgtls_hba *h2 = NULL;
    OK(pgtls_hba_parse(S("host all all .example.com md5\n"
                         "host all all samehost trust\n"
                         "host all all samenet password\n"
                         "hostssl all +grp 192.0.2.0/24 cert\n"),
                       15, true, &h2, &err_));
    CHECK(pgtls_hba_load_error(h2) == NULL, "%s", pgtls_hba_load_error(h2));
    pgtls_hba_request *rq = SENTINEL;
    FAILS(pgtls_hba_request_new(NULL, 2, S("u"), &rq, &err_), PGTLS_STATUS_NULL_ARGUMENT);
    FAILS(pgtls_hba_request_new(S("db"), (const uint8_t *)"\xff", 1, &rq, &err_),
          PGTLS_STATUS_INVALID_UTF8);
    FAILS(pgtls_hba_request_new(S("db"), S("u"), NULL, &err_), PGTLS_STATUS_NULL_ARGUMENT);
    CHECK(rq == SENTINEL, "request written on failure");
    OK(pgtls_hba_request_new(S("db"), S("u"), &rq, &err_));
    OK(pgtls_hba_request_set_address(rq, S("10.1.2.3"), &err_));
    FAILS(pgtls_hba_request_set_address(rq, S("10.1.2.300"), &err_), PGTLS_STATUS_PARSE_VALUE);
    FAILS(pgtls_hba_request_set_address(NULL, S("10.1.2.3"), &err_), PGTLS_STATUS_NULL_ARGUMENT);
    FAILS(pgtls_hba_request_set_flags(rq, 0x100, &err_), PGTLS_STATUS_INVALID_ARGUMENT);
    FAILS(pgtls_hba_request_set_flags(NULL, 0, &err_), PGTLS_STATUS_NULL_ARGUMENT);
    FAILS(pgtls_hba_request_add_role(rq, EMPTY, &err_), PGTLS_STATUS_INVALID_ARGUMENT);
    FAILS(pgtls_hba_request_add_role(NULL, S("grp"), &err_), PGTLS_STATUS_NULL_ARGUMENT);
    FAILS(pgtls_hba_request_set_user_exists(NULL, true, &err_), PGTLS_STATUS_NULL_ARGUMENT);
    FAILS(pgtls_hba_request_set_client_hostname(NULL, EMPTY, &err_),
          PGTLS_STATUS_NULL_ARGUMENT);
    FAILS(pgtls_hba_request_set_client_hostname(rq, NULL, 4, &err_), PGTLS_STATUS_NULL_ARGUMENT);
    FAILS(pgtls_hba_request_add_server_address(rq, S("10.1.0.1/33"), &err_),
          PGTLS_STATUS_PARSE_VALUE);
    FAILS(pgtls_hba_request_add_server_address(rq, S("10.1.0.1/+8"), &err_),
          PGTLS_STATUS_PARSE_VALUE);
    FAILS(pgtls_hba_request_add_server_address(rq, S("10.1.0.1/"), &err_),
          PGTLS_STATUS_PARSE_VALUE);
    FAILS(pgtls_hba_request_add_server_address(rq, S("host.example/8"), &err_),
          PGTLS_STATUS_PARSE_VALUE);
    FAILS(pgtls_hba_request_add_server_address(rq, EMPTY, &err_), PGTLS_STATUS_PARSE_VALUE);
    FAILS(pgtls_hba_request_add_server_address(NULL, S("10.1.0.1"), &err_),
          PGTLS_STATUS_NULL_ARGUMENT);
    FAILS(pgtls_hba_evaluate_request(NULL, rq, &d, &err_), PGTLS_STATUS_NULL_ARGUMENT);
    FAILS(pgtls_hba_evaluate_request(h2, NULL, &d, &err_), PGTLS_STATUS_NULL_ARGUMENT);
    FAILS(pgtls_hba_evaluate_request(h2, rq, NULL, &err_), PGTLS_STATUS_NULL_ARGUMENT);
    /* Nothing set so far matches (failed setters changed nothing). */
    OK(pgtls_hba_evaluate_request(h2, rq, &d, &err_));
    CHECK(pgtls_hba_decision_outcome(d) == PGTLS_HBA_OUTCOME_NO_MATCH, "%s",
          u32s(pgtls_hba_decision_outcome(d)));
    CHECK(strstr(pgtls_hba_decision_message(d), "10.1.2.3") != NULL, "%s",
          pgtls_hba_decision_message(d));
    pgtls_hba_decision_free(d);
    /* The same as pgtls_hba_evaluate for what both take. */
    OK(eval_conn(h2, S("10.1.2.3"), S("db"), S("u"), NULL, 0, &d, &err_));
    CHECK(pgtls_hba_decision_outcome(d) == PGTLS_HBA_OUTCOME_NO_MATCH, "%s",
          u32s(pgtls_hba_decision_outcome(d)));
    pgtls_hba_decision_free(d);
    OK(pgtls_hba_request_set_client_hostname(rq, S("db.example.com"), &err_));
    OK(pgtls_hba_evaluate_request(h2, rq, &d, &err_));
    CHECK(pgtls_hba_decision_line(d) == 1 && strcmp(pgtls_hba_decision_method(d), "md5") == 0,
          "host name record: line %u", (unsigned)pgtls_hba_decision_line(d));
    pgtls_hba_decision_free(d);
    /* ".example.com" matches a strict suffix only. */
    OK(pgtls_hba_request_set_client_hostname(rq, S("example.com"), &err_));
    OK(pgtls_hba_request_add_server_address(rq, S("10.1.9.9/16"), &err_));
    OK(pgtls_hba_evaluate_request(h2, rq, &d, &err_));
    CHECK(pgtls_hba_decision_line(d) == 3, "samenet: line %u",
          (unsigned)pgtls_hba_decision_line(d));
    pgtls_hba_decision_free(d);
    OK(pgtls_hba_request_set_client_hostname(rq, EMPTY, &err_));
    OK(pgtls_hba_request_add_server_address(rq, S("10.1.2.3"), &err_));
    OK(pgtls_hba_evaluate_request(h2, rq, &d, &err_));
    CHECK(pgtls_hba_decision_line(d) == 2 && strcmp(pgtls_hba_decision_method(d), "trust") == 0,
          "samehost: line %u", (unsigned)pgtls_hba_decision_line(d));
    pgtls_hba_decision_free(d);
    /* Role membership, and a role that does not exist is a member of none. */
    OK(pgtls_hba_request_set_address(rq, S("192.0.2.7"), &err_));
    OK(pgtls_hba_request_set_flags(rq, PGTLS_HBA_REQUEST_TLS, &err_));
    OK(pgtls_hba_request_add_role(rq, S("grp"), &err_));
    OK(pgtls_hba_evaluate_request(h2, rq, &d, &err_));
    CHECK(pgtls_hba_decision_line(d) == 4, "+grp: line %u", (unsigned)pgtls_hba_decision_line(d));
    pgtls_hba_decision_free(d);
    OK(pgtls_hba_request_set_user_exists(rq, false, &err_));
    OK(pgtls_hba_evaluate_request(h2, rq, &d, &err_));
    CHECK(pgtls_hba_decision_outcome(d) == PGTLS_HBA_OUTCOME_NO_MATCH, "missing role: %s",
          u32s(pgtls_hba_decision_outcome(d)));
    pgtls_hba_decision_free(d);
    /* Back to a Unix socket. */
    OK(pgtls_hba_request_set_address(rq, EMPTY, &err_));
    OK(pgtls_hba_evaluate_request(h2, rq, &d, &err_));
    CHECK(strstr(pgtls_hba_decision_message(d), "[local]") != NULL, "%s",
          pgtls_hba_decision_message(d));
    pgtls_hba_decision_free(d);
    pgtls_hba_request_free(rq);
    pgtls_hba_free(h2);
  }

  /* Lint. */
  pgtls_lint *lint = SENTINEL;
  FAILS(pgtls_hba_lint(NULL, NULL, &lint, &err_), PGTLS_STATUS_NULL_ARGUMENT);
  CHECK(lint == SENTINEL, "lint written on failure");
  pgtls_hba_free(hba);
  OK(pgtls_hba_parse(S("host all all 0.0.0.0/0 trust\n"), 15, true, &hba, &err_));
  OK(pgtls_hba_lint(hba, NULL, &lint, &err_));
  CHECK(pgtls_lint_count(lint) > 0, "findings");
  int saw_error = 0;
  for (size_t i = 0; i < pgtls_lint_count(lint); i++) {
    CHECK(pgtls_lint_code(lint, i) != NULL && pgtls_lint_message(lint, i) != NULL,
          "finding %zu", i);
    if (pgtls_lint_severity(lint, i) == PGTLS_SEVERITY_ERROR) saw_error = 1;
    (void)pgtls_lint_line(lint, i);
  }
  CHECK(saw_error, "trust over TCP without TLS is an error");
  CHECK(pgtls_lint_code(lint, pgtls_lint_count(lint)) == NULL, "out of range");
  OK(pgtls_lint_to_json(lint, &b, &err_));
  json = buf_string(b);
  CHECK(json[0] == '[' && strstr(json, "\"code\"") != NULL, "%s", json);
  free(json);
  pgtls_lint_free(lint);
  pgtls_hba_free(hba);

  /* A file that does not load; garbage; truncation. */
  OK(pgtls_hba_parse(S("host all all\nlocal all all md5\n"), 15, true, &hba, &err_));
  CHECK(pgtls_hba_load_error(hba) != NULL, "load error");
  CHECK(pgtls_hba_line_error(hba, 0) != NULL, "line error");
  CHECK(pgtls_hba_line_type(hba, 0) == NULL && pgtls_hba_line_method(hba, 0) == NULL,
        "invalid line has no type");
  OK(eval_conn(hba, S("10.1.2.3"), S("db"), S("u"), NULL, 0, &d, &err_));
  CHECK(pgtls_hba_decision_outcome(d) == PGTLS_HBA_OUTCOME_NOT_LOADED, "not-loaded");
  pgtls_hba_decision_free(d);
  pgtls_hba_free(hba);
  OK(pgtls_hba_parse((const uint8_t *)"\xff\x00\x01host\tall", 11, 15, false, &hba, &err_));
  pgtls_hba_free(hba);
  OK(pgtls_hba_parse(EMPTY, 15, false, &hba, &err_));
  CHECK(pgtls_hba_load_error(hba) != NULL, "empty file does not load");
  pgtls_hba_free(hba);
  for (size_t i = 0; i <= strlen(HBA); i += 5) {
    OK(pgtls_hba_parse((const uint8_t *)HBA, i, 15, true, &hba, &err_));
    pgtls_hba_free(hba);
  }

  /* From a file, with @file resolved next to it. */
  char path[600], users[600];
  snprintf(path, sizeof path, "%s/pg_hba.conf", dir);
  snprintf(users, sizeof users, "%s/admins", dir);
  FILE *f = fopen(users, "w");
  if (f == NULL) abort();
  fputs("alice bob\n", f);
  fclose(f);
  f = fopen(path, "w");
  if (f == NULL) abort();
  fputs("hostssl all @admins 0.0.0.0/0 cert\n", f);
  fclose(f);
  OK(pgtls_hba_read_file(S(path), 15, true, &hba, &err_));
  CHECK(pgtls_hba_load_error(hba) == NULL, "%s", pgtls_hba_load_error(hba));
  OK(eval_conn(hba, S("10.1.2.3"), S("db"), S("bob"), NULL, PGTLS_HBA_REQUEST_TLS,
                        &d, &err_));
  CHECK(pgtls_hba_decision_outcome(d) == PGTLS_HBA_OUTCOME_MATCH, "@file");
  pgtls_hba_decision_free(d);
  pgtls_hba_free(hba);
  pgtls_hba *nofile = SENTINEL;
  FAILS(pgtls_hba_read_file(S("/nonexistent/pg_hba.conf"), 15, true, &nofile, &err_),
        PGTLS_STATUS_IO);
  CHECK(nofile == SENTINEL, "hba written on failure");

  /* pg_ident.conf */
  pgtls_ident *ident = SENTINEL;
  FAILS(pgtls_ident_parse(S("m a b\n"), 99, &ident, &err_), PGTLS_STATUS_INVALID_ARGUMENT);
  CHECK(ident == SENTINEL, "ident written on failure");
  OK(pgtls_ident_parse(S("certmap  alice  app\nbroken\n"), 15, &ident, &err_));
  CHECK(pgtls_ident_load_error(ident) != NULL, "ident load error");
  pgtls_ident_free(ident);
  OK(pgtls_ident_parse(S("certmap  alice  app\n"), 15, &ident, &err_));
  CHECK(pgtls_ident_load_error(ident) == NULL, "ident loads");
  OK(pgtls_ident_mappings_json(ident, &b, &err_));
  json = buf_string(b);
  CHECK(strstr(json, "certmap") != NULL, "%s", json);
  free(json);
  /* The whole usermap answer: allowed / denied / undecided, line, log. */
  {
    pgtls_usermap_decision *um = SENTINEL;
    FAILS(pgtls_ident_usermap(NULL, S("certmap"), S("alice"), S("app"), NO_ROLES, false, &um, &err_),
          PGTLS_STATUS_NULL_ARGUMENT);
    FAILS(pgtls_ident_usermap(ident, S("certmap"), NULL, 3, S("app"), NO_ROLES, false, &um, &err_),
          PGTLS_STATUS_NULL_ARGUMENT);
    FAILS(pgtls_ident_usermap(ident, S("certmap"), S("alice"), (const uint8_t *)"\xc3", 1, NO_ROLES,
                              false, &um, &err_),
          PGTLS_STATUS_INVALID_UTF8);
    FAILS(pgtls_ident_usermap(ident, S("certmap"), S("alice"), S("app"), NO_ROLES, false, NULL,
                              &err_),
          PGTLS_STATUS_NULL_ARGUMENT);
    CHECK(um == SENTINEL, "usermap decision written on failure");
    OK(pgtls_ident_usermap(ident, S("certmap"), S("alice"), S("app"), NO_ROLES, false, &um, &err_));
    CHECK(pgtls_usermap_decision_outcome(um) == PGTLS_USERMAP_OUTCOME_ALLOWED &&
              pgtls_usermap_decision_line(um) == 1 && pgtls_usermap_decision_undecided(um) == NULL,
          "alice: %s line %u", u32s(pgtls_usermap_decision_outcome(um)),
          (unsigned)pgtls_usermap_decision_line(um));
    pgtls_usermap_decision_free(um);
    OK(pgtls_ident_usermap(ident, S("certmap"), S("mallory"), S("app"), NO_ROLES, false, &um,
                           &err_));
    CHECK(pgtls_usermap_decision_outcome(um) == PGTLS_USERMAP_OUTCOME_DENIED &&
              pgtls_usermap_decision_log(um) != NULL &&
              strstr(pgtls_usermap_decision_log(um), "mallory") != NULL,
          "mallory: %s / %s", u32s(pgtls_usermap_decision_outcome(um)), pgtls_usermap_decision_log(um));
    pgtls_usermap_decision_free(um);
    /* No map: the names compare, case-insensitively when asked. */
    OK(pgtls_ident_usermap(ident, EMPTY, S("Bob"), S("bob"), NO_ROLES, false, &um, &err_));
    CHECK(pgtls_usermap_decision_outcome(um) == PGTLS_USERMAP_OUTCOME_DENIED, "Bob/bob sensitive");
    pgtls_usermap_decision_free(um);
    OK(pgtls_ident_usermap(ident, EMPTY, S("Bob"), S("bob"), NO_ROLES, true, &um, &err_));
    CHECK(pgtls_usermap_decision_outcome(um) == PGTLS_USERMAP_OUTCOME_ALLOWED, "Bob/bob insensitive");
    pgtls_usermap_decision_free(um);
    /* A back-reference pgtls cannot run as PostgreSQL does: undecided. */
    pgtls_ident *re = NULL;
    OK(pgtls_ident_parse(S("m /^(a)\\1?lice$ alice\n"), 15, &re, &err_));
    OK(pgtls_ident_usermap(re, S("m"), S("alice"), S("alice"), NO_ROLES, false, &um, &err_));
    CHECK(pgtls_usermap_decision_outcome(um) == PGTLS_USERMAP_OUTCOME_UNDECIDED &&
              pgtls_usermap_decision_undecided(um) != NULL,
          "back-reference: %s", u32s(pgtls_usermap_decision_outcome(um)));
    pgtls_usermap_decision_free(um);
    pgtls_ident_free(re);
    /* PostgreSQL 16: +role in the PostgreSQL user column. */
    OK(pgtls_ident_parse(S("m alice +admins\n"), 16, &re, &err_));
    /* One name holds a comma: it is one role, not two. */
    static const uint8_t *const admin_roles[] = {(const uint8_t *)"staff, interns",
                                                 (const uint8_t *)"admins"};
    static const size_t admin_roles_lens[] = {14, 6};
    OK(pgtls_ident_usermap(re, S("m"), S("alice"), S("bob"), ROLE_ARRAY(admin_roles), false, &um,
                           &err_));
    CHECK(pgtls_usermap_decision_outcome(um) == PGTLS_USERMAP_OUTCOME_ALLOWED, "+admins: %s",
          u32s(pgtls_usermap_decision_outcome(um)));
    pgtls_usermap_decision_free(um);
    OK(pgtls_ident_usermap(re, S("m"), S("alice"), S("bob"), NO_ROLES, false, &um, &err_));
    CHECK(pgtls_usermap_decision_outcome(um) == PGTLS_USERMAP_OUTCOME_DENIED, "not in admins: %s",
          u32s(pgtls_usermap_decision_outcome(um)));
    pgtls_usermap_decision_free(um);
    {
      /* "staff, admins" is one role name, not admins. */
      static const uint8_t *const comma_roles[] = {(const uint8_t *)"staff, admins"};
      static const size_t comma_roles_lens[] = {13};
      OK(pgtls_ident_usermap(re, S("m"), S("alice"), S("bob"), ROLE_ARRAY(comma_roles), false,
                             &um, &err_));
      CHECK(pgtls_usermap_decision_outcome(um) == PGTLS_USERMAP_OUTCOME_DENIED,
            "a role name split at its comma: %s", u32s(pgtls_usermap_decision_outcome(um)));
      pgtls_usermap_decision_free(um);
      static const uint8_t *const empty_roles[] = {(const uint8_t *)""};
      static const size_t empty_roles_lens[] = {0};
      um = SENTINEL;
      FAILS(pgtls_ident_usermap(re, S("m"), S("alice"), S("bob"), ROLE_ARRAY(empty_roles), false,
                                &um, &err_),
            PGTLS_STATUS_INVALID_ARGUMENT);
      FAILS(pgtls_ident_usermap(re, S("m"), S("alice"), S("bob"), NULL, NULL, 2, false, &um,
                                &err_),
            PGTLS_STATUS_NULL_ARGUMENT);
      CHECK(um == SENTINEL, "usermap decision written on failure");
    }
    pgtls_ident_free(re);
    CHECK(pgtls_usermap_decision_outcome(NULL) == PGTLS_USERMAP_OUTCOME_INVALID && pgtls_usermap_decision_line(NULL) == 0 &&
              pgtls_usermap_decision_log(NULL) == NULL &&
              pgtls_usermap_decision_undecided(NULL) == NULL,
          "NULL usermap decision getters");
    pgtls_usermap_decision_free(NULL);
  }
  OK(pgtls_hba_parse(S("hostssl all all 0.0.0.0/0 cert map=othermap\n"), 15, true, &hba,
                     &err_));
  OK(pgtls_hba_lint(hba, ident, &lint, &err_));
  OK(pgtls_lint_to_json(lint, &b, &err_));
  json = buf_string(b);
  CHECK(strstr(json, "othermap") != NULL, "lint of an unknown map: %s", json);
  free(json);
  pgtls_lint_free(lint);
  pgtls_hba_free(hba);
  pgtls_ident_free(ident);
}

int main(void) {
  now_s = (int64_t)time(NULL);
  const char *np = getenv("PGTLS_TEST_NO_PASSPHRASE");
  if (np != NULL && strcmp(np, "1") == 0) with_passphrase = 0;
  char dir[] = "/tmp/pgtls-ffi-c-XXXXXX";
  if (mkdtemp(dir) == NULL) {
    perror("mkdtemp");
    return 2;
  }
  test_version();
  test_null_handles();
  test_keys();
  test_ca_and_store(dir);
  test_hba(dir);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  printf("%d checks, %d failures\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
