"""Tests of the ctypes bindings (run by pytest, or by `python3 -m unittest`).

Certificates pgtls issues are checked by an independent implementation, the
openssl command.
"""

import ctypes
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

import pgtls

HEADER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "include", "pgtls.h")
NOW = int(time.time())


def openssl(*args, cwd=None):
    if shutil.which("openssl") is None:
        raise AssertionError("the openssl CLI is missing: apt-get install openssl")
    return subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)


class VersionTest(unittest.TestCase):
    def test_library_matches_header(self):
        with open(HEADER) as f:
            text = f.read()
        parts = [re.search(r"#define PGTLS_VERSION_%s (\d+)" % p, text).group(1)
                 for p in ("MAJOR", "MINOR", "PATCH")]
        self.assertEqual(pgtls.version(), ".".join(parts))
        abi = int(re.search(r"#define PGTLS_ABI_VERSION (\d+)", text).group(1))
        self.assertEqual(pgtls.abi_version(), abi)
        self.assertEqual(pgtls.ABI_VERSION, abi)


class ErrorTest(unittest.TestCase):
    def test_errors_carry_status_and_message(self):
        with self.assertRaises(pgtls.PgtlsError) as cm:
            pgtls.Key.generate("no-such-algorithm")
        self.assertEqual(cm.exception.status, pgtls.STATUS_INVALID_ARGUMENT)
        self.assertIn("no-such-algorithm", cm.exception.message)
        with self.assertRaises(pgtls.PgtlsError) as cm:
            pgtls.Cert.parse(b"garbage")
        self.assertNotEqual(cm.exception.status, pgtls.STATUS_PANIC)
        with self.assertRaises(pgtls.PgtlsError):
            pgtls.Cert.parse(b"")
        with self.assertRaises(pgtls.PgtlsError) as cm:
            pgtls.Key.generate(b"\xff\xfe")
        self.assertEqual(cm.exception.status, pgtls.STATUS_INVALID_UTF8)

    def test_null_with_length_and_null_outputs(self):
        lib = pgtls._lib
        out = ctypes.c_void_p(0x5A5A)
        err = ctypes.c_void_p()
        st = lib.pgtls_cert_parse(None, 5, ctypes.byref(out), ctypes.byref(err))
        self.assertEqual(st, pgtls.STATUS_NULL_ARGUMENT)
        self.assertEqual(out.value, 0x5A5A, "output written on failure")
        self.assertEqual(lib.pgtls_error_status(err), st)
        lib.pgtls_error_free(err)
        st = lib.pgtls_cert_parse(b"x", 1, None, None)
        self.assertEqual(st, pgtls.STATUS_NULL_ARGUMENT)
        self.assertIsNone(lib.pgtls_cert_subject(None))
        lib.pgtls_cert_free(None)

    def test_panics_are_caught(self):
        if not hasattr(pgtls._lib, "pgtls_testing_panic"):
            self.fail("libpgtls was built without the test-hooks feature")
        f = pgtls._lib.pgtls_testing_panic
        f.restype = ctypes.c_uint32
        f.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
        err = ctypes.c_void_p()
        self.assertEqual(f(ctypes.byref(err)), pgtls.STATUS_PANIC)
        self.assertIn(b"pgtls_testing_panic", pgtls._lib.pgtls_error_message(err))
        pgtls._lib.pgtls_error_free(err)


class PkiTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pgtls-py-")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_ca_store_issue_revoke_crl_and_verify(self):
        ca = pgtls.CA.create_root("/O=py/CN=Python Test CA", pgtls.Key.generate(), 3650, NOW, 0)
        self.assertTrue(ca.certificate.is_ca)
        store = pgtls.Store.create(os.path.join(self.dir, "ca"), ca)
        with self.assertRaises(pgtls.PgtlsError) as cm:
            pgtls.Store.create(os.path.join(self.dir, "ca"), ca)
        self.assertEqual(cm.exception.status, pgtls.STATUS_ALREADY_EXISTS)
        store = pgtls.Store.open(os.path.join(self.dir, "ca"))
        key = pgtls.Key.generate("p256")
        server = store.issue_server("db.example.com,127.0.0.1", key, 30, NOW)
        self.assertEqual(len(server.subject_alt_names), 2)
        self.assertEqual(server.issuer, store.ca_certificate.subject)
        client = store.issue_client("alice", key, 30, NOW)
        self.assertIn("CN=alice", client.subject)
        self.assertEqual(server.to_json()["serial"], server.serial)

        root = os.path.join(self.dir, "root.crt")
        with open(root, "w") as f:
            f.write(store.ca_certificate.to_pem())
        for name, cert, purpose in (("server.crt", server, "sslserver"),
                                    ("client.crt", client, "sslclient")):
            path = os.path.join(self.dir, name)
            with open(path, "w") as f:
                f.write(cert.to_pem())
            r = openssl("verify", "-purpose", purpose, "-CAfile", root, path)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

        csr = pgtls.create_csr("/CN=csr.example.com", "csr.example.com", key)
        signed = store.sign_csr(csr, "server", None, 30, NOW)
        self.assertTrue(any("csr.example.com" in s for s in signed.subject_alt_names))

        store.revoke(client.serial, "keyCompromise", NOW)
        with self.assertRaises(pgtls.PgtlsError) as cm:
            store.revoke(client.serial, None, NOW)
        self.assertEqual(cm.exception.status, pgtls.STATUS_ALREADY_EXISTS)
        crl = store.generate_crl(NOW + 86400, NOW)
        crl_path = os.path.join(self.dir, "root.crl")
        with open(crl_path, "w") as f:
            f.write(crl)
        r = openssl("verify", "-crl_check", "-CAfile", root, "-CRLfile", crl_path,
                    os.path.join(self.dir, "client.crt"))
        self.assertNotEqual(r.returncode, 0, "openssl accepted a revoked certificate")
        self.assertIn("revoked", r.stdout + r.stderr)
        items = pgtls.inspect(crl)
        self.assertEqual(items[0]["kind"], "crl")
        self.assertEqual([e["serial"] for e in items[0]["revoked"]], [client.serial])
        statuses = sorted(e["status"] for e in store.entries())
        self.assertEqual(statuses, ["revoked", "valid", "valid"])

        # libpq's verdicts through pgtls-verify.
        chain = server.to_pem()
        v = pgtls.verify_server("host=db.example.com sslmode=verify-full sslrootcert=" + root,
                                chain, NOW)
        self.assertTrue(v.accept, v.message)
        self.assertIsNone(v.message)
        v = pgtls.verify_server("host=other.example.com sslmode=verify-full sslrootcert=" + root,
                                chain, NOW)
        self.assertFalse(v.accept)
        self.assertIn("does not match host name", v.message)
        self.assertEqual(v.to_json()["verdict"], "reject")
        v = pgtls.verify_server("host=db.example.com sslmode=verify-ca sslrootcert=" + root,
                                chain, NOW + 400 * 86400)
        self.assertFalse(v.accept)
        self.assertEqual(v.reason, "certificate has expired")
        self.assertEqual(v.reason_code, 10)
        leaf = pgtls.Leaf.parse(chain)
        self.assertIsNone(leaf.check_host("db.example.com"))
        # A mismatch is a verdict with libpq's message, not an error.
        self.assertIn("does not match host name", leaf.check_host("other.example.com"))
        line = "hostssl all all 0.0.0.0/0 cert"
        d = pgtls.verify_client(line, root, "alice", client.to_pem(), NOW)
        self.assertTrue(d.accept, d.message)  # no CRL configured: revocation unknown
        d = pgtls.verify_client(line, root, "alice", client.to_pem(), NOW, ssl_crl_file=crl_path)
        self.assertFalse(d.accept, "the server would refuse a revoked client certificate")
        d = pgtls.verify_client(line, root, "bob", None, NOW)
        self.assertFalse(d.accept)
        self.assertEqual(d.outcome, pgtls.ClientOutcome.REJECT)
        self.assertIsNone(d.undecided)
        # A map whose regex has a back-reference: pgtls cannot decide, and
        # says so; it is never an acceptance.
        ident = pgtls.Ident.parse("m /^(a)\\1?lice$ alice\n")
        d = pgtls.verify_client(line + " map=m", root, "alice", client.to_pem(), NOW, ident=ident)
        self.assertEqual(d.outcome, pgtls.ClientOutcome.UNDECIDED)
        self.assertFalse(d.accept)
        self.assertTrue(d.undecided)
        self.assertEqual(d.to_json()["verdict"], "undecided")
        self.assertEqual(d.to_json()["undecided"], d.undecided)
        ident = pgtls.Ident.parse("m alice alice\n")
        d = pgtls.verify_client(line + " map=m", root, "alice", client.to_pem(), NOW, ident=ident)
        self.assertEqual((d.outcome, d.accept), (pgtls.ClientOutcome.ACCEPT, True))
        with self.assertRaises(pgtls.PgtlsError) as cm:
            pgtls.verify_server("host=x sslmode=verify-full", "not pem", NOW)
        with self.assertRaises(pgtls.PgtlsError) as cm:
            pgtls.verify_server("nonsense", chain, NOW)
        self.assertEqual(cm.exception.status, pgtls.STATUS_PARSE_VALUE)

    def test_load_ca_and_intermediate(self):
        """A root made by openssl, loaded; an intermediate under it; a server
        certificate from the intermediate, verified by openssl."""
        r = openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-keyout", "root.key", "-passout", "pass:pw", "-out", "root.crt",
                    "-subj", "/CN=OpenSSL Root", "-days", "30", cwd=self.dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        now = int(time.time())  # openssl's notBefore is the second it signed in
        with open(os.path.join(self.dir, "root.crt")) as f:
            root_pem = f.read()
        with open(os.path.join(self.dir, "root.key")) as f:
            root_key = f.read()
        with self.assertRaises(pgtls.PgtlsError) as cm:
            pgtls.CA.load(root_pem, root_key, "wrong")
        self.assertEqual(cm.exception.status, pgtls.STATUS_PARSE_KEY)
        root = pgtls.CA.load(root_pem, root_key, "pw")
        self.assertEqual(root.chain_pem(), root_pem)
        ikey = pgtls.Key.generate()
        inter = root.create_intermediate("/CN=Py Intermediate", ikey, 20, now, path_len=0)
        chain = inter.chain_pem()
        self.assertEqual(chain.count("BEGIN CERTIFICATE"), 2)
        inter_pem = inter.certificate.to_pem()
        with open(os.path.join(self.dir, "inter.crt"), "w") as f:
            f.write(inter_pem)
        r = openssl("verify", "-CAfile", "root.crt", "inter.crt", cwd=self.dir)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        store = pgtls.Store.create(os.path.join(self.dir, "inter-ca"),
                                   pgtls.CA.load(chain, ikey.to_pem()))
        server = store.issue_server("db.example.com", ikey, 10, now)
        with open(os.path.join(self.dir, "server.crt"), "w") as f:
            f.write(server.to_pem())
        r = openssl("verify", "-purpose", "sslserver", "-CAfile", "root.crt", "-untrusted",
                    "inter.crt", "server.crt", cwd=self.dir)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with self.assertRaises(pgtls.PgtlsError):
            inter.create_intermediate("/CN=Third", ikey, 5, now)

    def test_keys_round_trip(self):
        key = pgtls.Key.generate()
        pem = key.to_pem()
        self.assertIn("BEGIN PRIVATE KEY", pem)
        pgtls.Key.parse(pem)
        with self.assertRaises(pgtls.PgtlsError):
            pgtls.Key.parse(pem[: len(pem) // 2])
        with tempfile.NamedTemporaryFile("w", suffix=".pem") as f:
            f.write(pem)
            f.flush()
            r = openssl("pkey", "-noout", "-in", f.name)
        self.assertEqual(r.returncode, 0, r.stderr)


class HbaTest(unittest.TestCase):
    HBA = ("local all all peer\n"
           "hostssl all all 0.0.0.0/0 scram-sha-256\n"
           "host all all 10.0.0.0/8 reject\n")

    def test_parse_evaluate_lint(self):
        hba = pgtls.Hba.parse(self.HBA)
        self.assertIsNone(hba.load_error)
        self.assertEqual([l["method"] for l in hba.lines], ["peer", "scram-sha-256", "reject"])
        rules = hba.rules()
        self.assertEqual(len(rules), 3)
        d = hba.evaluate("10.1.2.3", "db", "u", flags=pgtls.HBA_REQUEST_TLS)
        self.assertEqual((d.outcome, d.line, d.method),
                         (pgtls.HbaOutcome.MATCH, 2, "scram-sha-256"))
        d = hba.evaluate("10.1.2.3", "db", "u")
        self.assertEqual(d.outcome, pgtls.HbaOutcome.REJECT)
        self.assertIn("rejects connection", d.message)
        self.assertEqual(d.to_json()["verdict"], "reject")
        d = hba.evaluate("192.0.2.7", "db", "u")
        self.assertEqual(d.outcome, pgtls.HbaOutcome.NO_MATCH)
        with self.assertRaises(pgtls.PgtlsError) as cm:
            hba.evaluate("not-an-ip", "db", "u")
        self.assertEqual(cm.exception.status, pgtls.STATUS_PARSE_VALUE)
        lint = pgtls.Hba.parse("host all all 0.0.0.0/0 trust\n").lint()
        self.assertTrue(any(f["severity"] == pgtls.Severity.ERROR for f in lint.findings))
        self.assertEqual(len(lint.to_json()), len(lint.findings))

    def test_request_builder(self):
        hba = pgtls.Hba.parse("host all all .example.com md5\n"
                              "host all all samehost trust\n"
                              "host all all samenet password\n"
                              "hostssl all +grp 192.0.2.0/24 cert\n")
        self.assertIsNone(hba.load_error)
        ev = lambda **kw: hba.evaluate_request(pgtls.HbaRequest("db", "u", **kw))
        self.assertEqual(ev(address="10.1.2.3").outcome, pgtls.HbaOutcome.NO_MATCH)
        self.assertEqual(ev(address="10.1.2.3").to_json(),
                         hba.evaluate("10.1.2.3", "db", "u").to_json())
        self.assertEqual(ev(address="10.1.2.3", client_hostname="db.example.com").line, 1)
        self.assertEqual(ev(address="10.1.2.3", client_hostname="example.com").outcome,
                         pgtls.HbaOutcome.NO_MATCH)
        self.assertEqual(ev(address="10.1.2.3", server_addresses=["10.1.2.3"]).line, 2)
        self.assertEqual(ev(address="10.1.2.3", server_addresses=["10.1.9.9/16"]).line, 3)
        self.assertEqual(ev(address="10.1.2.3", server_addresses=["10.1.9.9/24"]).outcome,
                         pgtls.HbaOutcome.NO_MATCH)
        tls = pgtls.HBA_REQUEST_TLS
        self.assertEqual(ev(address="192.0.2.7", flags=tls, roles=["grp"]).line, 4)
        self.assertEqual(ev(address="192.0.2.7", flags=tls, roles=["grp"],
                            user_exists=False).outcome, pgtls.HbaOutcome.NO_MATCH)
        r = pgtls.HbaRequest("db", "u")
        for bad in ("10.0.0.1/33", "10.0.0.1/+8", "host/8", ""):
            with self.assertRaises(pgtls.PgtlsError) as cm:
                r.add_server_address(bad)
            self.assertEqual(cm.exception.status, pgtls.STATUS_PARSE_VALUE)
        with self.assertRaises(pgtls.PgtlsError) as cm:
            r.set_flags(0x100)
        self.assertEqual(cm.exception.status, pgtls.STATUS_INVALID_ARGUMENT)
        with self.assertRaises(pgtls.PgtlsError) as cm:
            r.add_role("")
        self.assertEqual(cm.exception.status, pgtls.STATUS_INVALID_ARGUMENT)
        self.assertIn("[local]", hba.evaluate_request(r).message)

    def test_broken_file_and_ident(self):
        hba = pgtls.Hba.parse("host all all\n")
        self.assertIsNotNone(hba.load_error)
        self.assertEqual(hba.evaluate(None, "db", "u").outcome, pgtls.HbaOutcome.NOT_LOADED)
        ident = pgtls.Ident.parse("certmap alice app\n")
        self.assertIsNone(ident.load_error)
        self.assertEqual(len(ident.mappings()), 1)
        self.assertEqual(ident.usermap("certmap", "alice", "app")["outcome"], pgtls.UsermapOutcome.ALLOWED)
        self.assertEqual(ident.usermap("certmap", "bob", "app")["outcome"], pgtls.UsermapOutcome.DENIED)
        u = pgtls.Ident.parse("m /^(a)\\1?lice$ alice\n").usermap("m", "alice", "alice")
        self.assertEqual(u["outcome"], pgtls.UsermapOutcome.UNDECIDED)
        self.assertTrue(u["undecided"])
        u = pgtls.Ident.parse("m alice +admins\n", pg_version=16).usermap(
            "m", "alice", "bob", roles=["staff", "admins"])
        self.assertEqual(u["outcome"], pgtls.UsermapOutcome.ALLOWED)
        with self.assertRaises(pgtls.PgtlsError):
            pgtls.Ident.parse("m a b\n", pg_version=99)


if __name__ == "__main__":
    unittest.main()
