package pgtls

/*
#cgo pkg-config: pgtls
#include <stdlib.h>
#include <pgtls.h>
*/
import "C"

import "encoding/json"

func jsonBuf(status C.pgtls_status, b *C.pgtls_buf, e *C.pgtls_error, v any) error {
	if err := check(status, e); err != nil {
		return err
	}
	return json.Unmarshal(takeBuf(b), v)
}

// ParseKey reads a private key (PEM: PKCS#8, encrypted PKCS#8 with
// passphrase, SEC1, PKCS#1; or DER). passphrase "" means none.
func ParseKey(data []byte, passphrase string) (*Key, error) {
	d, n := in(string(data))
	defer free(d)
	p, pn := in(passphrase)
	defer free(p)
	var k *C.pgtls_key
	var e *C.pgtls_error
	if err := check(C.pgtls_key_parse(d, n, p, pn, &k, &e), e); err != nil {
		return nil, err
	}
	return &Key{k}, nil
}

// PEM encodes the key as PKCS#8 PEM, encrypted when passphrase is not "".
func (k *Key) PEM(passphrase string) (string, error) {
	p, pn := in(passphrase)
	defer free(p)
	var b *C.pgtls_buf
	var e *C.pgtls_error
	if err := check(C.pgtls_key_to_pem(k.p, p, pn, &b, &e), e); err != nil {
		return "", err
	}
	return string(takeBuf(b)), nil
}

// NotBefore is the start of validity (Unix seconds).
func (c *Cert) NotBefore() int64 { return int64(C.pgtls_cert_not_before(c.p)) }

// NotAfter is the end of validity (Unix seconds).
func (c *Cert) NotAfter() int64 { return int64(C.pgtls_cert_not_after(c.p)) }

// Inspect describes every PEM block or the DER object in data
// (certificates, CSRs, CRLs, keys) as pgtls inspect --json does.
func Inspect(data []byte, passphrase string) ([]map[string]any, error) {
	d, n := in(string(data))
	defer free(d)
	p, pn := in(passphrase)
	defer free(p)
	var b *C.pgtls_buf
	var e *C.pgtls_error
	var out []map[string]any
	return out, jsonBuf(C.pgtls_inspect_json(d, n, p, pn, &b, &e), b, e, &out)
}

// CreateCSR makes a PEM certificate signing request for subject (/K=V
// form) with comma-separated names as SANs, signed by key.
func CreateCSR(subject, names string, key *Key) (string, error) {
	s, sn := in(subject)
	defer free(s)
	nm, nn := in(names)
	defer free(nm)
	var b *C.pgtls_buf
	var e *C.pgtls_error
	if err := check(C.pgtls_csr_create(s, sn, nm, nn, key.p, &b, &e), e); err != nil {
		return "", err
	}
	return string(takeBuf(b)), nil
}

// CreateRootCAWithPathLen is CreateRootCA with a basicConstraints path
// length (pathLen < 0: none).
func CreateRootCAWithPathLen(subject string, key *Key, days uint32, pathLen int32, now int64) (*CA, error) {
	s, n := in(subject)
	defer free(s)
	var c *C.pgtls_ca
	var e *C.pgtls_error
	if err := check(C.pgtls_ca_create_root(s, n, key.p, C.uint32_t(days), C.int32_t(pathLen), C.int64_t(now), &c, &e), e); err != nil {
		return nil, err
	}
	return &CA{c}, nil
}

// CreateStoreWithPassphrase writes a new store for ca into dir, its key
// encrypted with passphrase ("" : unencrypted).
func CreateStoreWithPassphrase(dir string, ca *CA, passphrase string) (*Store, error) {
	d, n := in(dir)
	defer free(d)
	p, pn := in(passphrase)
	defer free(p)
	var s *C.pgtls_store
	var e *C.pgtls_error
	if err := check(C.pgtls_store_create(d, n, ca.p, p, pn, &s, &e), e); err != nil {
		return nil, err
	}
	return &Store{s}, nil
}

