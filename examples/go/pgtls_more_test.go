package pgtls

// Tests of every export not covered in pgtls_test.go. Certificates, keys,
// CSRs, CRLs and chain verdicts are checked with an independent
// implementation, the openssl command; pg_hba.conf verdicts use corpus files
// that pgtls-cli/tests/hba_views.rs checks against a real PostgreSQL server
// (its load pass connects with host names and samehost/samenet).

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

func opensslRun(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("the openssl CLI is missing: apt-get install openssl")
	}
	cmd := exec.Command("openssl", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustOpenssl(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := opensslRun(t, dir, args...)
	if err != nil {
		t.Fatalf("openssl %v: %v\n%s", args, err, out)
	}
	return out
}

func write(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func status(err error) uint32 {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Status
	}
	return StatusOK
}

// Every function the header declares is called by these bindings.
func TestBindingsCoverTheHeader(t *testing.T) {
	header, err := os.ReadFile("../../include/pgtls.h")
	if err != nil {
		t.Fatal(err)
	}
	var src strings.Builder
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, _ := os.ReadFile(f)
		src.Write(b)
	}
	re := regexp.MustCompile(`(?m)^[a-z].*?\b(pgtls_[a-z0-9_]+)\(`)
	var missing []string
	n := 0
	for _, m := range re.FindAllStringSubmatch(string(header), -1) {
		n++
		if !strings.Contains(src.String(), m[1]+"(") {
			missing = append(missing, m[1])
		}
	}
	if n < 90 || len(missing) > 0 {
		t.Fatalf("%d functions in the header; not bound: %v", n, missing)
	}
}

func TestStatusTextAndPanicBoundary(t *testing.T) {
	if StatusString(StatusOK) != "ok" || StatusString(123456) != "unknown status" {
		t.Fatal(StatusString(StatusOK), StatusString(123456))
	}
	if !TestHooks() {
		t.Fatal("libpgtls was built without the test-hooks feature (scripts/test-ffi.sh builds it with them)")
	}
	err := TestingPanic()
	if status(err) != StatusPanic || !strings.Contains(err.Error(), "pgtls_testing_panic") {
		t.Fatalf("got %v", err)
	}
	// The library still works after a caught panic.
	if k, err := GenerateKey("p256"); err != nil {
		t.Fatal(err)
	} else {
		k.Free()
	}
}

