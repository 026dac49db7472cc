//! The client key as libpq loads it (`SSL_use_PrivateKey_file`, PEM then DER),
//! with `sslpassword` for encrypted keys: PKCS#8 `ENCRYPTED PRIVATE KEY`, and
//! OpenSSL's traditional encryption (`Proc-Type: 4,ENCRYPTED` and `DEK-Info`
//! headers on an `RSA`/`EC PRIVATE KEY` block: AES-128/192/256-CBC, DES-EDE3-CBC;
//! the key derived with
//! `EVP_BytesToKey(MD5, salt = the IV's first 8 bytes, count 1)`), and the texts
//! libpq prints when they fail: OpenSSL's reasons after `could not load private
//! key file "...": `.
//!
//! libpq hands `sslpassword` to OpenSSL only when it is not empty; without it
//! OpenSSL asks on the terminal. pgtls-postgres never prompts: an encrypted key
//! without `sslpassword` fails as libpq's does without a terminal (`processing
//! error`).

use std::path::Path;

use rustls_pki_types::{PrivateKeyDer, PrivatePkcs1KeyDer, PrivateSec1KeyDer};

/// OpenSSL's reason when the key cannot be decrypted with the password.
const BAD_DECRYPT: &str = "bad decrypt";
/// OpenSSL's reason when no password could be obtained (no `sslpassword`, no terminal).
const NO_PASSWORD: &str = "processing error";

/// Why the key did not load: OpenSSL's reason (libpq prefixes it).
pub(crate) type Reason = String;

/// Reads the key in `path` as libpq would (PEM first, then DER).
pub(crate) fn load(
    path: &Path,
    password: Option<&str>,
) -> Result<PrivateKeyDer<'static>, (String, Reason)> {
    let shown = path.display().to_string();
    let data = std::fs::read(path).map_err(|e| (shown.clone(), strerror(&e)))?;
    from_bytes(&data, password).map_err(|r| (shown, r))
}

fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s.get(..i).unwrap_or(&s).to_string(),
        None => s,
    }
}

fn from_bytes(data: &[u8], password: Option<&str>) -> Result<PrivateKeyDer<'static>, Reason> {
    let password = password.filter(|p| !p.is_empty());
    if let Ok(blocks) = pgtls_x509::pem::parse(data) {
        for b in &blocks {
            match b.label.as_str() {
                "ENCRYPTED PRIVATE KEY" => return pkcs8_encrypted(&b.der, password),
                "RSA PRIVATE KEY" | "EC PRIVATE KEY" if b.has_headers => {
                    let plain = traditional(data, &b.label, password)?;
                    return Ok(if b.label == "RSA PRIVATE KEY" {
                        PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(plain))
                    } else {
                        PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(plain))
                    });
                }
                "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY" => break,
                _ => {}
            }
        }
    }
    use rustls_pki_types::pem::PemObject;
    if let Ok(k) = PrivateKeyDer::from_pem_slice(data) {
        return Ok(k);
    }
    // SSL_FILETYPE_ASN1: a DER key (PKCS#8, PKCS#1 or SEC1).
    if let Ok(k) = PrivateKeyDer::try_from(data.to_vec()) {
        return Ok(k);
    }
    Err("unsupported key format".into())
}

fn pkcs8_encrypted(der: &[u8], password: Option<&str>) -> Result<PrivateKeyDer<'static>, Reason> {
    let password = password.ok_or_else(|| NO_PASSWORD.to_string())?;
    let info = pkcs8::EncryptedPrivateKeyInfoRef::try_from(der).map_err(|e| e.to_string())?;
    let doc = info
        .decrypt(password)
        .map_err(|_| BAD_DECRYPT.to_string())?;
    Ok(PrivateKeyDer::Pkcs8(doc.as_bytes().to_vec().into()))
}

/// The `DEK-Info` header (cipher, IV) and the decoded body of the first block
/// labelled `label`.
fn encrypted_block(data: &[u8], label: &str) -> Option<(String, Vec<u8>, Vec<u8>)> {
    let text = String::from_utf8_lossy(data);
    let begin = format!("-----BEGIN {label}-----");
    let start = text.find(&begin)?;
    let rest = text.get(start + begin.len()..)?;
    let mut dek = None;
    let mut body = String::new();
    for line in rest.lines() {
        let line = line.trim();
        if line.starts_with("-----END") {
            break;
        }
        if let Some(v) = line.strip_prefix("DEK-Info:") {
            let (alg, iv) = v.trim().split_once(',')?;
            dek = Some((alg.trim().to_ascii_uppercase(), hex(iv.trim())?));
        } else if !line.contains(':') {
            body.push_str(line);
        }
    }
    let (alg, iv) = dek?;
    Some((alg, iv, base64(&body)?))
}

/// Standard base64 with padding (PEM bodies).
fn base64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

fn hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
        .collect()
}

/// `EVP_BytesToKey` with MD5 and one iteration.
fn bytes_to_key(password: &[u8], salt: &[u8], len: usize) -> Vec<u8> {
    use md5::Digest;
    let mut out = Vec::with_capacity(len + 16);
    let mut prev: Vec<u8> = Vec::new();
    while out.len() < len {
        let mut h = md5::Md5::new();
        h.update(&prev);
        h.update(password);
        h.update(salt);
        prev = h.finalize().to_vec();
        out.extend_from_slice(&prev);
    }
    out.truncate(len);
    out
}