// OpenStore opens an existing store ("" passphrase: unencrypted key).
func OpenStore(dir, passphrase string) (*Store, error) {
	d, n := in(dir)
	defer free(d)
	p, pn := in(passphrase)
	defer free(p)
	var s *C.pgtls_store
	var e *C.pgtls_error
	if err := check(C.pgtls_store_open(d, n, p, pn, &s, &e), e); err != nil {
		return nil, err
	}
	return &Store{s}, nil
}

// CACertificate is an owned copy of the store's CA certificate (Free it).
func (s *Store) CACertificate() (*Cert, error) {
	var out *C.pgtls_cert
	var e *C.pgtls_error
	if err := check(C.pgtls_store_ca_certificate(s.p, &out, &e), e); err != nil {
		return nil, err
	}
	return &Cert{out, true}, nil
}

// SignCSR issues a certificate for a PEM CSR; usage is "server" or
// "client"; names ("" : the CSR's own) are comma-separated SANs.
func (s *Store) SignCSR(csr, usage, names string, days uint32, now int64) (*Cert, error) {
	c, cn := in(csr)
	defer free(c)
	u, un := in(usage)
	defer free(u)
	nm, nn := in(names)
	defer free(nm)
	var out *C.pgtls_cert
	var e *C.pgtls_error
	if err := check(C.pgtls_store_sign_csr(s.p, c, cn, u, un, nm, nn, C.uint32_t(days), C.int64_t(now), &out, &e), e); err != nil {
		return nil, err
	}
	return &Cert{out, true}, nil
}

// Entries lists the store's index (one object per certificate).
func (s *Store) Entries() ([]map[string]any, error) {
	var b *C.pgtls_buf
	var e *C.pgtls_error
	var out []map[string]any
	return out, jsonBuf(C.pgtls_store_entries_json(s.p, &b, &e), b, e, &out)
}

// ReadHbaFile reads pg_hba.conf from path, resolving @file and include
// directives as the server would.
func ReadHbaFile(path string, pgVersion uint32, ssl bool) (*Hba, error) {
	p, n := in(path)
	defer free(p)
	var h *C.pgtls_hba
	var e *C.pgtls_error
	if err := check(C.pgtls_hba_read_file(p, n, C.uint32_t(pgVersion), C.bool(ssl), &h, &e), e); err != nil {
		return nil, err
	}
	return &Hba{h}, nil
}

// HbaLine is one record of a parsed pg_hba.conf.
type HbaLine struct {
	Number uint32
	Text   string
	Error  string // "" when valid
	Type   string // "" when invalid
	Method string // "" when invalid
}

// Lines lists the records.
func (h *Hba) Lines() []HbaLine {
	n := int(C.pgtls_hba_line_count(h.p))
	out := make([]HbaLine, 0, n)
	for i := 0; i < n; i++ {
		j := C.size_t(i)
		out = append(out, HbaLine{
			Number: uint32(C.pgtls_hba_line_number(h.p, j)),
			Text:   C.GoString(C.pgtls_hba_line_text(h.p, j)),
			Error:  C.GoString(C.pgtls_hba_line_error(h.p, j)),
			Type:   C.GoString(C.pgtls_hba_line_type(h.p, j)),
			Method: C.GoString(C.pgtls_hba_line_method(h.p, j)),
		})
	}
	return out
}

// Rules are the rows of the pg_hba_file_rules view.
func (h *Hba) Rules() ([]map[string]any, error) {
	var b *C.pgtls_buf
	var e *C.pgtls_error
	var out []map[string]any
	return out, jsonBuf(C.pgtls_hba_rules_json(h.p, &b, &e), b, e, &out)
}

func decisionOf(out *C.pgtls_hba_decision) (*Decision, error) {
	defer C.pgtls_hba_decision_free(out)
	d := &Decision{
		Outcome: HbaOutcome(C.pgtls_hba_decision_outcome(out)),
		Line:    uint32(C.pgtls_hba_decision_line(out)),
		Method:  C.GoString(C.pgtls_hba_decision_method(out)),
		Message: C.GoString(C.pgtls_hba_decision_message(out)),
	}
	var b *C.pgtls_buf
	var e *C.pgtls_error
	return d, jsonBuf(C.pgtls_hba_decision_to_json(out, &b, &e), b, e, &d.JSON)
}