func TestKeysAgainstOpenssl(t *testing.T) {
	dir := t.TempDir()
	k, err := GenerateKey("p256")
	if err != nil {
		t.Fatal(err)
	}
	defer k.Free()
	pem, err := k.PEM("")
	if err != nil || !strings.Contains(pem, "BEGIN PRIVATE KEY") {
		t.Fatalf("%q %v", pem, err)
	}
	out := mustOpenssl(t, dir, "pkey", "-in", write(t, filepath.Join(dir, "k.pem"), pem), "-noout", "-text")
	if !strings.Contains(out, "prime256v1") {
		t.Fatalf("openssl sees %s", out)
	}
	enc, err := k.PEM("secret")
	if err != nil || !strings.Contains(enc, "ENCRYPTED PRIVATE KEY") {
		t.Fatalf("%q %v", enc, err)
	}
	ek := write(t, filepath.Join(dir, "ek.pem"), enc)
	mustOpenssl(t, dir, "pkey", "-in", ek, "-passin", "pass:secret", "-noout")
	if out, err := opensslRun(t, dir, "pkey", "-in", ek, "-passin", "pass:wrong", "-noout"); err == nil {
		t.Fatalf("openssl decrypted with the wrong passphrase: %s", out)
	}
	// Keys openssl made, plain and encrypted (openssl's own PBKDF2 settings).
	mustOpenssl(t, dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", "o.pem")
	mustOpenssl(t, dir, "pkcs8", "-topk8", "-in", "o.pem", "-v2", "aes-256-cbc", "-passout", "pass:pw", "-out", "oe.pem")
	for _, c := range []struct{ file, pass string }{{"o.pem", ""}, {"oe.pem", "pw"}} {
		data, _ := os.ReadFile(filepath.Join(dir, c.file))
		pk, err := ParseKey(data, c.pass)
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		// The same public key as openssl derives.
		back, _ := pk.PEM("")
		pk.Free()
		p1 := mustOpenssl(t, dir, "pkey", "-in", c.file, "-passin", "pass:"+c.pass, "-pubout")
		p2 := mustOpenssl(t, dir, "pkey", "-in", write(t, filepath.Join(dir, "back.pem"), back), "-pubout")
		if p1 != p2 {
			t.Fatalf("%s: public keys differ:\n%s\n%s", c.file, p1, p2)
		}
	}
	data, _ := os.ReadFile(filepath.Join(dir, "oe.pem"))
	if _, err := ParseKey(data, "wrong"); status(err) != StatusParseKey {
		t.Fatalf("wrong passphrase: %v", err)
	}
	if _, err := ParseKey(data[:len(data)/2], "pw"); err == nil {
		t.Fatal("half a key parsed")
	}
}

func opensslTime(t *testing.T, s string) int64 {
	t.Helper()
	tm, err := time.Parse("Jan _2 15:04:05 2006 MST", strings.TrimSpace(s))
	if err != nil {
		t.Fatal(err)
	}
	return tm.Unix()
}

func TestPkiAgainstOpenssl(t *testing.T) {
	now := time.Now().Unix()
	dir := t.TempDir()
	caKey, _ := GenerateKey("p256")
	defer caKey.Free()
	if _, err := CreateRootCAWithPathLen("/CN=x", caKey, 365, 300, now); status(err) != StatusInvalidArgument {
		t.Fatalf("path length 300: %v", err)
	}
	ca, err := CreateRootCAWithPathLen("/O=go/CN=Go PathLen CA", caKey, 365, 0, now)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Free()
	storeDir := filepath.Join(dir, "ca")
	s, err := CreateStoreWithPassphrase(storeDir, ca, "")
	if err != nil {
		t.Fatal(err)
	}
	s.Free()
	if _, err := OpenStore(filepath.Join(dir, "nothing"), ""); err == nil {
		t.Fatal("opened a missing store")
	}
	store, err := OpenStore(storeDir, "")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Free()
	caPEM, _ := mustCert(store.CACertificate()).PEM()
	root := write(t, filepath.Join(dir, "root.crt"), caPEM)
	if out := mustOpenssl(t, dir, "x509", "-in", root, "-noout", "-text"); !strings.Contains(out, "CA:TRUE, pathlen:0") {
		t.Fatalf("basic constraints: %s", out)
	}

	key, _ := GenerateKey("p256")
	defer key.Free()
	server, err := store.IssueServer("db.example.com,127.0.0.1", key, 30, now)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Free()
	spem, _ := server.PEM()
	sfile := write(t, filepath.Join(dir, "server.crt"), spem)
	mustOpenssl(t, dir, "verify", "-purpose", "sslserver", "-CAfile", root, sfile)
	fields := mustOpenssl(t, dir, "x509", "-in", sfile, "-noout", "-serial", "-startdate", "-enddate", "-subject", "-issuer", "-nameopt", "sep_comma_plus_space")
	get := func(k string) string {
		m := regexp.MustCompile(`(?m)^` + k + `=(.*)$`).FindStringSubmatch(fields)
		if m == nil {
			t.Fatalf("no %s in %s", k, fields)
		}
		return m[1]
	}
	if get("serial") != strings.ToUpper(server.Serial()) {
		t.Fatalf("serial %s vs %s", get("serial"), server.Serial())
	}
	if opensslTime(t, get("notBefore")) != server.NotBefore() || opensslTime(t, get("notAfter")) != server.NotAfter() {
		t.Fatalf("validity %s..%s vs %d..%d", get("notBefore"), get("notAfter"), server.NotBefore(), server.NotAfter())
	}
	if get("issuer") != mustCert(store.CACertificate()).Subject() || get("issuer") != server.Issuer() {
		t.Fatalf("issuer %q vs %q", get("issuer"), server.Issuer())
	}
	for _, c := range []struct {
		host  string
		match bool
	}{{"db.example.com", true}, {"DB.EXAMPLE.COM", true}, {"other.example.com", false}} {
		out, _ := opensslRun(t, dir, "x509", "-in", sfile, "-noout", "-checkhost", c.host)
		osslMatch := strings.Contains(out, "does match")
		leaf, err := ParseLeaf([]byte(spem))
		if err != nil {
			t.Fatal(err)
		}
		matches, message, err := leaf.CheckHost(c.host, 15)
		leaf.Free()
		if err != nil || osslMatch != c.match || matches != c.match {
			t.Fatalf("%s: openssl %q, pgtls %v %v", c.host, out, matches, err)
		}
		// A mismatch is a verdict with libpq's message, not an error.
		if !c.match && !strings.Contains(message, "does not match host name") {
			t.Fatalf("%s: %q", c.host, message)
		}
	}
	if _, err := ParseLeaf([]byte("garbage")); err == nil {
		t.Fatal("garbage leaf")
	}

	// A CSR: openssl checks its signature and SAN; the signed certificate verifies.
	csr, err := CreateCSR("/CN=csr.example.com", "csr.example.com", key)
	if err != nil {
		t.Fatal(err)
	}
	out := mustOpenssl(t, dir, "req", "-in", write(t, filepath.Join(dir, "r.csr"), csr), "-verify", "-noout", "-text")
	if !strings.Contains(out, "DNS:csr.example.com") {
		t.Fatalf("CSR: %s", out)
	}
	if _, err := store.SignCSR(csr, "bogus", "", 30, now); status(err) != StatusInvalidArgument {
		t.Fatalf("bogus usage: %v", err)
	}
	signed, err := store.SignCSR(csr, "server", "", 30, now)
	if err != nil {
		t.Fatal(err)
	}
	defer signed.Free()
	signedPEM, _ := signed.PEM()
	mustOpenssl(t, dir, "verify", "-purpose", "sslserver", "-CAfile", root, write(t, filepath.Join(dir, "signed.crt"), signedPEM))

	// A client certificate, revoked: openssl's CRL check refuses it.
	client, err := store.IssueClient("alice", key, 30, now)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Free()
	cpem, _ := client.PEM()
	cfile := write(t, filepath.Join(dir, "client.crt"), cpem)
	mustOpenssl(t, dir, "verify", "-purpose", "sslclient", "-CAfile", root, cfile)
	if err := store.Revoke(client.Serial(), "keyCompromise", now); err != nil {
		t.Fatal(err)
	}
	if err := store.Revoke(client.Serial(), "", now); status(err) != StatusAlreadyExists {
		t.Fatalf("second revocation: %v", err)
	}
	crl, err := store.GenerateCRL(now+86400, now)
	if err != nil {
		t.Fatal(err)
	}
	crlFile := write(t, filepath.Join(dir, "root.crl"), crl)
	if out, err := opensslRun(t, dir, "verify", "-crl_check", "-CAfile", root, "-CRLfile", crlFile, cfile); err == nil || !strings.Contains(out, "revoked") {
		t.Fatalf("openssl on the revoked certificate: %v %s", err, out)
	}
	mustOpenssl(t, dir, "verify", "-crl_check", "-CAfile", root, "-CRLfile", crlFile, sfile)
	crlText := mustOpenssl(t, dir, "crl", "-in", crlFile, "-noout", "-text")
	if !strings.Contains(crlText, "Serial Number: "+strings.ToUpper(client.Serial())) {
		t.Fatalf("CRL: %s", crlText)
	}
	entries, err := store.Entries()
	if err != nil {
		t.Fatal(err)
	}
	var sts []string
	for _, e := range entries {
		sts = append(sts, fmt.Sprint(e["status"]))
	}
	sort.Strings(sts)
	if strings.Join(sts, ",") != "revoked,valid,valid" {
		t.Fatalf("entries %v", entries)
	}

	// Inspect a certificate openssl made, and the CRL.
	mustOpenssl(t, dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", "o.key", "-out", "o.crt", "-subj", "/O=ossl/CN=made by openssl", "-days", "3")
	ocrt, _ := os.ReadFile(filepath.Join(dir, "o.crt"))
	items, err := Inspect(ocrt, "")
	if err != nil || len(items) != 1 || items[0]["kind"] != "certificate" {
		t.Fatalf("%v %v", items, err)
	}
	oc, err := ParseCert(ocrt)
	if err != nil {
		t.Fatal(err)
	}
	oserial := strings.TrimPrefix(strings.TrimSpace(mustOpenssl(t, dir, "x509", "-in", "o.crt", "-noout", "-serial")), "serial=")
	osubject := strings.TrimPrefix(strings.TrimSpace(mustOpenssl(t, dir, "x509", "-in", "o.crt", "-noout", "-subject", "-nameopt", "sep_comma_plus_space")), "subject=")
	if strings.ToUpper(oc.Serial()) != oserial || oc.Subject() != osubject || !oc.IsCA() {
		t.Fatalf("openssl's certificate: %s %s %v vs %s %s", oc.Serial(), oc.Subject(), oc.IsCA(), oserial, osubject)
	}
	oc.Free()
	items, err = Inspect([]byte(crl), "")
	if err != nil || items[0]["kind"] != "crl" {
		t.Fatalf("%v %v", items, err)
	}
	if _, err := Inspect([]byte("nothing"), ""); err == nil {
		t.Fatal("inspected nothing")
	}
}

func TestVerdictsAgainstOpenssl(t *testing.T) {
	now := time.Now().Unix()
	dir := t.TempDir()
	caKey, _ := GenerateKey("p256")
	defer caKey.Free()
	ca, _ := CreateRootCA("/CN=Verdict CA", caKey, 3650, now)
	defer ca.Free()
	store, err := CreateStore(filepath.Join(dir, "ca"), ca)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Free()
	key, _ := GenerateKey("p256")
	defer key.Free()
	server, _ := store.IssueServer("db.example.com", key, 30, now)
	defer server.Free()
	client, _ := store.IssueClient("alice", key, 30, now)
	defer client.Free()
	caPEM, _ := mustCert(ca.Certificate()).PEM()
	root := write(t, filepath.Join(dir, "root.crt"), caPEM)
	chain, _ := server.PEM()
	sfile := write(t, filepath.Join(dir, "server.crt"), chain)

	// Expired at `later`: openssl verify -attime names OpenSSL's reason,
	// which libpq hides behind "certificate verify failed".
	later := now + 40*86400
	out, err := opensslRun(t, dir, "verify", "-attime", strconv.FormatInt(later, 10), "-CAfile", root, sfile)
	m := regexp.MustCompile(`error (\d+) at 0 depth lookup: (.*)`).FindStringSubmatch(out)
	if err == nil || m == nil {
		t.Fatalf("openssl: %v %s", err, out)
	}
	v, err := VerifyServer("host=db.example.com sslmode=prefer sslrootcert="+root, chain, 15, later)
	if err != nil {
		t.Fatal(err)
	}
	if v.Accept || !v.TLS || !v.PlaintextFallback || strconv.Itoa(int(v.ReasonCode)) != m[1] || v.Reason != strings.TrimSpace(m[2]) {
		t.Fatalf("pgtls %+v, openssl %q", v, m)
	}
	v, err = VerifyServer("sslmode=disable host=db.example.com", chain, 15, now)
	if err != nil || v.TLS || v.Accept {
		t.Fatalf("disable: %+v %v", v, err)
	}
	mustOpenssl(t, dir, "verify", "-CAfile", root, sfile)
	v, err = VerifyServer("host=db.example.com sslmode=verify-full sslrootcert="+root, chain, 15, now)
	if err != nil || !v.Accept || !v.TLS || v.PlaintextFallback {
		t.Fatalf("verify-full: %+v %v", v, err)
	}

	// The server side: cert authentication.
	cpem, _ := client.PEM()
	line := "hostssl all all 0.0.0.0/0 cert"
	d, err := VerifyClient(line, root, "", nil, "alice", cpem, 15, now)
	if err != nil || !d.Accept || d.Outcome != ClientAccept || d.Undecided != "" || d.JSON["peer_cn"] != "alice" {
		t.Fatalf("alice: %+v %v", d, err)
	}
	d, err = VerifyClient(line, root, "", nil, "bob", cpem, 15, now)
	if err != nil || d.Accept || d.Outcome != ClientReject || !strings.Contains(d.Message, "FATAL") {
		t.Fatalf("bob: %+v %v", d, err)
	}
	// A map pgtls cannot evaluate the way the server does: undecided, never accepted.
	ident, err := ParseIdent("m /^(a)\\1?lice$ alice\n", 15)
	if err != nil || ident.LoadError() != "" {
		t.Fatalf("%v %s", err, ident.LoadError())
	}
	defer ident.Free()
	d, err = VerifyClient(line+" map=m", root, "", ident, "alice", cpem, 15, now)
	if err != nil || d.Accept || d.Outcome != ClientUndecided || d.Undecided == "" || d.JSON["undecided"] != d.Undecided || d.JSON["verdict"] != "undecided" {
		t.Fatalf("undecided: %+v %v", d, err)
	}
	if err := store.Revoke(client.Serial(), "", now); err != nil {
		t.Fatal(err)
	}
	crl, _ := store.GenerateCRL(now+86400, now)
	crlFile := write(t, filepath.Join(dir, "root.crl"), crl)
	cfile := write(t, filepath.Join(dir, "client.crt"), cpem)
	if out, err := opensslRun(t, dir, "verify", "-crl_check", "-CAfile", root, "-CRLfile", crlFile, cfile); err == nil {
		t.Fatalf("openssl accepted a revoked certificate: %s", out)
	}
	d, err = VerifyClient(line, root, crlFile, nil, "alice", cpem, 15, now)
	if err != nil || d.Accept || d.Outcome != ClientReject {
		t.Fatalf("revoked: %+v %v", d, err)
	}
	if _, err := VerifyClient("local all all peer", root, "", nil, "alice", cpem, 15, now); err == nil {
		t.Fatal("a local line accepted for TLS")
	}
}

func TestHbaFilesIdentAndRequests(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "admins"), "alice bob\n")
	path := write(t, filepath.Join(dir, "pg_hba.conf"), "hostssl all @admins 0.0.0.0/0 cert\nhost all +ops 10.0.0.0/8 md5\n")
	hba, err := ReadHbaFile(path, 15, true)
	if err != nil || hba.LoadError() != "" {
		t.Fatalf("%v %s", err, hba.LoadError())
	}
	defer hba.Free()
	lines := hba.Lines()
	if len(lines) != 2 || lines[0].Number != 1 || lines[0].Type != "hostssl" || lines[1].Method != "md5" || lines[0].Error != "" {
		t.Fatalf("%+v", lines)
	}
	rules, err := hba.Rules()
	if err != nil || len(rules) != 2 {
		t.Fatalf("%v %v", rules, err)
	}
	d, err := hba.Evaluate("10.1.2.3", "db", "bob", HbaRequestTLS)
	if err != nil || d.Outcome != HbaMatch || d.Line != 1 || d.JSON["verdict"] != "match" {
		t.Fatalf("%+v %v", d, err)
	}
	d, err = hba.Evaluate("10.1.2.3", "db", "carol", 0, "ops")
	if err != nil || d.Line != 2 {
		t.Fatalf("+ops: %+v %v", d, err)
	}
	if _, err := ReadHbaFile(filepath.Join(dir, "missing.conf"), 15, true); status(err) != StatusIO {
		t.Fatalf("missing file: %v", err)
	}

	ident, err := ParseIdent("certmap alice app\n", 15)
	if err != nil {
		t.Fatal(err)
	}
	defer ident.Free()
	if u, err := ident.Usermap("certmap", "alice", "app", nil, false); err != nil || u.Outcome != UsermapAllowed || u.Line != 1 {
		t.Fatalf("%+v %v", u, err)
	}
	if u, err := ident.Usermap("certmap", "mallory", "app", nil, false); err != nil || u.Outcome != UsermapDenied || !strings.Contains(u.Log, "mallory") {
		t.Fatalf("%+v %v", u, err)
	}
	if u, err := ident.Usermap("", "Bob", "bob", nil, true); err != nil || u.Outcome != UsermapAllowed {
		t.Fatalf("case-insensitive: %+v %v", u, err)
	}
	backref, _ := ParseIdent("m /^(a)\\1?lice$ alice\n", 15)
	defer backref.Free()
	if u, err := backref.Usermap("m", "alice", "alice", nil, false); err != nil || u.Outcome != UsermapUndecided || u.Undecided == "" {
		t.Fatalf("back-reference: %+v %v", u, err)
	}
	pg16, _ := ParseIdent("m alice +admins\n", 16)
	defer pg16.Free()
	// A role name is taken as it is: "staff, admins" is not admins.
	if u, err := pg16.Usermap("m", "alice", "bob", []string{"staff, admins"}, false); err != nil || u.Outcome != UsermapDenied {
		t.Fatalf("comma in a role name: %+v %v", u, err)
	}
	if u, err := pg16.Usermap("m", "alice", "bob", []string{"staff", "admins"}, false); err != nil || u.Outcome != UsermapAllowed {
		t.Fatalf("+admins: %+v %v", u, err)
	}
	if rows, err := ident.Mappings(); err != nil || len(rows) != 1 || rows[0]["map_name"] != "certmap" {
		t.Fatalf("%v %v", rows, err)
	}
	other, _ := ParseHba("hostssl all all 0.0.0.0/0 cert map=othermap\n", 15, true)
	defer other.Free()
	findings, err := other.LintJSON(ident)
	if err != nil || !strings.Contains(fmt.Sprint(findings), "othermap") {
		t.Fatalf("%v %v", findings, err)
	}
	if _, err := ParseIdent("m a b\n", 99); status(err) != StatusInvalidArgument {
		t.Fatalf("version 99: %v", err)
	}

	// Corpus files whose verdicts pgtls-cli/tests/hba_views.rs checks against
	// real connections to PostgreSQL 15 (with samehost/samenet and host names).
	corpus := func(name string) *Hba {
		h, err := ReadHbaFile(filepath.Join("..", "..", "testdata", "hba", "rules", name), 15, true)
		if err != nil || h.LoadError() != "" {
			t.Fatalf("%s: %v %s", name, err, h.LoadError())
		}
		return h
	}
	type want struct {
		outcome HbaOutcome
		line    uint32
	}
	eval := func(h *Hba, addr string, flags uint32, hostname string, servers ...string) want {
		r, err := NewHbaRequest("postgres", "postgres")
		if err != nil {
			t.Fatal(err)
		}
		defer r.Free()
		for _, err := range []error{r.SetAddress(addr), r.SetFlags(flags), r.SetClientHostname(hostname)} {
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, s := range servers {
			if err := r.AddServerAddress(s); err != nil {
				t.Fatal(err)
			}
		}
		d, err := h.EvaluateRequest(r)
		if err != nil {
			t.Fatal(err)
		}
		return want{d.Outcome, d.Line}
	}
	samenet := corpus("081-loadable-samenet.conf")
	defer samenet.Free()
	for _, c := range []struct {
		addr    string
		flags   uint32
		servers []string
		want    want
	}{
		{"10.1.2.3", 0, []string{"10.1.2.3/8"}, want{HbaMatch, 3}},              // samehost
		{"10.1.2.3", HbaRequestTLS, []string{"10.1.2.3/8"}, want{HbaReject, 2}}, // samenet first
		{"10.9.9.9", 0, []string{"10.1.2.3/8"}, want{HbaNoMatch, 0}},            // samenet, but not hostssl
		{"10.9.9.9", HbaRequestTLS, []string{"10.1.2.3/16"}, want{HbaNoMatch, 0}},
		{"10.9.9.9", 0, nil, want{HbaNoMatch, 0}},
	} {
		if got := eval(samenet, c.addr, c.flags, "", c.servers...); got != c.want {
			t.Errorf("081 %+v: got %+v", c, got)
		}
	}
	// 081's "local all +pg_monitor trust": membership, and a role that does
	// not exist is a member of nothing.
	for _, exists := range []bool{true, false} {
		r, _ := NewHbaRequest("postgres", "alice")
		if err := r.AddRole("pg_monitor"); err != nil {
			t.Fatal(err)
		}
		if err := r.SetUserExists(exists); err != nil {
			t.Fatal(err)
		}
		d, err := samenet.EvaluateRequest(r)
		r.Free()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := (want{d.Outcome, d.Line}), map[bool]want{true: {HbaMatch, 4}, false: {HbaNoMatch, 0}}[exists]; got != want {
			t.Errorf("+pg_monitor, role exists %v: got %+v, want %+v", exists, got, want)
		}
	}
	hosts := corpus("080-loadable-hostnames.conf")
	defer hosts.Free()
	for _, c := range []struct {
		hostname string
		want     want
	}{
		{"db.localhost", want{HbaMatch, 2}},
		{"localhost", want{HbaReject, 3}}, // ".localhost" needs a strict suffix; LOCALHOST matches any case
		{"", want{HbaNoMatch, 0}},
	} {
		if got := eval(hosts, "127.0.0.1", 0, c.hostname); got != c.want {
			t.Errorf("080 %q: got %+v", c.hostname, got)
		}
	}

	r, _ := NewHbaRequest("db", "u")
	defer r.Free()
	for _, bad := range []string{"10.0.0.1/33", "10.0.0.1/+8", "10.0.0.1/", "host/8", ""} {
		if err := r.AddServerAddress(bad); status(err) != StatusParseValue {
			t.Errorf("server address %q: %v", bad, err)
		}
	}
	if err := r.SetAddress("fe80::1%eth0"); status(err) != StatusParseValue {
		t.Errorf("zone: %v", err)
	}
	if err := r.SetFlags(HbaRequestReplicationLogical | HbaRequestReplicationPhysical); status(err) != StatusInvalidArgument {
		t.Errorf("both replications: %v", err)
	}
	if err := r.AddRole(""); status(err) != StatusInvalidArgument {
		t.Errorf("empty role: %v", err)
	}
	if err := r.SetUserExists(false); err != nil {
		t.Fatal(err)
	}
	d, err = hba.EvaluateRequest(r)
	if err != nil || d.Outcome != HbaNoMatch || !strings.Contains(d.Message, "[local]") {
		t.Fatalf("%+v %v", d, err)
	}
	if _, err := NewHbaRequest("db", "\xff"); status(err) != StatusInvalidUTF8 {
		t.Fatalf("bad UTF-8: %v", err)
	}
}

// A root CA made by openssl (encrypted key) is loaded, an intermediate is
// made under it, and a server certificate issued from the intermediate:
// openssl verifies the intermediate and the server chain, and libpq's
// verdict through pgtls accepts the chain.
func TestLoadedCAAndIntermediateAgainstOpenssl(t *testing.T) {
	dir := t.TempDir()
	mustOpenssl(t, dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
		"-keyout", "root.key", "-passout", "pass:rootpw", "-out", "root.crt",
		"-subj", "/O=ossl/CN=OpenSSL Root", "-days", "30",
		"-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
	now := time.Now().Unix() // openssl's notBefore is the second it signed in
	rootPEM, _ := os.ReadFile(filepath.Join(dir, "root.crt"))
	rootKey, _ := os.ReadFile(filepath.Join(dir, "root.key"))
	if _, err := LoadCA(rootPEM, rootKey, "wrong"); status(err) != StatusParseKey {
		t.Fatalf("wrong passphrase: %v", err)
	}
	other, _ := GenerateKey("p256")
	defer other.Free()
	otherPEM, _ := other.PEM("")
	if _, err := LoadCA(rootPEM, []byte(otherPEM), ""); status(err) != StatusWrongObject {
		t.Fatalf("foreign key: %v", err)
	}
	root, err := LoadCA(rootPEM, rootKey, "rootpw")
	if err != nil {
		t.Fatal(err)
	}
	defer root.Free()
	osubject := strings.TrimPrefix(strings.TrimSpace(mustOpenssl(t, dir, "x509", "-in", "root.crt", "-noout", "-subject", "-nameopt", "sep_comma_plus_space")), "subject=")
	if mustCert(root.Certificate()).Subject() != osubject {
		t.Fatalf("subject %q vs openssl %q", mustCert(root.Certificate()).Subject(), osubject)
	}
	if chain, _ := root.ChainPEM(); chain != string(rootPEM) {
		t.Fatalf("a root's chain is itself:\n%s", chain)
	}

	ikey, _ := GenerateKey("p256")
	defer ikey.Free()
	if _, err := root.CreateIntermediate("/CN=Too Long", ikey, 365, -1, now); status(err) != StatusIssue {
		t.Fatalf("intermediate outliving its root: %v", err)
	}
	inter, err := root.CreateIntermediate("/O=go/CN=Go Intermediate", ikey, 20, 0, now)
	if err != nil {
		t.Fatal(err)
	}
	defer inter.Free()
	chain, err := inter.ChainPEM()
	if err != nil || strings.Count(chain, "BEGIN CERTIFICATE") != 2 {
		t.Fatalf("%q %v", chain, err)
	}
	ipem, _ := mustCert(inter.Certificate()).PEM()
	ifile := write(t, filepath.Join(dir, "inter.crt"), ipem)
	mustOpenssl(t, dir, "verify", "-CAfile", "root.crt", ifile)
	itext := mustOpenssl(t, dir, "x509", "-in", ifile, "-noout", "-text")
	if !strings.Contains(itext, "CA:TRUE, pathlen:0") || !strings.Contains(itext, "Certificate Sign") {
		t.Fatalf("intermediate: %s", itext)
	}
	if _, err := inter.CreateIntermediate("/CN=Third", other, 10, -1, now); err == nil {
		t.Fatal("a CA under pathlen:0")
	}

	// Reload the intermediate from its chain and issue through a store.
	ikeyPEM, _ := ikey.PEM("")
	again, err := LoadCA([]byte(chain), []byte(ikeyPEM), "")
	if err != nil {
		t.Fatal(err)
	}
	defer again.Free()
	if c2, _ := again.ChainPEM(); c2 != chain {
		t.Fatal("chain lost on reload")
	}
	store, err := CreateStore(filepath.Join(dir, "inter-ca"), again)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Free()
	server, err := store.IssueServer("db.example.com", other, 10, now)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Free()
	spem, _ := server.PEM()
	sfile := write(t, filepath.Join(dir, "server.crt"), spem)
	write(t, filepath.Join(dir, "untrusted.pem"), ipem)
	mustOpenssl(t, dir, "verify", "-purpose", "sslserver", "-CAfile", "root.crt", "-untrusted", "untrusted.pem", sfile)
	if out, err := opensslRun(t, dir, "verify", "-CAfile", "root.crt", sfile); err == nil {
		t.Fatalf("openssl verified without the intermediate: %s", out)
	}
	conninfo := "host=db.example.com sslmode=verify-full sslrootcert=" + filepath.Join(dir, "root.crt")
	v, err := VerifyServer(conninfo, spem+ipem, 15, now)
	if err != nil || !v.Accept {
		t.Fatalf("with the intermediate: %+v %v", v, err)
	}
	v, err = VerifyServer(conninfo, spem, 15, now)
	if err != nil || v.Accept || v.ReasonCode != 20 {
		t.Fatalf("without the intermediate: %+v %v", v, err)
	}
}