fn cbc_decrypt<C>(key: &[u8], iv: &[u8], data: &[u8]) -> Result<Vec<u8>, Reason>
where
    C: cbc::cipher::BlockCipherDecrypt + cbc::cipher::KeyInit,
{
    use cbc::cipher::{BlockModeDecrypt, KeyIvInit, block_padding::Pkcs7};
    let dec = cbc::Decryptor::<C>::new_from_slices(key, iv)
        .map_err(|_| "unsupported encryption".to_string())?;
    let mut buf = data.to_vec();
    let n = dec
        .decrypt_padded::<Pkcs7>(&mut buf)
        .map_err(|_| BAD_DECRYPT.to_string())?
        .len();
    buf.truncate(n);
    Ok(buf)
}

/// OpenSSL's traditional PEM encryption (`PEM_do_header`).
fn traditional(data: &[u8], label: &str, password: Option<&str>) -> Result<Vec<u8>, Reason> {
    let (alg, iv, body) =
        encrypted_block(data, label).ok_or_else(|| "bad base64 decode".to_string())?;
    let body = body.as_slice();
    let password = password.ok_or_else(|| NO_PASSWORD.to_string())?;
    let salt = iv.get(..8).ok_or_else(|| "bad iv chars".to_string())?;
    let pw = password.as_bytes();
    let plain = match alg.as_str() {
        "AES-128-CBC" => cbc_decrypt::<aes::Aes128>(&bytes_to_key(pw, salt, 16), &iv, body)?,
        "AES-192-CBC" => cbc_decrypt::<aes::Aes192>(&bytes_to_key(pw, salt, 24), &iv, body)?,
        "AES-256-CBC" => cbc_decrypt::<aes::Aes256>(&bytes_to_key(pw, salt, 32), &iv, body)?,
        "DES-EDE3-CBC" => cbc_decrypt::<des::TdesEde3>(&bytes_to_key(pw, salt, 24), &iv, body)?,
        // DES-CBC and the rest need OpenSSL 3's legacy provider, which libpq does not load.
        _ => return Err("unsupported encryption".into()),
    };
    // A wrong password can leave valid padding by chance: the DER then does not parse.
    match pgtls_x509::der::read_all(&plain) {
        Ok(_) => Ok(plain),
        Err(_) => Err(BAD_DECRYPT.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_to_key_is_openssls() {
        // `openssl enc -aes-256-cbc -P -md md5 -pass pass:s3cret -S 0001020304050607`
        // prints key=F10B75AE...2915A1 (and the IV, the next 16 bytes of the same stream).
        let k = bytes_to_key(b"s3cret", &[0, 1, 2, 3, 4, 5, 6, 7], 48);
        assert_eq!(
            hex("F10B75AEFFC7A69B25321DF8DFB00E34772AA58164C70151C869459BFD2915A1D775061F63DAFAB0E2773A5F7BF1CC4D")
                .unwrap(),
            k
        );
    }

    /// Keys encrypted by the openssl CLI in each cipher decrypt to what
    /// `openssl ec -outform DER` prints; a wrong password is `bad decrypt`.
    #[test]
    fn traditional_encryption_is_openssls() {
        let dir = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| {
            let out = std::process::Command::new("openssl")
                .current_dir(dir.path())
                .args(args)
                .output()
                .expect("the openssl CLI (apt-get install openssl)");
            assert!(out.status.success(), "openssl {args:?}: {out:?}");
            out.stdout
        };
        run(&[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "k.pem",
        ]);
        assert!(
            std::fs::read_to_string(dir.path().join("k.pem"))
                .unwrap()
                .contains("EC PRIVATE KEY")
        );
        let want = run(&["ec", "-in", "k.pem", "-outform", "DER"]);
        // (OpenSSL 3 writes `-des` keys unencrypted: no legacy provider.)
        for cipher in ["-aes128", "-aes192", "-aes256", "-des3"] {
            run(&[
                "ec", "-in", "k.pem", cipher, "-passout", "pass:pw", "-out", "e.pem",
            ]);
            let data = std::fs::read(dir.path().join("e.pem")).unwrap();
            assert!(
                String::from_utf8_lossy(&data).contains("Proc-Type: 4,ENCRYPTED"),
                "{cipher}"
            );
            let got = from_bytes(&data, Some("pw")).unwrap();
            assert_eq!(got.secret_der(), want.as_slice(), "{cipher}");
            assert!(matches!(got, PrivateKeyDer::Sec1(_)));
            let wrong = from_bytes(&data, Some("px")).map(|_| ());
            assert_eq!(wrong, Err(BAD_DECRYPT.to_string()), "{cipher}");
            assert_eq!(
                from_bytes(&data, None).unwrap_err(),
                NO_PASSWORD,
                "{cipher}"
            );
        }
    }

    #[test]
    fn no_password_and_garbage() {
        assert_eq!(
            from_bytes(
                b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n",
                Some("")
            )
            .unwrap_err(),
            NO_PASSWORD
        );
        assert_eq!(
            from_bytes(b"nothing", None).unwrap_err(),
            "unsupported key format"
        );
    }
}