// HbaRequest is a connection for EvaluateRequest: address, flags, roles,
// the client's host name, the server's addresses (samehost,
// samenet) and whether the role exists.
type HbaRequest struct{ p *C.pgtls_hba_request }

// NewHbaRequest starts a Unix-socket request of user to database.
func NewHbaRequest(database, user string) (*HbaRequest, error) {
	d, dn := in(database)
	defer free(d)
	u, un := in(user)
	defer free(u)
	var r *C.pgtls_hba_request
	var e *C.pgtls_error
	if err := check(C.pgtls_hba_request_new(d, dn, u, un, &r, &e), e); err != nil {
		return nil, err
	}
	return &HbaRequest{r}, nil
}

// Free releases the request.
func (r *HbaRequest) Free() { C.pgtls_hba_request_free(r.p); r.p = nil }

// SetAddress sets the client's IP address ("" : Unix socket).
func (r *HbaRequest) SetAddress(address string) error {
	a, n := in(address)
	defer free(a)
	var e *C.pgtls_error
	return check(C.pgtls_hba_request_set_address(r.p, a, n, &e), e)
}

// SetFlags sets the HbaRequest* flags.
func (r *HbaRequest) SetFlags(flags uint32) error {
	var e *C.pgtls_error
	return check(C.pgtls_hba_request_set_flags(r.p, C.uint32_t(flags), &e), e)
}

// AddRole adds a role the user belongs to.
func (r *HbaRequest) AddRole(role string) error {
	a, n := in(role)
	defer free(a)
	var e *C.pgtls_error
	return check(C.pgtls_hba_request_add_role(r.p, a, n, &e), e)
}

// SetUserExists says whether the role exists (default true).
func (r *HbaRequest) SetUserExists(exists bool) error {
	var e *C.pgtls_error
	return check(C.pgtls_hba_request_set_user_exists(r.p, C.bool(exists), &e), e)
}

// SetClientHostname sets the client's verified host name ("" : none).
func (r *HbaRequest) SetClientHostname(name string) error {
	a, n := in(name)
	defer free(a)
	var e *C.pgtls_error
	return check(C.pgtls_hba_request_set_client_hostname(r.p, a, n, &e), e)
}

// AddServerAddress adds one of the server's addresses ("ip" or "ip/prefix").
func (r *HbaRequest) AddServerAddress(cidr string) error {
	a, n := in(cidr)
	defer free(a)
	var e *C.pgtls_error
	return check(C.pgtls_hba_request_add_server_address(r.p, a, n, &e), e)
}

// EvaluateRequest decides the connection r describes.
func (h *Hba) EvaluateRequest(r *HbaRequest) (*Decision, error) {
	var out *C.pgtls_hba_decision
	var e *C.pgtls_error
	if err := check(C.pgtls_hba_evaluate_request(h.p, r.p, &out, &e), e); err != nil {
		return nil, err
	}
	return decisionOf(out)
}

// LintJSON runs the linter (checking map= names against ident when it is
// not nil) and returns its JSON findings.
func (h *Hba) LintJSON(ident *Ident) ([]map[string]any, error) {
	var ip *C.pgtls_ident
	if ident != nil {
		ip = ident.p
	}
	var l *C.pgtls_lint
	var e *C.pgtls_error
	if err := check(C.pgtls_hba_lint(h.p, ip, &l, &e), e); err != nil {
		return nil, err
	}
	defer C.pgtls_lint_free(l)
	var b *C.pgtls_buf
	var out []map[string]any
	return out, jsonBuf(C.pgtls_lint_to_json(l, &b, &e), b, e, &out)
}

// Ident is a parsed pg_ident.conf.
type Ident struct{ p *C.pgtls_ident }

