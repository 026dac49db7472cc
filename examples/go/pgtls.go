// Package pgtls is a cgo binding of libpgtls, the C ABI of pgtls.
//
// pkg-config must find pgtls.pc (scripts/test-ffi.sh stages one). Every call
// that can fail returns an *Error carrying pgtls's status code and message;
// errors travel in an object owned by the call, never in thread-local state,
// so goroutines moving between OS threads are safe. Handles must be released
// with Free.
package pgtls

/*
#cgo pkg-config: pgtls
#include <stdlib.h>
#include <pgtls.h>

// pgtls_testing_panic exists only in a library built with the test-hooks
// feature; scripts/test-ffi.sh then adds -DPGTLS_TEST_HOOKS to CGO_CFLAGS.
#ifdef PGTLS_TEST_HOOKS
static pgtls_status go_testing_panic(pgtls_error **err_out) { return pgtls_testing_panic(err_out); }
static int go_test_hooks(void) { return 1; }
#else
static pgtls_status go_testing_panic(pgtls_error **err_out) { (void)err_out; return PGTLS_STATUS_OK; }
static int go_test_hooks(void) { return 0; }
#endif
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"unsafe"
)

// Status codes (pgtls_status); they are never renumbered.
const (
	StatusOK              = uint32(C.PGTLS_STATUS_OK)
	StatusNullArgument    = uint32(C.PGTLS_STATUS_NULL_ARGUMENT)
	StatusInvalidUTF8     = uint32(C.PGTLS_STATUS_INVALID_UTF8)
	StatusInvalidArgument = uint32(C.PGTLS_STATUS_INVALID_ARGUMENT)
	StatusIndexOutOfRange = uint32(C.PGTLS_STATUS_INDEX_OUT_OF_RANGE)
	StatusWrongObject     = uint32(C.PGTLS_STATUS_WRONG_OBJECT)
	StatusParsePEM        = uint32(C.PGTLS_STATUS_PARSE_PEM)
	StatusParseCert       = uint32(C.PGTLS_STATUS_PARSE_CERTIFICATE)
	StatusParseCSR        = uint32(C.PGTLS_STATUS_PARSE_CSR)
	StatusParseKey        = uint32(C.PGTLS_STATUS_PARSE_KEY)
	StatusParseCRL        = uint32(C.PGTLS_STATUS_PARSE_CRL)
	StatusParseHba        = uint32(C.PGTLS_STATUS_PARSE_HBA)
	StatusParseIdent      = uint32(C.PGTLS_STATUS_PARSE_IDENT)
	StatusParseValue      = uint32(C.PGTLS_STATUS_PARSE_VALUE)
	StatusIssue           = uint32(C.PGTLS_STATUS_ISSUE)
	StatusIO              = uint32(C.PGTLS_STATUS_IO)
	StatusStore           = uint32(C.PGTLS_STATUS_STORE)
	StatusNotFound        = uint32(C.PGTLS_STATUS_NOT_FOUND)
	StatusAlreadyExists   = uint32(C.PGTLS_STATUS_ALREADY_EXISTS)
	StatusInternal        = uint32(C.PGTLS_STATUS_INTERNAL)
	StatusPanic           = uint32(C.PGTLS_STATUS_PANIC)

	HbaRequestTLS                 = uint32(C.PGTLS_HBA_REQUEST_TLS)
	HbaRequestGSS                 = uint32(C.PGTLS_HBA_REQUEST_GSS)
	HbaRequestReplicationPhysical = uint32(C.PGTLS_HBA_REQUEST_REPLICATION_PHYSICAL)
	HbaRequestReplicationLogical  = uint32(C.PGTLS_HBA_REQUEST_REPLICATION_LOGICAL)
)

// StatusString is pgtls's fixed text for a status code ("unknown status"
// for codes it does not know).
func StatusString(status uint32) string { return C.GoString(C.pgtls_status_str(C.uint32_t(status))) }

// TestHooks reports whether the library was built with its test hooks.
func TestHooks() bool { return C.go_test_hooks() == 1 }

// TestingPanic calls pgtls_testing_panic (a panic inside the library's
// boundary) when the library has test hooks; nil otherwise.
func TestingPanic() error {
	var e *C.pgtls_error
	return check(C.go_testing_panic(&e), e)
}

// HeaderVersion is the version of the pgtls.h this package was compiled with.
var HeaderVersion = fmt.Sprintf("%d.%d.%d", C.PGTLS_VERSION_MAJOR, C.PGTLS_VERSION_MINOR, C.PGTLS_VERSION_PATCH)

// Version is the loaded library's version.
func Version() string { return C.GoString(C.pgtls_version()) }

// ChainOutcome is libpq's answer on a server's chain (pgtls_chain_outcome).
type ChainOutcome uint32

// ClientOutcome is the server's decision on a client certificate
// (pgtls_client_outcome).
type ClientOutcome uint32

// HbaOutcome is the pg_hba stage's decision (pgtls_hba_outcome).
type HbaOutcome uint32

// UsermapOutcome is a pg_ident.conf user-map decision (pgtls_usermap_outcome).
type UsermapOutcome uint32

// Severity is how serious a lint finding is (pgtls_severity; ordered).
type Severity uint32

// The header's outcome values (stable; 0 is only ever a NULL handle).
const (
	ChainAccept = ChainOutcome(C.PGTLS_CHAIN_OUTCOME_ACCEPT)
	ChainReject = ChainOutcome(C.PGTLS_CHAIN_OUTCOME_REJECT)

	ClientAccept    = ClientOutcome(C.PGTLS_CLIENT_OUTCOME_ACCEPT)
	ClientReject    = ClientOutcome(C.PGTLS_CLIENT_OUTCOME_REJECT)
	ClientUndecided = ClientOutcome(C.PGTLS_CLIENT_OUTCOME_UNDECIDED)

	HbaMatch     = HbaOutcome(C.PGTLS_HBA_OUTCOME_MATCH)
	HbaReject    = HbaOutcome(C.PGTLS_HBA_OUTCOME_REJECT)
	HbaNoMatch   = HbaOutcome(C.PGTLS_HBA_OUTCOME_NO_MATCH)
	HbaNotLoaded = HbaOutcome(C.PGTLS_HBA_OUTCOME_NOT_LOADED)
	HbaUndecided = HbaOutcome(C.PGTLS_HBA_OUTCOME_UNDECIDED)

	UsermapAllowed   = UsermapOutcome(C.PGTLS_USERMAP_OUTCOME_ALLOWED)
	UsermapDenied    = UsermapOutcome(C.PGTLS_USERMAP_OUTCOME_DENIED)
	UsermapError     = UsermapOutcome(C.PGTLS_USERMAP_OUTCOME_ERROR)
	UsermapUndecided = UsermapOutcome(C.PGTLS_USERMAP_OUTCOME_UNDECIDED)

	SeverityInfo    = Severity(C.PGTLS_SEVERITY_INFO)
	SeverityWarning = Severity(C.PGTLS_SEVERITY_WARNING)
	SeverityError   = Severity(C.PGTLS_SEVERITY_ERROR)
)

// ABIVersion is the loaded library's ABI generation.
func ABIVersion() uint32 { return uint32(C.pgtls_abi_version()) }

// HeaderABIVersion is the ABI generation of the header this package was built with.
const HeaderABIVersion = uint32(C.PGTLS_ABI_VERSION)

// Error is a failed pgtls call.
type Error struct {
	Status  uint32
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("pgtls: %s (status %d)", e.Message, e.Status) }

func check(status C.pgtls_status, err *C.pgtls_error) error {
	if uint32(status) == StatusOK {
		return nil
	}
	e := &Error{Status: uint32(status), Message: C.GoString(C.pgtls_status_str(C.uint32_t(status)))}
	if err != nil {
		e.Message = C.GoString(C.pgtls_error_message(err))
		if s := uint32(C.pgtls_error_status(err)); s != e.Status {
			e.Message += fmt.Sprintf(" (error object says status %d)", s)
		}
		C.pgtls_error_free(err)
	}
	return e
}

// in returns a (pointer, length) pair in C memory for s; free it with C.free.
// (NULL, 0) for the empty string.
func in(s string) (*C.uint8_t, C.size_t) {
	if len(s) == 0 {
		return nil, 0
	}
	return (*C.uint8_t)(C.CBytes([]byte(s))), C.size_t(len(s))
}

func free(p *C.uint8_t) {
	if p != nil {
		C.free(unsafe.Pointer(p))
	}
}

func takeBuf(b *C.pgtls_buf) []byte {
	defer C.pgtls_buf_free(b)
	return C.GoBytes(unsafe.Pointer(C.pgtls_buf_data(b)), C.int(C.pgtls_buf_len(b)))
}

// Key is a private key.
type Key struct{ p *C.pgtls_key }

// GenerateKey makes a key ("p256", "p384", "ed25519", "rsa2048", ...).
func GenerateKey(algorithm string) (*Key, error) {
	a, n := in(algorithm)
	defer free(a)
	var k *C.pgtls_key
	var e *C.pgtls_error
	if err := check(C.pgtls_key_generate(a, n, &k, &e), e); err != nil {
		return nil, err
	}
	return &Key{k}, nil
}

// Free releases the key.
func (k *Key) Free() { C.pgtls_key_free(k.p); k.p = nil }

// Cert is a certificate.
type Cert struct {
	p     *C.pgtls_cert
	owned bool
}

// ParseCert parses the first certificate of PEM or DER data.
func ParseCert(data []byte) (*Cert, error) {
	d, n := in(string(data))
	defer free(d)
	var c *C.pgtls_cert
	var e *C.pgtls_error
	if err := check(C.pgtls_cert_parse(d, n, &c, &e), e); err != nil {
		return nil, err
	}
	return &Cert{c, true}, nil
}

// Free releases a certificate this package returned as owned.
func (c *Cert) Free() {
	if c.owned {
		C.pgtls_cert_free(c.p)
	}
	c.p = nil
}

func (c *Cert) Subject() string { return C.GoString(C.pgtls_cert_subject(c.p)) }
func (c *Cert) Issuer() string  { return C.GoString(C.pgtls_cert_issuer(c.p)) }
func (c *Cert) Serial() string  { return C.GoString(C.pgtls_cert_serial(c.p)) }
func (c *Cert) IsCA() bool      { return bool(C.pgtls_cert_is_ca(c.p)) }

// SubjectAltNames lists the SANs as "DNS:name" / "IP:address".
func (c *Cert) SubjectAltNames() []string {
	n := int(C.pgtls_cert_san_count(c.p))
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, C.GoString(C.pgtls_cert_san(c.p, C.size_t(i))))
	}
	return out
}

// PEM encodes the certificate.
func (c *Cert) PEM() (string, error) {
	var b *C.pgtls_buf
	var e *C.pgtls_error
	if err := check(C.pgtls_cert_to_pem(c.p, &b, &e), e); err != nil {
		return "", err
	}
	return string(takeBuf(b)), nil
}

// JSON describes the certificate.
func (c *Cert) JSON() (map[string]any, error) {
	var b *C.pgtls_buf
	var e *C.pgtls_error
	if err := check(C.pgtls_cert_to_json(c.p, &b, &e), e); err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(takeBuf(b), &m)
}

// CA is a certificate authority in memory.
type CA struct{ p *C.pgtls_ca }

// CreateRootCA makes a self-signed CA; subject in OpenSSL's /K=V form.
func CreateRootCA(subject string, key *Key, days uint32, now int64) (*CA, error) {
	s, n := in(subject)
	defer free(s)
	var c *C.pgtls_ca
	var e *C.pgtls_error
	if err := check(C.pgtls_ca_create_root(s, n, key.p, C.uint32_t(days), -1, C.int64_t(now), &c, &e), e); err != nil {
		return nil, err
	}
	return &CA{c}, nil
}

// Certificate is an owned copy of the CA's certificate (Free it).
func (c *CA) Certificate() (*Cert, error) {
	var out *C.pgtls_cert
	var e *C.pgtls_error
	if err := check(C.pgtls_ca_certificate(c.p, &out, &e), e); err != nil {
		return nil, err
	}
	return &Cert{out, true}, nil
}

// Free releases the CA.
func (c *CA) Free() { C.pgtls_ca_free(c.p); c.p = nil }

// Store is a directory CA store.
type Store struct{ p *C.pgtls_store }

// CreateStore writes a new store for ca into dir.
func CreateStore(dir string, ca *CA) (*Store, error) {
	d, n := in(dir)
	defer free(d)
	var s *C.pgtls_store
	var e *C.pgtls_error
	if err := check(C.pgtls_store_create(d, n, ca.p, nil, 0, &s, &e), e); err != nil {
		return nil, err
	}
	return &Store{s}, nil
}

// Free releases the store handle.
func (s *Store) Free() { C.pgtls_store_free(s.p); s.p = nil }

// IssueServer issues a server certificate for comma-separated names.
func (s *Store) IssueServer(names string, key *Key, days uint32, now int64) (*Cert, error) {
	nm, n := in(names)
	defer free(nm)
	var c *C.pgtls_cert
	var e *C.pgtls_error
	if err := check(C.pgtls_store_issue_server(s.p, nm, n, key.p, C.uint32_t(days), C.int64_t(now), &c, &e), e); err != nil {
		return nil, err
	}
	return &Cert{c, true}, nil
}

// IssueClient issues a client certificate with CN = role.
func (s *Store) IssueClient(role string, key *Key, days uint32, now int64) (*Cert, error) {
	r, n := in(role)
	defer free(r)
	var c *C.pgtls_cert
	var e *C.pgtls_error
	if err := check(C.pgtls_store_issue_client(s.p, r, n, key.p, C.uint32_t(days), C.int64_t(now), &c, &e), e); err != nil {
		return nil, err
	}
	return &Cert{c, true}, nil
}

// Revoke marks a serial revoked.
func (s *Store) Revoke(serial, reason string, now int64) error {
	sr, n := in(serial)
	defer free(sr)
	r, rn := in(reason)
	defer free(r)
	var e *C.pgtls_error
	return check(C.pgtls_store_revoke(s.p, sr, n, r, rn, C.int64_t(now), &e), e)
}

// GenerateCRL returns a new CRL as PEM.
func (s *Store) GenerateCRL(nextUpdate, now int64) (string, error) {
	var b *C.pgtls_buf
	var e *C.pgtls_error
	if err := check(C.pgtls_store_generate_crl(s.p, C.int64_t(nextUpdate), C.int64_t(now), &b, &e), e); err != nil {
		return "", err
	}
	return string(takeBuf(b)), nil
}

// Hba is a parsed pg_hba.conf.
type Hba struct{ p *C.pgtls_hba }

// ParseHba parses pg_hba.conf text for a PostgreSQL major version.
func ParseHba(text string, pgVersion uint32, ssl bool) (*Hba, error) {
	t, n := in(text)
	defer free(t)
	var h *C.pgtls_hba
	var e *C.pgtls_error
	if err := check(C.pgtls_hba_parse(t, n, C.uint32_t(pgVersion), C.bool(ssl), &h, &e), e); err != nil {
		return nil, err
	}
	return &Hba{h}, nil
}

// Free releases the file.
func (h *Hba) Free() { C.pgtls_hba_free(h.p); h.p = nil }

// LoadError says why the server would refuse the file ("" when it loads).
func (h *Hba) LoadError() string { return C.GoString(C.pgtls_hba_load_error(h.p)) }

// Decision is the pg_hba stage's outcome.
type Decision struct {
	Outcome HbaOutcome `json:"-"`
	Line    uint32     `json:"line"`
	Method  string     `json:"method"`
	Message string     `json:"message"`
	// JSON is pgtls_hba_decision_to_json's object.
	JSON map[string]any `json:"-"`
}

// Evaluate decides a connection (address "" for a Unix socket) of a user
// belonging to roles, through an HbaRequest.
func (h *Hba) Evaluate(address, database, user string, flags uint32, roles ...string) (*Decision, error) {
	r, err := NewHbaRequest(database, user)
	if err != nil {
		return nil, err
	}
	defer r.Free()
	if err := r.SetAddress(address); err != nil {
		return nil, err
	}
	if err := r.SetFlags(flags); err != nil {
		return nil, err
	}
	for _, role := range roles {
		if err := r.AddRole(role); err != nil {
			return nil, err
		}
	}
	return h.EvaluateRequest(r)
}

// Finding is one linter finding.
type Finding struct {
	Line     uint32   `json:"line"`
	Severity Severity `json:"severity"`
	Code     string   `json:"code"`
	Message  string   `json:"message"`
}

// Lint runs the linter.
func (h *Hba) Lint() ([]Finding, error) {
	var l *C.pgtls_lint
	var e *C.pgtls_error
	if err := check(C.pgtls_hba_lint(h.p, nil, &l, &e), e); err != nil {
		return nil, err
	}
	defer C.pgtls_lint_free(l)
	n := int(C.pgtls_lint_count(l))
	out := make([]Finding, 0, n)
	for i := 0; i < n; i++ {
		j := C.size_t(i)
		out = append(out, Finding{
			Line:     uint32(C.pgtls_lint_line(l, j)),
			Severity: Severity(C.pgtls_lint_severity(l, j)),
			Code:     C.GoString(C.pgtls_lint_code(l, j)),
			Message:  C.GoString(C.pgtls_lint_message(l, j)),
		})
	}
	return out, nil
}

// Verdict is libpq's decision about a server chain.
type Verdict struct {
	Outcome           ChainOutcome
	Accept            bool // Outcome == ChainAccept
	TLS               bool
	PlaintextFallback bool
	Message           string
	Reason            string
	ReasonCode        uint32
	JSON              map[string]any
}

// VerifyServer asks what libpq would decide for a server presenting chainPEM.
func VerifyServer(conninfo string, chainPEM string, pgVersion uint32, now int64) (*Verdict, error) {
	c, cn := in(conninfo)
	defer free(c)
	p, pn := in(chainPEM)
	defer free(p)
	var v *C.pgtls_verdict
	var e *C.pgtls_error
	if err := check(C.pgtls_verify_server(c, cn, p, pn, C.uint32_t(pgVersion), C.int64_t(now), &v, &e), e); err != nil {
		return nil, err
	}
	defer C.pgtls_verdict_free(v)
	var b *C.pgtls_buf
	if err := check(C.pgtls_verdict_to_json(v, &b, &e), e); err != nil {
		return nil, err
	}
	out := &Verdict{
		Outcome:           ChainOutcome(C.pgtls_verdict_outcome(v)),
		TLS:               bool(C.pgtls_verdict_tls(v)),
		PlaintextFallback: bool(C.pgtls_verdict_plaintext_fallback(v)),
		Message:           C.GoString(C.pgtls_verdict_message(v)),
		Reason:            C.GoString(C.pgtls_verdict_reason(v)),
		ReasonCode:        uint32(C.pgtls_verdict_reason_code(v)),
	}
	out.Accept = out.Outcome == ChainAccept
	return out, json.Unmarshal(takeBuf(b), &out.JSON)
}
