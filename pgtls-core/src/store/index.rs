//! The codec of `index.txt`, the database `openssl ca` keeps: the typed [`IndexEntry`]
//! of the [`Store`](super::Store) trait to and from one line of text. Nothing outside
//! this module knows the text.

use std::collections::HashSet;
use std::path::Path;

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::cert::Certificate;
use crate::crl::RevocationReason;
use crate::error::Error;
use crate::name::DistinguishedName;
use crate::serial::SerialNumber;

/// The status of an issued certificate.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexStatus {
    /// Valid (`V` in `index.txt`).
    Valid,
    /// Revoked (`R`).
    Revoked {
        /// Revocation time.
        at: OffsetDateTime,
        /// Reason, if recorded.
        reason: Option<RevocationReason>,
    },
    /// Marked expired (`E`, written by `openssl ca -updatedb`).
    Expired,
}

/// A store's record of one issued certificate.
///
/// In a [`DirStore`](super::DirStore) it is one line of `index.txt`. That line holds the
/// subject as OpenSSL's one-line text (`/DC=org/CN=x`), which does not record string
/// types: for a line pgtls did not write, [`IndexEntry::subject`] is rebuilt from it
/// ([`DistinguishedName::from_openssl_oneline`]: exact attribute types and value bytes,
/// string types guessed). Rewriting the index keeps every line's text as it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    /// Status.
    pub status: IndexStatus,
    /// The certificate's notAfter.
    pub expires: OffsetDateTime,
    /// Serial number.
    pub serial: SerialNumber,
    /// The certificate's subject.
    pub subject: DistinguishedName,
    /// What `index.txt` holds beyond the typed fields, kept verbatim.
    text: LineText,
}

/// The columns of an `index.txt` line that [`IndexEntry`]'s typed fields do not carry.
#[derive(Clone, Debug, PartialEq, Eq)]
struct LineText {
    /// The file name column (OpenSSL writes `unknown`).
    file: String,
    /// The subject column as it was read; `None` to write the subject's one-line form.
    subject: Option<String>,
    /// Extra revocation detail after the reason (hold instruction or compromise time).
    extra: Option<String>,
}

impl IndexEntry {
    /// A record (for a [`Store`](super::Store) implementation).
    pub fn new(
        status: IndexStatus,
        expires: OffsetDateTime,
        serial: SerialNumber,
        subject: DistinguishedName,
    ) -> Self {
        Self {
            status,
            expires,
            serial,
            subject,
            text: LineText {
                file: "unknown".to_owned(),
                subject: None,
                extra: None,
            },
        }
    }

    /// The entry of a newly issued (valid) certificate.
    pub(super) fn issued(cert: &Certificate, serial: SerialNumber) -> Self {
        Self::new(
            IndexStatus::Valid,
            cert.not_after(),
            serial,
            cert.subject().clone(),
        )
    }

    pub(super) fn to_line(&self) -> String {
        let (flag, rev) = match self.status {
            IndexStatus::Valid => ("V", String::new()),
            IndexStatus::Expired => ("E", String::new()),
            IndexStatus::Revoked { at, reason } => {
                let mut r = format_index_time(at);
                if let Some(reason) = reason {
                    r.push(',');
                    r.push_str(reason.openssl_name());
                    if let Some(extra) = &self.text.extra {
                        r.push(',');
                        r.push_str(extra);
                    }
                }
                ("R", r)
            }
        };
        let subject = match &self.text.subject {
            Some(s) => s.clone(),
            None => self.subject.to_openssl_oneline(),
        };
        format!(
            "{flag}\t{}\t{rev}\t{}\t{}\t{subject}\n",
            format_index_time(self.expires),
            self.serial.to_hex(),
            self.text.file,
        )
    }
}