// ParseIdent parses pg_ident.conf text.
func ParseIdent(text string, pgVersion uint32) (*Ident, error) {
	t, n := in(text)
	defer free(t)
	var i *C.pgtls_ident
	var e *C.pgtls_error
	if err := check(C.pgtls_ident_parse(t, n, C.uint32_t(pgVersion), &i, &e), e); err != nil {
		return nil, err
	}
	return &Ident{i}, nil
}

// Free releases the file.
func (i *Ident) Free() { C.pgtls_ident_free(i.p); i.p = nil }

// LoadError says why the server would refuse the file ("" when it loads).
func (i *Ident) LoadError() string { return C.GoString(C.pgtls_ident_load_error(i.p)) }

// Mappings are the rows of the pg_ident_file_mappings view.
func (i *Ident) Mappings() ([]map[string]any, error) {
	var b *C.pgtls_buf
	var e *C.pgtls_error
	var out []map[string]any
	return out, jsonBuf(C.pgtls_ident_mappings_json(i.p, &b, &e), b, e, &out)
}

// Leaf is a server certificate parsed for libpq's host-name check.
type Leaf struct{ p *C.pgtls_leaf }

// ParseLeaf parses the first certificate of PEM or DER data.
func ParseLeaf(data []byte) (*Leaf, error) {
	d, n := in(string(data))
	defer free(d)
	var l *C.pgtls_leaf
	var e *C.pgtls_error
	if err := check(C.pgtls_leaf_parse(d, n, &l, &e), e); err != nil {
		return nil, err
	}
	return &Leaf{l}, nil
}

// Free releases the leaf.
func (l *Leaf) Free() { C.pgtls_leaf_free(l.p); l.p = nil }

// CheckHost is libpq's verify-full name check: whether a name matches and,
// when none does, libpq's message. A mismatch is an answer, not an error.
func (l *Leaf) CheckHost(host string, pgVersion uint32) (bool, string, error) {
	h, n := in(host)
	defer free(h)
	var matches C.bool
	var m *C.pgtls_buf
	var e *C.pgtls_error
	if err := check(C.pgtls_leaf_check_host(l.p, h, n, C.uint32_t(pgVersion), &matches, &m, &e), e); err != nil {
		return false, "", err
	}
	if m == nil {
		return bool(matches), "", nil
	}
	return bool(matches), string(takeBuf(m)), nil
}

// ClientDecision is what the server decides about a TLS client's certificate.
type ClientDecision struct {
	Outcome   ClientOutcome // ClientAccept, ClientReject or ClientUndecided
	Accept    bool          // Outcome == ClientAccept
	Undecided string        // why pgtls cannot decide; "" when it decided
	Message   string
	Log       string
	JSON      map[string]any
}

// VerifyClient asks what the server decides for a client presenting
// chainPEM ("" : no certificate) and logging in as user, when hbaLine is
// the pg_hba.conf line the connection matches. crlFile "" : none; ident nil:
// no pg_ident.conf.
func VerifyClient(hbaLine, caFile, crlFile string, ident *Ident, user, chainPEM string, pgVersion uint32, now int64) (*ClientDecision, error) {
	l, ln := in(hbaLine)
	defer free(l)
	ca, can := in(caFile)
	defer free(ca)
	crl, crln := in(crlFile)
	defer free(crl)
	u, un := in(user)
	defer free(u)
	ch, chn := in(chainPEM)
	defer free(ch)
	var ip *C.pgtls_ident
	if ident != nil {
		ip = ident.p
	}
	var d *C.pgtls_client_decision
	var e *C.pgtls_error
	if err := check(C.pgtls_verify_client(l, ln, ca, can, crl, crln, ip, u, un, ch, chn, C.uint32_t(pgVersion), C.int64_t(now), &d, &e), e); err != nil {
		return nil, err
	}
	defer C.pgtls_client_decision_free(d)
	out := &ClientDecision{
		Outcome:   ClientOutcome(C.pgtls_client_decision_outcome(d)),
		Undecided: C.GoString(C.pgtls_client_decision_undecided(d)),
		Message:   C.GoString(C.pgtls_client_decision_message(d)),
		Log:       C.GoString(C.pgtls_client_decision_log(d)),
	}
	out.Accept = out.Outcome == ClientAccept
	var b *C.pgtls_buf
	return out, jsonBuf(C.pgtls_client_decision_to_json(d, &b, &e), b, e, &out.JSON)
}

