/*
 * Issues a CA, a server certificate for "db.example.com", and asks what libpq
 * would decide when that server presents it under sslmode=verify-full, for
 * the right host name and for a wrong one.
 *
 *   example WORKDIR
 */
#define _POSIX_C_SOURCE 200809L
#include <pgtls.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S(s) (const uint8_t *)(s), strlen(s)

static int fail(const char *what, pgtls_error *err) {
  fprintf(stderr, "%s: %s (status %u)\n", what, pgtls_error_message(err),
          (unsigned)pgtls_error_status(err));
  pgtls_error_free(err);
  return 1;
}

static int write_buf(const char *path, const pgtls_buf *b) {
  FILE *f = fopen(path, "w");
  if (f == NULL) return 1;
  size_t n = fwrite(pgtls_buf_data(b), 1, pgtls_buf_len(b), f);
  return (fclose(f) != 0 || n != pgtls_buf_len(b)) ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s WORKDIR\n", argv[0]);
    return 2;
  }
  if (pgtls_abi_version() != PGTLS_ABI_VERSION) {
    fprintf(stderr, "libpgtls ABI %u, header %u\n", (unsigned)pgtls_abi_version(),
            (unsigned)PGTLS_ABI_VERSION);
    return 1;
  }
  const char *dir = argv[1];
  int64_t now = (int64_t)time(NULL);
  pgtls_error *err = NULL;
  pgtls_key *cakey = NULL, *key = NULL;
  pgtls_ca *ca = NULL;
  pgtls_store *store = NULL;
  pgtls_cert *server = NULL;
  pgtls_buf *pem = NULL, *root = NULL;
  char storedir[512], rootpath[600];
  snprintf(storedir, sizeof storedir, "%s/ca", dir);
  snprintf(rootpath, sizeof rootpath, "%s/root.crt", dir);

  if (pgtls_key_generate(S("p256"), &cakey, &err) != PGTLS_STATUS_OK)
    return fail("CA key", err);
  if (pgtls_ca_create_root(S("/O=Example/CN=Example PostgreSQL CA"), cakey, 3650, 0, now,
                           &ca, &err) != PGTLS_STATUS_OK)
    return fail("create CA", err);
  if (pgtls_store_create(S(storedir), ca, NULL, 0, &store, &err) != PGTLS_STATUS_OK)
    return fail("create store", err);
  if (pgtls_key_generate(S("p256"), &key, &err) != PGTLS_STATUS_OK)
    return fail("server key", err);
  if (pgtls_store_issue_server(store, S("db.example.com"), key, 365, now, &server, &err) !=
      PGTLS_STATUS_OK)
    return fail("issue", err);
  printf("issued %s serial %s by %s\n", pgtls_cert_subject(server), pgtls_cert_serial(server),
         pgtls_cert_issuer(server));

  if (pgtls_cert_to_pem(server, &pem, &err) != PGTLS_STATUS_OK) return fail("pem", err);
  pgtls_cert *cacert = NULL; /* an owned copy of the store's CA certificate */
  if (pgtls_store_ca_certificate(store, &cacert, &err) != PGTLS_STATUS_OK)
    return fail("CA certificate", err);
  pgtls_status st = pgtls_cert_to_pem(cacert, &root, &err);
  pgtls_cert_free(cacert);
  if (st != PGTLS_STATUS_OK) return fail("root pem", err);
  if (write_buf(rootpath, root) != 0) {
    perror(rootpath);
    return 1;
  }

  const char *hosts[] = {"db.example.com", "other.example.com"};
  int accepted[2] = {0, 0};
  for (int i = 0; i < 2; i++) {
    char conninfo[1024];
    snprintf(conninfo, sizeof conninfo, "host=%s sslmode=verify-full sslrootcert=%s", hosts[i],
             rootpath);
    pgtls_verdict *v = NULL;
    if (pgtls_verify_server(S(conninfo), pgtls_buf_data(pem), pgtls_buf_len(pem), 15, now, &v,
                            &err) != PGTLS_STATUS_OK)
      return fail("verify", err);
    accepted[i] = pgtls_verdict_outcome(v) == PGTLS_CHAIN_OUTCOME_ACCEPT;
    printf("host=%s: %s%s%s\n", hosts[i], accepted[i] ? "accept" : "reject: ",
           accepted[i] ? "" : pgtls_verdict_message(v), "");
    pgtls_verdict_free(v);
  }

  pgtls_buf_free(root);
  pgtls_buf_free(pem);
  pgtls_cert_free(server);
  pgtls_store_free(store);
  pgtls_ca_free(ca);
  pgtls_key_free(key);
  pgtls_key_free(cakey);
  if (!accepted[0] || accepted[1]) {
    fprintf(stderr, "unexpected verdicts\n");
    return 1;
  }
  return 0;
}
