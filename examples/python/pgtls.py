"""ctypes bindings for libpgtls (the C ABI of pgtls).

The library is found through the PGTLS_LIB environment variable (a path to
libpgtls.so), else through the system loader. Every call returns Python
objects; failures raise PgtlsError with the status code and pgtls's message.
Handles are freed when the Python wrapper is garbage-collected.
"""

import ctypes
import enum
import ctypes.util
import json
import os

_path = os.environ.get("PGTLS_LIB") or ctypes.util.find_library("pgtls")
if not _path:
    raise ImportError("libpgtls not found: set PGTLS_LIB to the path of libpgtls.so")
_lib = ctypes.CDLL(_path)

# The header this module was written against.
ABI_VERSION = 2
if _lib.pgtls_abi_version() != ABI_VERSION:
    raise ImportError(
        "libpgtls ABI %d, these bindings expect %d" % (_lib.pgtls_abi_version(), ABI_VERSION)
    )

STATUS_OK = 0
STATUS_NULL_ARGUMENT = 100
STATUS_INVALID_UTF8 = 101
STATUS_INVALID_ARGUMENT = 102
STATUS_PARSE_PEM = 200
STATUS_PARSE_CERTIFICATE = 201
STATUS_PARSE_CSR = 202
STATUS_PARSE_KEY = 203
STATUS_PARSE_VALUE = 207
STATUS_ISSUE = 400
STATUS_IO = 401
STATUS_NOT_FOUND = 403
STATUS_ALREADY_EXISTS = 404
STATUS_PANIC = 901



class ChainOutcome(enum.IntEnum):
    """pgtls_chain_outcome: libpq's answer on a server's chain."""
    INVALID = 0
    ACCEPT = 1
    REJECT = 2


class ClientOutcome(enum.IntEnum):
    """pgtls_client_outcome: the server's decision on a client certificate."""
    INVALID = 0
    ACCEPT = 1
    REJECT = 2
    UNDECIDED = 3


class HbaOutcome(enum.IntEnum):
    """pgtls_hba_outcome: the pg_hba stage's decision."""
    INVALID = 0
    MATCH = 1
    REJECT = 2
    NO_MATCH = 3
    NOT_LOADED = 4
    UNDECIDED = 5


class UsermapOutcome(enum.IntEnum):
    """pgtls_usermap_outcome: a pg_ident.conf user-map decision."""
    INVALID = 0
    ALLOWED = 1
    DENIED = 2
    ERROR = 3
    UNDECIDED = 4


class Severity(enum.IntEnum):
    """pgtls_severity: how serious a lint finding is (ordered)."""
    INVALID = 0
    INFO = 1
    WARNING = 2
    ERROR = 3


HBA_REQUEST_TLS = 1
HBA_REQUEST_GSS = 2
HBA_REQUEST_REPLICATION_PHYSICAL = 4
HBA_REQUEST_REPLICATION_LOGICAL = 8

_p = ctypes.c_void_p
_u8p = ctypes.c_char_p  # bytes are passed as (char *, size_t)
_sz = ctypes.c_size_t
_u32 = ctypes.c_uint32
_i32 = ctypes.c_int32
_i64 = ctypes.c_int64
_b = ctypes.c_bool
_cs = ctypes.c_char_p
_pp = ctypes.POINTER(ctypes.c_void_p)