// LoadCA loads an existing CA: certPEM is its certificate, optionally
// followed by the certificates above it (an intermediate's chain.pem);
// keyPEM its private key, decrypted with passphrase unless it is "".
func LoadCA(certPEM, keyPEM []byte, passphrase string) (*CA, error) {
	c, cn := in(string(certPEM))
	defer free(c)
	k, kn := in(string(keyPEM))
	defer free(k)
	p, pn := in(passphrase)
	defer free(p)
	var ca *C.pgtls_ca
	var e *C.pgtls_error
	if err := check(C.pgtls_ca_load(c, cn, k, kn, p, pn, &ca, &e), e); err != nil {
		return nil, err
	}
	return &CA{ca}, nil
}

// CreateIntermediate makes an intermediate CA under c for a copy of key
// (pathLen < 0: no path length).
func (c *CA) CreateIntermediate(subject string, key *Key, days uint32, pathLen int32, now int64) (*CA, error) {
	s, n := in(subject)
	defer free(s)
	var out *C.pgtls_ca
	var e *C.pgtls_error
	if err := check(C.pgtls_ca_create_intermediate(c.p, s, n, key.p, C.uint32_t(days), C.int32_t(pathLen), C.int64_t(now), &out, &e), e); err != nil {
		return nil, err
	}
	return &CA{out}, nil
}

// ChainPEM is the CA's certificate followed by the certificates above it.
func (c *CA) ChainPEM() (string, error) {
	var b *C.pgtls_buf
	var e *C.pgtls_error
	if err := check(C.pgtls_ca_chain_to_pem(c.p, &b, &e), e); err != nil {
		return "", err
	}
	return string(takeBuf(b)), nil
}

// UsermapDecision is the whole answer of Ident.Usermap.
type UsermapDecision struct {
	Outcome   UsermapOutcome // UsermapAllowed, UsermapDenied, UsermapError or UsermapUndecided
	Line      uint32         // the deciding line; 0 when none
	Log       string         // what the server logs when it refuses
	Undecided string         // why pgtls cannot decide; "" when it decided
}

// Usermap says whether systemUser may log in as pgUser through mapName,
// telling "pgtls cannot decide" apart from a refusal; roles are pgUser's
// roles for +role entries (each name as it is), caseInsensitive is the
// SSPI / krb_caseins_users comparison.
func (i *Ident) Usermap(mapName, systemUser, pgUser string, roles []string, caseInsensitive bool) (*UsermapDecision, error) {
	m, mn := in(mapName)
	defer free(m)
	s, sn := in(systemUser)
	defer free(s)
	p, pn := in(pgUser)
	defer free(p)
	// Go slices of C pointers: no Go pointer reaches C.
	ptrs := make([]*C.uint8_t, len(roles))
	lens := make([]C.size_t, len(roles))
	for j, role := range roles {
		ptrs[j], lens[j] = in(role)
		defer free(ptrs[j])
	}
	var rp **C.uint8_t
	var rl *C.size_t
	if len(roles) > 0 {
		rp, rl = &ptrs[0], &lens[0]
	}
	var d *C.pgtls_usermap_decision
	var e *C.pgtls_error
	if err := check(C.pgtls_ident_usermap(i.p, m, mn, s, sn, p, pn, rp, rl, C.size_t(len(roles)), C.bool(caseInsensitive), &d, &e), e); err != nil {
		return nil, err
	}
	defer C.pgtls_usermap_decision_free(d)
	return &UsermapDecision{
		Outcome:   UsermapOutcome(C.pgtls_usermap_decision_outcome(d)),
		Line:      uint32(C.pgtls_usermap_decision_line(d)),
		Log:       C.GoString(C.pgtls_usermap_decision_log(d)),
		Undecided: C.GoString(C.pgtls_usermap_decision_undecided(d)),
	}, nil
}
