package pgtls

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestVersion(t *testing.T) {
	if Version() != HeaderVersion {
		t.Fatalf("library %s, header %s", Version(), HeaderVersion)
	}
	if ABIVersion() != HeaderABIVersion {
		t.Fatalf("library ABI %d, header %d", ABIVersion(), HeaderABIVersion)
	}
}

func TestErrors(t *testing.T) {
	_, err := GenerateKey("no-such-algorithm")
	var pe *Error
	if !errors.As(err, &pe) || pe.Status != StatusInvalidArgument || !strings.Contains(pe.Message, "no-such-algorithm") {
		t.Fatalf("got %v", err)
	}
	if _, err := ParseCert([]byte("garbage")); err == nil {
		t.Fatal("garbage parsed")
	}
	if _, err := ParseCert(nil); err == nil {
		t.Fatal("empty input parsed")
	}
	if _, err := GenerateKey("\xff\xfe"); !errors.As(err, &pe) || pe.Status != StatusInvalidUTF8 {
		t.Fatalf("got %v", err)
	}
}

func TestIssueAndVerify(t *testing.T) {
	now := time.Now().Unix()
	dir := t.TempDir()
	caKey, err := GenerateKey("p256")
	if err != nil {
		t.Fatal(err)
	}
	defer caKey.Free()
	ca, err := CreateRootCA("/O=go/CN=Go Test CA", caKey, 3650, now)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Free()
	if !mustCert(ca.Certificate()).IsCA() {
		t.Fatal("CA certificate is not a CA")
	}
	store, err := CreateStore(filepath.Join(dir, "ca"), ca)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Free()
	if _, err := CreateStore(filepath.Join(dir, "ca"), ca); !errors.As(err, new(*Error)) || err.(*Error).Status != StatusAlreadyExists {
		t.Fatalf("second store: %v", err)
	}
	key, _ := GenerateKey("")
	defer key.Free()
	server, err := store.IssueServer("db.example.com,127.0.0.1", key, 30, now)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Free()
	if sans := server.SubjectAltNames(); len(sans) != 2 {
		t.Fatalf("SANs %v", sans)
	}
	client, err := store.IssueClient("alice", key, 30, now)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Free()
	if err := store.Revoke(client.Serial(), "keyCompromise", now); err != nil {
		t.Fatal(err)
	}
	crl, err := store.GenerateCRL(now+86400, now)
	if err != nil || !strings.HasPrefix(crl, "-----BEGIN X509 CRL-----") {
		t.Fatalf("CRL %q %v", crl, err)
	}
	j, err := server.JSON()
	if err != nil || j["serial"] != server.Serial() {
		t.Fatalf("json %v %v", j, err)
	}

	rootPEM, _ := mustCert(ca.Certificate()).PEM()
	root := filepath.Join(dir, "root.crt")
	if err := os.WriteFile(root, []byte(rootPEM), 0o644); err != nil {
		t.Fatal(err)
	}
	chain, _ := server.PEM()
	v, err := VerifyServer("host=db.example.com sslmode=verify-full sslrootcert="+root, chain, 15, now)
	if err != nil || !v.Accept || v.JSON["verdict"] != "accept" {
		t.Fatalf("verdict %+v %v", v, err)
	}
	v, err = VerifyServer("host=127.0.0.2 sslmode=verify-full sslrootcert="+root, chain, 15, now)
	if err != nil || v.Accept || !strings.Contains(v.Message, "does not match host name") {
		t.Fatalf("verdict %+v %v", v, err)
	}
	v, err = VerifyServer("host=db.example.com sslmode=verify-ca sslrootcert="+root, chain, 15, now+100*86400)
	if err != nil || v.Accept || v.Reason != "certificate has expired" || v.ReasonCode != 10 {
		t.Fatalf("verdict %+v %v", v, err)
	}
}

// Many goroutines at once: error objects belong to the call, so messages
// never cross between goroutines even when the runtime moves them between
// OS threads.
func TestConcurrentCallsKeepTheirOwnErrors(t *testing.T) {
	hba, err := ParseHba("hostssl all all 0.0.0.0/0 scram-sha-256\nhost all all 10.0.0.0/8 reject\n", 15, true)
	if err != nil {
		t.Fatal(err)
	}
	defer hba.Free()
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				d, err := hba.Evaluate("10.1.2.3", "db", "u", HbaRequestTLS)
				if err != nil || d.Outcome != HbaMatch || d.Line != 1 {
					errs <- "evaluate"
					return
				}
				bad := "bad-address-" + string(rune('a'+g))
				_, err = hba.Evaluate(bad, "db", "u", 0)
				var pe *Error
				if !errors.As(err, &pe) || pe.Status != StatusParseValue || !strings.Contains(pe.Message, bad) {
					errs <- "error crossed goroutines: " + err.Error()
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

func TestHba(t *testing.T) {
	hba, err := ParseHba("local all all peer\nhost all all 0.0.0.0/0 trust\n", 15, true)
	if err != nil {
		t.Fatal(err)
	}
	defer hba.Free()
	if hba.LoadError() != "" {
		t.Fatal(hba.LoadError())
	}
	d, err := hba.Evaluate("", "db", "u", 0)
	if err != nil || d.Method != "peer" || d.Line != 1 {
		t.Fatalf("%+v %v", d, err)
	}
	findings, err := hba.Lint()
	if err != nil || len(findings) == 0 {
		t.Fatalf("%v %v", findings, err)
	}
	broken, _ := ParseHba("host all all\n", 15, true)
	defer broken.Free()
	if broken.LoadError() == "" {
		t.Fatal("broken file loads")
	}
}

// mustCert is a certificate copy for a test; a failure to copy it panics.
func mustCert(c *Cert, err error) *Cert {
	if err != nil {
		panic(err)
	}
	return c
}