pub(super) fn parse_index(text: &[u8], path: &Path) -> Result<Vec<IndexEntry>, Error> {
    let corrupt = |line: usize, reason: String| Error::StoreCorrupt {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let text = std::str::from_utf8(text).map_err(|_| corrupt(0, "not UTF-8 text".to_owned()))?;
    if !text.is_empty() && !text.ends_with('\n') {
        return Err(corrupt(
            text.lines().count(),
            "the last line is not terminated (truncated file?)".to_owned(),
        ));
    }
    let mut out: Vec<IndexEntry> = Vec::new();
    let mut seen: HashSet<SerialNumber> = HashSet::new();
    for (i, line) in text.lines().enumerate() {
        let no = i + 1;
        let fields: Vec<&str> = line.split('\t').collect();
        let [flag, exp, rev, serial, file, subject] = fields.as_slice() else {
            return Err(corrupt(
                no,
                format!("expected 6 tab-separated fields, found {}", fields.len()),
            ));
        };
        let expires =
            parse_index_time(exp).ok_or_else(|| corrupt(no, format!("bad expiry time {exp:?}")))?;
        let serial = SerialNumber::from_hex(serial)
            .ok()
            .filter(|_| serial.chars().all(|c| c.is_ascii_hexdigit()))
            .ok_or_else(|| corrupt(no, format!("bad serial {serial:?}")))?;
        let mut extra = None;
        let status = match *flag {
            "V" | "E" if !rev.is_empty() => {
                return Err(corrupt(
                    no,
                    "revocation field set on a non-revoked entry".to_owned(),
                ));
            }
            "V" => IndexStatus::Valid,
            "E" => IndexStatus::Expired,
            "R" => {
                let mut parts = rev.splitn(3, ',');
                let at = parts
                    .next()
                    .and_then(parse_index_time)
                    .ok_or_else(|| corrupt(no, format!("bad revocation time {rev:?}")))?;
                let reason = match parts.next() {
                    None => None,
                    Some(r) => Some(
                        r.parse::<RevocationReason>()
                            .map_err(|_| corrupt(no, format!("unknown revocation reason {r:?}")))?,
                    ),
                };
                extra = parts.next().map(str::to_owned);
                IndexStatus::Revoked { at, reason }
            }
            other => {
                return Err(corrupt(
                    no,
                    format!("unknown status {other:?} (expected V, R or E)"),
                ));
            }
        };
        if !seen.insert(serial.clone()) {
            return Err(corrupt(
                no,
                format!("serial {} appears twice", serial.to_hex()),
            ));
        }
        let name = DistinguishedName::from_openssl_oneline(subject)
            .map_err(|e| corrupt(no, format!("bad subject {subject:?}: {e}")))?;
        out.push(IndexEntry {
            status,
            expires,
            serial,
            subject: name,
            text: LineText {
                file: (*file).to_owned(),
                subject: Some((*subject).to_owned()),
                extra,
            },
        });
    }
    Ok(out)
}

/// `YYMMDDHHMMSSZ` (UTCTime, years 1950-2049) or `YYYYMMDDHHMMSSZ`.
fn parse_index_time(s: &str) -> Option<OffsetDateTime> {
    let digits = s.strip_suffix('Z')?;
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| digits.get(r).and_then(|d| d.parse::<u32>().ok());
    let (year, rest) = match digits.len() {
        12 => {
            let yy = num(0..2)?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, 2)
        }
        14 => (num(0..4)?, 4),
        _ => return None,
    };
    let month = Month::try_from(u8::try_from(num(rest..rest + 2)?).ok()?).ok()?;
    let date = Date::from_calendar_date(
        i32::try_from(year).ok()?,
        month,
        u8::try_from(num(rest + 2..rest + 4)?).ok()?,
    )
    .ok()?;
    let time = Time::from_hms(
        u8::try_from(num(rest + 4..rest + 6)?).ok()?,
        u8::try_from(num(rest + 6..rest + 8)?).ok()?,
        u8::try_from(num(rest + 8..rest + 10)?).ok()?,
    )
    .ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

fn format_index_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let (y, m, d) = (t.year(), u8::from(t.month()), t.day());
    let (hh, mm, ss) = (t.hour(), t.minute(), t.second());
    if (1950..2050).contains(&y) {
        format!("{:02}{m:02}{d:02}{hh:02}{mm:02}{ss:02}Z", y % 100)
    } else {
        format!("{y:04}{m:02}{d:02}{hh:02}{mm:02}{ss:02}Z")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_lines_round_trip() {
        let text = "V\t361231235959Z\t\t0A1B\tunknown\t/DC=org/DC=example/CN=a\n\
                    R\t20510101000000Z\t240102030405Z,keyCompromise\t0C\tunknown\t/CN=b\n\
                    R\t361231235959Z\t240102030405Z\t0D\tunknown\t/CN=c\n";
        let entries = parse_index(text.as_bytes(), Path::new("index.txt")).unwrap();
        let back: String = entries.iter().map(IndexEntry::to_line).collect();
        assert_eq!(back, text);
    }

    #[test]
    fn subjects_are_typed_and_lines_kept_verbatim() {
        // As `openssl ca` writes them: a multi-valued RDN, escapes, an OID type, and
        // `\x` that is not an escape of ours (OpenSSL writes `\` unescaped).
        let text = "V\t361231235959Z\t\t0A\tunknown\t/DC=org/CN=a+UID=7\n\
                    V\t361231235959Z\t\t0B\tunknown\t/CN=M\\xC3\\xBCller/1.2.3.4=x\\/y\n\
                    V\t361231235959Z\t\t0C\tunknown\t/CN=\\x4A\n\
                    V\t361231235959Z\t\t0D\tfile.pem\t\n";
        let entries = parse_index(text.as_bytes(), Path::new("index.txt")).unwrap();
        assert_eq!(
            entries[0].subject,
            DistinguishedName::from_openssl_oneline("/DC=org/CN=a+UID=7").unwrap()
        );
        assert_eq!(entries[0].subject.rdns().len(), 2);
        assert_eq!(
            entries[1].subject.common_name_value().as_deref(),
            Some("M\u{fc}ller")
        );
        // `\x4A` is the byte J: the typed name says so, the line stays as it was.
        assert_eq!(entries[2].subject.common_name_value().as_deref(), Some("J"));
        assert!(entries[3].subject.is_empty());
        let back: String = entries.iter().map(IndexEntry::to_line).collect();
        assert_eq!(back, text);
        // A new entry writes its subject's one-line form.
        let e = IndexEntry::new(
            IndexStatus::Valid,
            entries[0].expires,
            SerialNumber::from_hex("0E").unwrap(),
            DistinguishedName::parse_openssl("/O=a\\/b/CN=x").unwrap(),
        );
        assert_eq!(
            e.to_line(),
            "V\t361231235959Z\t\t0E\tunknown\t/O=a\\/b/CN=x\n"
        );
    }

    #[test]
    fn index_errors_name_the_line() {
        for (bad, line) in [
            ("V\t361231235959Z\t\t0A\tunknown\n", 1),
            (
                "V\t361231235959Z\t\t0A\tunknown\t/CN=a\nX\t361231235959Z\t\t0B\tunknown\t/CN=b\n",
                2,
            ),
            ("V\t3612312359Z\t\t0A\tunknown\t/CN=a\n", 1),
            ("V\t361231235959Z\t\tZZ\tunknown\t/CN=a\n", 1),
            (
                "R\t361231235959Z\t240102030405Z,nonsense\t0A\tunknown\t/CN=a\n",
                1,
            ),
            (
                "V\t361231235959Z\t\t0A\tunknown\t/CN=a\nV\t361231235959Z\t\t0A\tunknown\t/CN=a\n",
                2,
            ),
            ("V\t361231235959Z\t\t0A\tunknown\t/CN=a", 1),
            (
                "V\t361231235959Z\t\t0A\tunknown\t/CN=a\nV\t361231235959Z\t\t0B\tunknown\tCN=b\n",
                2,
            ),
            ("V\t361231235959Z\t\t0A\tunknown\t/XX=a\n", 1),
        ] {
            match parse_index(bad.as_bytes(), Path::new("index.txt")) {
                Err(Error::StoreCorrupt { line: l, .. }) => assert_eq!(l, line, "{bad:?}"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }
}