def _sig(name, restype, *argtypes):
    f = getattr(_lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


_sig("pgtls_version", _cs)
_sig("pgtls_abi_version", _u32)
_sig("pgtls_status_str", _cs, _u32)
_sig("pgtls_error_status", _u32, _p)
_sig("pgtls_error_message", _cs, _p)
_sig("pgtls_error_free", None, _p)
_sig("pgtls_buf_data", ctypes.POINTER(ctypes.c_uint8), _p)
_sig("pgtls_buf_len", _sz, _p)
_sig("pgtls_buf_free", None, _p)
_sig("pgtls_key_generate", _u32, _u8p, _sz, _pp, _pp)
_sig("pgtls_key_parse", _u32, _u8p, _sz, _u8p, _sz, _pp, _pp)
_sig("pgtls_key_to_pem", _u32, _p, _u8p, _sz, _pp, _pp)
_sig("pgtls_key_free", None, _p)
_sig("pgtls_cert_parse", _u32, _u8p, _sz, _pp, _pp)
for _n in ("subject", "issuer", "serial"):
    _sig("pgtls_cert_" + _n, _cs, _p)
_sig("pgtls_cert_not_before", _i64, _p)
_sig("pgtls_cert_not_after", _i64, _p)
_sig("pgtls_cert_is_ca", _b, _p)
_sig("pgtls_cert_san_count", _sz, _p)
_sig("pgtls_cert_san", _cs, _p, _sz)
_sig("pgtls_cert_to_pem", _u32, _p, _pp, _pp)
_sig("pgtls_cert_to_json", _u32, _p, _pp, _pp)
_sig("pgtls_cert_free", None, _p)
_sig("pgtls_inspect_json", _u32, _u8p, _sz, _u8p, _sz, _pp, _pp)
_sig("pgtls_ca_create_root", _u32, _u8p, _sz, _p, _u32, _i32, _i64, _pp, _pp)
_sig("pgtls_ca_load", _u32, _u8p, _sz, _u8p, _sz, _u8p, _sz, _pp, _pp)
_sig("pgtls_ca_create_intermediate", _u32, _p, _u8p, _sz, _p, _u32, _i32, _i64, _pp, _pp)
_sig("pgtls_ca_chain_to_pem", _u32, _p, _pp, _pp)
_sig("pgtls_ca_certificate", _u32, _p, _pp, _pp)
_sig("pgtls_ca_free", None, _p)
_sig("pgtls_store_create", _u32, _u8p, _sz, _p, _u8p, _sz, _pp, _pp)
_sig("pgtls_store_open", _u32, _u8p, _sz, _u8p, _sz, _pp, _pp)
_sig("pgtls_store_ca_certificate", _u32, _p, _pp, _pp)
_sig("pgtls_store_issue_server", _u32, _p, _u8p, _sz, _p, _u32, _i64, _pp, _pp)
_sig("pgtls_store_issue_client", _u32, _p, _u8p, _sz, _p, _u32, _i64, _pp, _pp)
_sig("pgtls_store_sign_csr", _u32, _p, _u8p, _sz, _u8p, _sz, _u8p, _sz, _u32, _i64, _pp, _pp)
_sig("pgtls_store_revoke", _u32, _p, _u8p, _sz, _u8p, _sz, _i64, _pp)
_sig("pgtls_store_generate_crl", _u32, _p, _i64, _i64, _pp, _pp)
_sig("pgtls_store_entries_json", _u32, _p, _pp, _pp)
_sig("pgtls_store_free", None, _p)
_sig("pgtls_csr_create", _u32, _u8p, _sz, _u8p, _sz, _p, _pp, _pp)
_sig("pgtls_hba_parse", _u32, _u8p, _sz, _u32, _b, _pp, _pp)
_sig("pgtls_hba_read_file", _u32, _u8p, _sz, _u32, _b, _pp, _pp)
_sig("pgtls_hba_load_error", _cs, _p)
_sig("pgtls_hba_line_count", _sz, _p)
_sig("pgtls_hba_line_number", _u32, _p, _sz)
for _n in ("text", "error", "type", "method"):
    _sig("pgtls_hba_line_" + _n, _cs, _p, _sz)
_sig("pgtls_hba_rules_json", _u32, _p, _pp, _pp)
_sig("pgtls_hba_free", None, _p)
_sig("pgtls_hba_request_new", _u32, _u8p, _sz, _u8p, _sz, _pp, _pp)
_sig("pgtls_hba_request_set_address", _u32, _p, _u8p, _sz, _pp)
_sig("pgtls_hba_request_set_flags", _u32, _p, _u32, _pp)
_sig("pgtls_hba_request_add_role", _u32, _p, _u8p, _sz, _pp)
_sig("pgtls_hba_request_set_user_exists", _u32, _p, _b, _pp)
_sig("pgtls_hba_request_set_client_hostname", _u32, _p, _u8p, _sz, _pp)
_sig("pgtls_hba_request_add_server_address", _u32, _p, _u8p, _sz, _pp)
_sig("pgtls_hba_request_free", None, _p)
_sig("pgtls_hba_evaluate_request", _u32, _p, _p, _pp, _pp)
_sig("pgtls_hba_decision_outcome", _u32, _p)
_sig("pgtls_hba_decision_line", _u32, _p)
_sig("pgtls_hba_decision_method", _cs, _p)
_sig("pgtls_hba_decision_message", _cs, _p)
_sig("pgtls_hba_decision_to_json", _u32, _p, _pp, _pp)
_sig("pgtls_hba_decision_free", None, _p)
_sig("pgtls_hba_lint", _u32, _p, _p, _pp, _pp)
_sig("pgtls_lint_count", _sz, _p)
_sig("pgtls_lint_line", _u32, _p, _sz)
_sig("pgtls_lint_severity", _u32, _p, _sz)
for _n in ("code", "message"):
    _sig("pgtls_lint_" + _n, _cs, _p, _sz)
_sig("pgtls_lint_to_json", _u32, _p, _pp, _pp)
_sig("pgtls_lint_free", None, _p)
_sig("pgtls_ident_parse", _u32, _u8p, _sz, _u32, _pp, _pp)
_sig("pgtls_ident_load_error", _cs, _p)
_sig("pgtls_ident_mappings_json", _u32, _p, _pp, _pp)
_sig("pgtls_ident_usermap", _u32, _p, _u8p, _sz, _u8p, _sz, _u8p, _sz,
     ctypes.POINTER(_u8p), ctypes.POINTER(_sz), _sz, _b, _pp, _pp)
_sig("pgtls_usermap_decision_outcome", _u32, _p)
_sig("pgtls_usermap_decision_line", _u32, _p)
_sig("pgtls_usermap_decision_log", _cs, _p)
_sig("pgtls_usermap_decision_undecided", _cs, _p)
_sig("pgtls_usermap_decision_free", None, _p)
_sig("pgtls_ident_free", None, _p)
_sig("pgtls_verify_server", _u32, _u8p, _sz, _u8p, _sz, _u32, _i64, _pp, _pp)
_sig("pgtls_verdict_outcome", _u32, _p)
_sig("pgtls_verdict_tls", _b, _p)
_sig("pgtls_verdict_plaintext_fallback", _b, _p)
_sig("pgtls_verdict_message", _cs, _p)
_sig("pgtls_verdict_reason", _cs, _p)
_sig("pgtls_verdict_reason_code", _u32, _p)
_sig("pgtls_verdict_to_json", _u32, _p, _pp, _pp)
_sig("pgtls_verdict_free", None, _p)
_sig("pgtls_leaf_parse", _u32, _u8p, _sz, _pp, _pp)
_sig("pgtls_leaf_check_host", _u32, _p, _u8p, _sz, _u32, ctypes.POINTER(_b), _pp, _pp)
_sig("pgtls_leaf_free", None, _p)
_sig("pgtls_verify_client", _u32, _u8p, _sz, _u8p, _sz, _u8p, _sz, _p, _u8p, _sz, _u8p, _sz,
     _u32, _i64, _pp, _pp)
_sig("pgtls_client_decision_outcome", _u32, _p)
_sig("pgtls_client_decision_undecided", _cs, _p)
_sig("pgtls_client_decision_message", _cs, _p)
_sig("pgtls_client_decision_log", _cs, _p)
_sig("pgtls_client_decision_to_json", _u32, _p, _pp, _pp)
_sig("pgtls_client_decision_free", None, _p)


class PgtlsError(Exception):
    """A failed pgtls call: `status` is the pgtls_status code."""

    def __init__(self, status, message):
        super().__init__("%s (status %d)" % (message, status))
        self.status = status
        self.message = message


def _arg(value):
    """(pointer, length) for bytes/str/None; None is (NULL, 0)."""
    if value is None:
        return None, 0
    if isinstance(value, str):
        value = value.encode("utf-8")
    return value, len(value)


def _call(func, *args):
    """Calls a fallible export with a trailing err_out and raises on failure."""
    err = ctypes.c_void_p()
    status = func(*args, ctypes.byref(err))
    if status != STATUS_OK:
        if err.value:
            message = _lib.pgtls_error_message(err).decode("utf-8", "replace")
            if _lib.pgtls_error_status(err) != status:
                message += " (error object disagrees with the status)"
            _lib.pgtls_error_free(err)
        else:
            message = _lib.pgtls_status_str(status).decode()
        raise PgtlsError(status, message)
    if err.value:
        raise AssertionError("err_out written on success")


def _buf(func, *args):
    out = ctypes.c_void_p()
    _call(func, *args, ctypes.byref(out))
    try:
        n = _lib.pgtls_buf_len(out)
        return ctypes.string_at(_lib.pgtls_buf_data(out), n)
    finally:
        _lib.pgtls_buf_free(out)


def _s(value):
    return None if value is None else value.decode("utf-8", "replace")


def version():
    """The library's version string."""
    return _lib.pgtls_version().decode()


def abi_version():
    return _lib.pgtls_abi_version()


class _Handle:
    _free = None

    def __init__(self, ptr, owner=None):
        self._ptr = ptr
        self._owner = owner  # keeps a borrowed handle's parent alive

    def __del__(self):
        if self._owner is None and self._ptr and self._free:
            type(self)._free(self._ptr)
            self._ptr = None

    @property
    def ptr(self):
        return self._ptr


def _new(cls, func, *args):
    out = ctypes.c_void_p()
    _call(func, *args, ctypes.byref(out))
    return cls(out.value)


class Key(_Handle):
    _free = _lib.pgtls_key_free

    @classmethod
    def generate(cls, algorithm="p256"):
        return _new(cls, _lib.pgtls_key_generate, *_arg(algorithm))

    @classmethod
    def parse(cls, data, passphrase=None):
        return _new(cls, _lib.pgtls_key_parse, *_arg(data), *_arg(passphrase))

    def to_pem(self, passphrase=None):
        return _buf(_lib.pgtls_key_to_pem, self.ptr, *_arg(passphrase)).decode()


class Cert(_Handle):
    _free = _lib.pgtls_cert_free

    @classmethod
    def parse(cls, data):
        return _new(cls, _lib.pgtls_cert_parse, *_arg(data))

    subject = property(lambda self: _s(_lib.pgtls_cert_subject(self.ptr)))
    issuer = property(lambda self: _s(_lib.pgtls_cert_issuer(self.ptr)))
    serial = property(lambda self: _s(_lib.pgtls_cert_serial(self.ptr)))
    not_before = property(lambda self: _lib.pgtls_cert_not_before(self.ptr))
    not_after = property(lambda self: _lib.pgtls_cert_not_after(self.ptr))
    is_ca = property(lambda self: _lib.pgtls_cert_is_ca(self.ptr))

    @property
    def subject_alt_names(self):
        n = _lib.pgtls_cert_san_count(self.ptr)
        return [_s(_lib.pgtls_cert_san(self.ptr, i)) for i in range(n)]

    def to_pem(self):
        return _buf(_lib.pgtls_cert_to_pem, self.ptr).decode()

    def to_json(self):
        return json.loads(_buf(_lib.pgtls_cert_to_json, self.ptr))


def inspect(data, passphrase=None):
    """Every certificate, CSR, CRL and key found in data, as dicts."""
    return json.loads(_buf(_lib.pgtls_inspect_json, *_arg(data), *_arg(passphrase)))


def create_csr(subject, names, key):
    return _buf(_lib.pgtls_csr_create, *_arg(subject), *_arg(names), key.ptr).decode()


class CA(_Handle):
    _free = _lib.pgtls_ca_free

    @classmethod
    def create_root(cls, subject, key, days, now, path_len=-1):
        return _new(cls, _lib.pgtls_ca_create_root, *_arg(subject), key.ptr, days, path_len, now)

    @classmethod
    def load(cls, cert_pem, key_pem, passphrase=None):
        """An existing CA: its certificate (optionally followed by the ones
        above it) and its key, decrypted with passphrase unless None."""
        return _new(cls, _lib.pgtls_ca_load, *_arg(cert_pem), *_arg(key_pem), *_arg(passphrase))

    def create_intermediate(self, subject, key, days, now, path_len=-1):
        return _new(CA, _lib.pgtls_ca_create_intermediate, self.ptr, *_arg(subject), key.ptr, days,
                    path_len, now)

    def chain_pem(self):
        return _buf(_lib.pgtls_ca_chain_to_pem, self.ptr).decode()

    @property
    def certificate(self):
        """An owned copy of the CA's certificate."""
        return _new(Cert, _lib.pgtls_ca_certificate, self.ptr)


class Store(_Handle):
    _free = _lib.pgtls_store_free

    @classmethod
    def create(cls, directory, ca, passphrase=None):
        return _new(cls, _lib.pgtls_store_create, *_arg(directory), ca.ptr, *_arg(passphrase))

    @classmethod
    def open(cls, directory, passphrase=None):
        return _new(cls, _lib.pgtls_store_open, *_arg(directory), *_arg(passphrase))

    @property
    def ca_certificate(self):
        """An owned copy of the store's CA certificate."""
        return _new(Cert, _lib.pgtls_store_ca_certificate, self.ptr)

    def issue_server(self, names, key, days, now):
        return _new(Cert, _lib.pgtls_store_issue_server, self.ptr, *_arg(names), key.ptr, days, now)

    def issue_client(self, role, key, days, now):
        return _new(Cert, _lib.pgtls_store_issue_client, self.ptr, *_arg(role), key.ptr, days, now)

    def sign_csr(self, csr, usage, names, days, now):
        return _new(Cert, _lib.pgtls_store_sign_csr, self.ptr, *_arg(csr), *_arg(usage),
                    *_arg(names), days, now)

    def revoke(self, serial, reason, now):
        _call(_lib.pgtls_store_revoke, self.ptr, *_arg(serial), *_arg(reason), now)

    def generate_crl(self, next_update, now):
        return _buf(_lib.pgtls_store_generate_crl, self.ptr, next_update, now).decode()

    def entries(self):
        return json.loads(_buf(_lib.pgtls_store_entries_json, self.ptr))


class Hba(_Handle):
    _free = _lib.pgtls_hba_free

    @classmethod
    def parse(cls, text, pg_version=15, ssl=True):
        return _new(cls, _lib.pgtls_hba_parse, *_arg(text), pg_version, ssl)

    @classmethod
    def read_file(cls, path, pg_version=15, ssl=True):
        return _new(cls, _lib.pgtls_hba_read_file, *_arg(path), pg_version, ssl)

    load_error = property(lambda self: _s(_lib.pgtls_hba_load_error(self.ptr)))

    @property
    def lines(self):
        out = []
        for i in range(_lib.pgtls_hba_line_count(self.ptr)):
            out.append({
                "line": _lib.pgtls_hba_line_number(self.ptr, i),
                "text": _s(_lib.pgtls_hba_line_text(self.ptr, i)),
                "error": _s(_lib.pgtls_hba_line_error(self.ptr, i)),
                "type": _s(_lib.pgtls_hba_line_type(self.ptr, i)),
                "method": _s(_lib.pgtls_hba_line_method(self.ptr, i)),
            })
        return out

    def rules(self):
        return json.loads(_buf(_lib.pgtls_hba_rules_json, self.ptr))

    def evaluate(self, address, database, user, roles=(), flags=0):
        """evaluate_request for an HbaRequest of these fields (address None: a
        Unix socket; roles: the role names user belongs to)."""
        return self.evaluate_request(HbaRequest(database, user, address=address, flags=flags,
                                                roles=roles))

    def evaluate_request(self, request):
        """The pg_hba decision for everything an HbaRequest carries."""
        return _new(Decision, _lib.pgtls_hba_evaluate_request, self.ptr, request.ptr)

    def lint(self, ident=None):
        return _new(Lint, _lib.pgtls_hba_lint, self.ptr, ident.ptr if ident else None)


class HbaRequest(_Handle):
    """A connection for Hba.evaluate_request: address (None: Unix socket),
    flags, roles, whether the role exists, the client's host name and the
    server's addresses (for samehost/samenet)."""
    _free = _lib.pgtls_hba_request_free

    def __init__(self, database, user, address=None, flags=0, roles=(), user_exists=True,
                 client_hostname=None, server_addresses=()):
        out = ctypes.c_void_p()
        _call(_lib.pgtls_hba_request_new, *_arg(database), *_arg(user), ctypes.byref(out))
        super().__init__(out.value)
        self.set_address(address)
        self.set_flags(flags)
        for r in roles:
            self.add_role(r)
        self.set_user_exists(user_exists)
        self.set_client_hostname(client_hostname)
        for a in server_addresses:
            self.add_server_address(a)

    def set_address(self, address):
        _call(_lib.pgtls_hba_request_set_address, self.ptr, *_arg(address))

    def set_flags(self, flags):
        _call(_lib.pgtls_hba_request_set_flags, self.ptr, flags)

    def add_role(self, role):
        _call(_lib.pgtls_hba_request_add_role, self.ptr, *_arg(role))

    def set_user_exists(self, exists):
        _call(_lib.pgtls_hba_request_set_user_exists, self.ptr, exists)

    def set_client_hostname(self, name):
        _call(_lib.pgtls_hba_request_set_client_hostname, self.ptr, *_arg(name))

    def add_server_address(self, cidr):
        _call(_lib.pgtls_hba_request_add_server_address, self.ptr, *_arg(cidr))


class Decision(_Handle):
    _free = _lib.pgtls_hba_decision_free
    outcome = property(lambda self: HbaOutcome(_lib.pgtls_hba_decision_outcome(self.ptr)))
    line = property(lambda self: _lib.pgtls_hba_decision_line(self.ptr))
    method = property(lambda self: _s(_lib.pgtls_hba_decision_method(self.ptr)))
    message = property(lambda self: _s(_lib.pgtls_hba_decision_message(self.ptr)))

    def to_json(self):
        return json.loads(_buf(_lib.pgtls_hba_decision_to_json, self.ptr))


class Lint(_Handle):
    _free = _lib.pgtls_lint_free

    @property
    def findings(self):
        p = self.ptr
        return [{
            "line": _lib.pgtls_lint_line(p, i),
            "severity": Severity(_lib.pgtls_lint_severity(p, i)),
            "code": _s(_lib.pgtls_lint_code(p, i)),
            "message": _s(_lib.pgtls_lint_message(p, i)),
        } for i in range(_lib.pgtls_lint_count(p))]

    def to_json(self):
        return json.loads(_buf(_lib.pgtls_lint_to_json, self.ptr))


class Ident(_Handle):
    _free = _lib.pgtls_ident_free

    @classmethod
    def parse(cls, text, pg_version=15):
        return _new(cls, _lib.pgtls_ident_parse, *_arg(text), pg_version)

    load_error = property(lambda self: _s(_lib.pgtls_ident_load_error(self.ptr)))

    def mappings(self):
        return json.loads(_buf(_lib.pgtls_ident_mappings_json, self.ptr))

    def usermap(self, map_name, system_user, pg_user, roles=(), case_insensitive=False):
        """Whether system_user may log in as pg_user through map_name:
        {"outcome": UsermapOutcome, "line", "log", "undecided"}. roles: the
        role names pg_user belongs to (for +role entries), each as it is."""
        names = [r.encode("utf-8") if isinstance(r, str) else r for r in roles]
        ptrs = (_u8p * len(names))(*names)
        lens = (_sz * len(names))(*[len(n) for n in names])
        out = ctypes.c_void_p()
        _call(_lib.pgtls_ident_usermap, self.ptr, *_arg(map_name), *_arg(system_user),
              *_arg(pg_user), ptrs, lens, len(names), case_insensitive, ctypes.byref(out))
        try:
            return {
                "outcome": UsermapOutcome(_lib.pgtls_usermap_decision_outcome(out)),
                "line": _lib.pgtls_usermap_decision_line(out),
                "log": _s(_lib.pgtls_usermap_decision_log(out)),
                "undecided": _s(_lib.pgtls_usermap_decision_undecided(out)),
            }
        finally:
            _lib.pgtls_usermap_decision_free(out)


class Verdict(_Handle):
    _free = _lib.pgtls_verdict_free
    outcome = property(lambda self: ChainOutcome(_lib.pgtls_verdict_outcome(self.ptr)))
    accept = property(lambda self: self.outcome == ChainOutcome.ACCEPT)
    tls = property(lambda self: _lib.pgtls_verdict_tls(self.ptr))
    plaintext_fallback = property(lambda self: _lib.pgtls_verdict_plaintext_fallback(self.ptr))
    message = property(lambda self: _s(_lib.pgtls_verdict_message(self.ptr)))
    reason = property(lambda self: _s(_lib.pgtls_verdict_reason(self.ptr)))
    reason_code = property(lambda self: _lib.pgtls_verdict_reason_code(self.ptr))

    def to_json(self):
        return json.loads(_buf(_lib.pgtls_verdict_to_json, self.ptr))


def verify_server(conninfo, chain_pem, now, pg_version=15):
    """What libpq would decide for a server presenting chain_pem."""
    return _new(Verdict, _lib.pgtls_verify_server, *_arg(conninfo), *_arg(chain_pem),
                pg_version, now)


class Leaf(_Handle):
    """A server certificate parsed for libpq's host-name check."""
    _free = _lib.pgtls_leaf_free

    @classmethod
    def parse(cls, data):
        return _new(cls, _lib.pgtls_leaf_parse, *_arg(data))

    def check_host(self, host, pg_version=15):
        """None when a name matches, else libpq's message (a verdict, not an error)."""
        matches = ctypes.c_bool(False)
        message = ctypes.c_void_p()
        _call(_lib.pgtls_leaf_check_host, self.ptr, *_arg(host), pg_version,
              ctypes.byref(matches), ctypes.byref(message))
        if matches.value:
            return None
        try:
            n = _lib.pgtls_buf_len(message)
            return ctypes.string_at(_lib.pgtls_buf_data(message), n).decode("utf-8", "replace")
        finally:
            _lib.pgtls_buf_free(message)


class ClientDecision(_Handle):
    _free = _lib.pgtls_client_decision_free
    # ACCEPT, REJECT or UNDECIDED (pgtls cannot tell what the server does).
    outcome = property(lambda self: ClientOutcome(_lib.pgtls_client_decision_outcome(self.ptr)))
    accept = property(lambda self: self.outcome == ClientOutcome.ACCEPT)
    undecided = property(lambda self: _s(_lib.pgtls_client_decision_undecided(self.ptr)))
    message = property(lambda self: _s(_lib.pgtls_client_decision_message(self.ptr)))
    log = property(lambda self: _s(_lib.pgtls_client_decision_log(self.ptr)))

    def to_json(self):
        return json.loads(_buf(_lib.pgtls_client_decision_to_json, self.ptr))


def verify_client(hba_line, ssl_ca_file, user, client_chain_pem, now, ssl_crl_file=None,
                  ident=None, pg_version=15):
    """What the server decides for a TLS client presenting client_chain_pem (None: none)."""
    return _new(ClientDecision, _lib.pgtls_verify_client, *_arg(hba_line), *_arg(ssl_ca_file),
                *_arg(ssl_crl_file), ident.ptr if ident else None, *_arg(user),
                *_arg(client_chain_pem), pg_version, now)
