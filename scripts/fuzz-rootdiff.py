#!/usr/bin/env python3
"""scripts/fuzz-rootdiff.py CORPUS_DIR PGTLS_BINARY: the chain_verify corpus against OpenSSL.

Replays every input of the `chain_verify` fuzz target whose root file is fuzzer bytes
(flag 8, without the flags that use the per-process fixture CA: 1, 2, 16) through
`pgtls verify server --sslmode verify-ca` and through `openssl verify` (-CAfile with
the same root file, the rest of the chain as -untrusted, -purpose sslserver,
-auth_level 2, the same time), and compares accept/reject. Inputs whose chain pgtls
cannot parse are skipped (counted). Exits 1 on any disagreement, listing them.

    python3 scripts/fuzz-rootdiff.py fuzz/corpus/chain_verify target/release/pgtls
"""
import os, sys, subprocess, base64, json, re, datetime, tempfile
CORPUS = sys.argv[1]
PGTLS = sys.argv[2]
NOW = 1_780_000_000
out = {"same": 0, "diff": [], "skipped": 0}

class Reader:
    def __init__(s, d): s.d = d
    def u8(s):
        if not s.d: return 0
        b = s.d[0]; s.d = s.d[1:]; return b
    def long_bytes(s):
        n = (s.u8() << 8) | s.u8()
        n = min(n, len(s.d)); h = s.d[:n]; s.d = s.d[n:]; return h

def split_chain(data):
    if b"-----BEGIN " in data:
        return ("pem", data)
    out = []; rest = data
    while len(rest) >= 2 and len(out) < 4:
        n = min((rest[0] << 8) | rest[1], len(rest) - 2)
        out.append(rest[2:2+n]); rest = rest[2+n:]
    return ("der", out)

def to_pem(der):
    b = base64.encodebytes(der).decode().replace("\n", "")
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(b[i:i+64] for i in range(0, len(b), 64)) + "\n-----END CERTIFICATE-----\n"

def certs_from_pem(text):
    # the certificates openssl would read as a chain file (CERTIFICATE blocks only)
    return re.findall(rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?", text, re.S)

for name in sorted(os.listdir(CORPUS)):
    d = open(os.path.join(CORPUS, name), "rb").read()
    if not d or not (d[0] & 8) or d[0] & (1 | 2 | 16):
        continue
    r = Reader(d); flags = r.u8(); r.u8(); r.u8(); r.u8(); r.u8()
    root = r.long_bytes()
    kind, chain = split_chain(r.d)
    with tempfile.TemporaryDirectory() as t:
        open(f"{t}/root.crt", "wb").write(root)
        if kind == "pem":
            open(f"{t}/chain.pem", "wb").write(chain)
        else:
            if not chain:
                out["skipped"] += 1; continue
            open(f"{t}/chain.pem", "w").write("".join(to_pem(c) for c in chain))
        at = NOW
        p = subprocess.run([PGTLS, "verify", "server", "--sslmode", "verify-ca", "--sslrootcert", f"{t}/root.crt",
                            "--chain", f"{t}/chain.pem", "--at", str(at), "--json"], capture_output=True)
        if flags & 32:
            # the leaf's notBefore + 60 (pgtls_core parse; use openssl)
            blocks = certs_from_pem(open(f"{t}/chain.pem", "rb").read())
            open(f"{t}/leaf0.pem", "wb").write(blocks[0] if blocks else b"")
            q = subprocess.run([PGTLS, "inspect", f"{t}/leaf0.pem", "--json"], capture_output=True, text=True)
            try:
                j = json.loads(q.stdout)
                if isinstance(j, list): j = j[0]
                at = int(datetime.datetime.fromisoformat(j["not_before"].replace("Z", "+00:00")).timestamp()) + 60
            except Exception:
                at = NOW  # as the target: the leaf does not parse
            p = subprocess.run([PGTLS, "verify", "server", "--sslmode", "verify-ca", "--sslrootcert", f"{t}/root.crt",
                                "--chain", f"{t}/chain.pem", "--at", str(at), "--json"], capture_output=True)
        try:
            v = json.loads(p.stdout)
        except Exception:
            out["skipped"] += 1
            continue
        pg = v.get("verdict") == "accept"
        blocks = certs_from_pem(open(f"{t}/chain.pem", "rb").read())
        if not blocks:
            out["skipped"] += 1; continue
        open(f"{t}/leaf.pem", "wb").write(blocks[0])
        open(f"{t}/untrusted.pem", "wb").write(b"".join(blocks[1:]) or b"")
        args = ["openssl", "verify", "-attime", str(at), "-purpose", "sslserver", "-auth_level", "2", "-CAfile", f"{t}/root.crt"]
        if len(blocks) > 1:
            args += ["-untrusted", f"{t}/untrusted.pem"]
        args.append(f"{t}/leaf.pem")
        o = subprocess.run(args, capture_output=True, text=True, env={"OPENSSL_CONF": "/dev/null", "PATH": os.environ["PATH"]})
        ossl = o.returncode == 0
        if pg == ossl:
            out["same"] += 1
            out.setdefault("acc", 0)
            out["acc"] += pg
        else:
            out["diff"].append((name, "pgtls", pg, "openssl", ossl, (v.get("message"), [c.get("detail") for c in v.get("checks", []) if c.get("passed") is False]), (o.stdout + o.stderr)[-300:]))
print("same", out["same"], "of which accepted", out.get("acc"), "skipped", out["skipped"], "diff", len(out["diff"]))
for x in out["diff"][:30]:
    print(x)

sys.exit(1 if out["diff"] else 0)
