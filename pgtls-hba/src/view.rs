//! The `pg_hba_file_rules` and `pg_ident_file_mappings` views
//! (src/backend/utils/adt/hbafuncs.c), row by row.

use crate::PgVersion;
use crate::address::ntop;
use crate::hba::{Address, HbaFile, HbaRule};
use crate::ident::IdentFile;
use crate::method::{AuthMethod, ClientCert};

/// A value of a view column.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ViewValue {
    /// SQL NULL.
    Null,
    /// An integer column.
    Int(i64),
    /// A text column.
    Text(String),
    /// A text[] column.
    TextArray(Vec<String>),
}

impl ViewValue {
    fn text(s: impl Into<String>) -> Self {
        Self::Text(s.into())
    }

    fn opt_text(s: Option<String>) -> Self {
        s.map_or(Self::Null, Self::Text)
    }

    /// The value as `row_to_json` prints it.
    pub fn to_json(&self) -> String {
        match self {
            Self::Null => "null".to_owned(),
            Self::Int(i) => i.to_string(),
            Self::Text(s) => json_string(s),
            Self::TextArray(a) => {
                let items: Vec<String> = a.iter().map(|s| json_string(s)).collect();
                format!("[{}]", items.join(","))
            }
        }
    }

    /// The value as psql prints it in text output (`NULL` as empty, arrays as `{a,"b c"}`).
    pub fn to_text(&self) -> String {
        match self {
            Self::Null => String::new(),
            Self::Int(i) => i.to_string(),
            Self::Text(s) => s.clone(),
            Self::TextArray(a) => {
                let items: Vec<String> = a.iter().map(|s| array_item(s)).collect();
                format!("{{{}}}", items.join(","))
            }
        }
    }
}

/// `escape_json` of PostgreSQL's json.c.
pub(crate) fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `array_out` quoting of one element.
fn array_item(s: &str) -> String {
    let needs = s.is_empty()
        || s.eq_ignore_ascii_case("NULL")
        || s.chars().any(|c| {
            matches!(
                c,
                '{' | '}' | ',' | '"' | '\\' | ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c'
            )
        });
    if !needs {
        return s.to_owned();
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// One row of a view: column names and values in the view's order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ViewRow {
    /// `(column, value)` in order.
    pub columns: Vec<(&'static str, ViewValue)>,
}

impl ViewRow {
    /// `row_to_json` of the row.
    pub fn to_json(&self) -> String {
        let cols: Vec<String> = self
            .columns
            .iter()
            .map(|(k, v)| format!("{}:{}", json_string(k), v.to_json()))
            .collect();
        format!("{{{}}}", cols.join(","))
    }

    /// A column's value.
    pub fn get(&self, name: &str) -> Option<&ViewValue> {
        self.columns
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }
}

fn hba_options(rule: &HbaRule, v: PgVersion) -> Vec<String> {
    let o = &rule.options;
    let m = rule.method;
    let mut out = Vec::new();
    if matches!(m, AuthMethod::Gss | AuthMethod::Sspi) {
        if o.include_realm {
            out.push("include_realm=true".to_owned());
        }
        if let Some(r) = &o.krb_realm {
            out.push(format!("krb_realm={r}"));
        }
    }
    if let Some(map) = &o.map {
        out.push(format!("map={map}"));
    }
    match o.clientcert {
        ClientCert::Off => {}
        ClientCert::VerifyCa => out.push("clientcert=verify-ca".to_owned()),
        ClientCert::VerifyFull => out.push("clientcert=verify-full".to_owned()),
    }
    if let Some(p) = &o.pamservice {
        out.push(format!("pamservice={p}"));
    }
    if m == AuthMethod::Ldap {
        let mut s = |k: &str, val: &Option<String>| {
            if let Some(x) = val {
                out.push(format!("{k}={x}"));
            }
        };
        s("ldapserver", &o.ldapserver);
        if o.ldapport != 0 {
            out.push(format!("ldapport={}", o.ldapport));
        }
        if let Some(x) = &o.ldapscheme {
            out.push(format!("ldapscheme={x}"));
        }
        if o.ldaptls {
            out.push("ldaptls=true".to_owned());
        }
        let mut s = |k: &str, val: &Option<String>| {
            if let Some(x) = val {
                out.push(format!("{k}={x}"));
            }
        };
        s("ldapprefix", &o.ldapprefix);
        s("ldapsuffix", &o.ldapsuffix);
        s("ldapbasedn", &o.ldapbasedn);
        s("ldapbinddn", &o.ldapbinddn);
        s("ldapbindpasswd", &o.ldapbindpasswd);
        s("ldapsearchattribute", &o.ldapsearchattribute);
        s("ldapsearchfilter", &o.ldapsearchfilter);
        if o.ldapscope != 0 {
            out.push(format!("ldapscope={}", o.ldapscope));
        }
    }
    if m == AuthMethod::Radius {
        for (k, val) in [
            ("radiusservers", &o.radiusservers),
            ("radiussecrets", &o.radiussecrets),
            ("radiusidentifiers", &o.radiusidentifiers),
            ("radiusports", &o.radiusports),
        ] {
            if let Some((raw, _)) = val {
                out.push(format!("{k}={raw}"));
            }
        }
    }
    if m == AuthMethod::Oauth && v >= PgVersion::V18 {
        for (k, val) in [
            ("issuer", &o.issuer),
            ("scope", &o.scope),
            ("validator", &o.validator),
        ] {
            if let Some(x) = val {
                out.push(format!("{k}={x}"));
            }
        }
        if o.delegate_ident_mapping {
            out.push("delegate_ident_mapping=true".to_owned());
        }
    }
    out
}

impl HbaFile {
    /// The rows `select * from pg_hba_file_rules` would return for this file
    /// on the version it was parsed for.
    pub fn view_rows(&self) -> Vec<ViewRow> {
        let v = self.settings().version;
        let new = v >= PgVersion::V16;
        let mut rule_number: i64 = 0;
        let mut rows = Vec::new();
        for line in self.lines() {
            let (rule, error) = match &line.result {
                Ok(r) => (Some(r), r.warning.clone()),
                Err(e) => (None, e.view_message.clone()),
            };
            let mut cols: Vec<(&'static str, ViewValue)> = Vec::new();
            if new {
                if error.is_none() {
                    rule_number += 1;
                }
                cols.push((
                    "rule_number",
                    if error.is_none() {
                        ViewValue::Int(rule_number)
                    } else {
                        ViewValue::Null
                    },
                ));
                cols.push(("file_name", ViewValue::text(line.file.clone())));
            }
            cols.push(("line_number", ViewValue::Int(i64::from(line.line_number))));
            match rule {
                Some(r) => {
                    cols.push(("type", ViewValue::text(r.conn_type.as_str())));
                    cols.push((
                        "database",
                        ViewValue::TextArray(
                            r.databases.iter().map(|t| t.text().to_owned()).collect(),
                        ),
                    ));
                    cols.push((
                        "user_name",
                        ViewValue::TextArray(r.users.iter().map(|t| t.text().to_owned()).collect()),
                    ));
                    let (addr, mask) = match &r.address {
                        None => (None, None),
                        Some(Address::All) => (Some("all".to_owned()), None),
                        Some(Address::SameHost) => (Some("samehost".to_owned()), None),
                        Some(Address::SameNet) => (Some("samenet".to_owned()), None),
                        Some(Address::Hostname(h)) => (Some(h.clone()), None),
                        Some(Address::Ip { addr, mask, .. }) => {
                            (Some(ntop(addr)), Some(ntop(mask)))
                        }
                    };
                    cols.push(("address", ViewValue::opt_text(addr)));
                    cols.push(("netmask", ViewValue::opt_text(mask)));
                    cols.push(("auth_method", ViewValue::text(r.method.as_str())));
                    let opts = hba_options(r, v);
                    cols.push((
                        "options",
                        if opts.is_empty() {
                            ViewValue::Null
                        } else {
                            ViewValue::TextArray(opts)
                        },
                    ));
                }
                None => {
                    for c in [
                        "type",
                        "database",
                        "user_name",
                        "address",
                        "netmask",
                        "auth_method",
                        "options",
                    ] {
                        cols.push((c, ViewValue::Null));
                    }
                }
            }
            cols.push(("error", ViewValue::opt_text(error)));
            rows.push(ViewRow { columns: cols });
        }
        rows
    }
}

impl IdentFile {
    /// The rows `select * from pg_ident_file_mappings` would return (15+).
    /// The view does not exist before 15: rows are still produced, and their
    /// `error` is what the server logs for the line when it loads the file,
    /// the only place 12 to 14 report it (`missing entry in file "F" at end
    /// of line N` where 15 shows `missing entry at end of line`).
    pub fn view_rows(&self) -> Vec<ViewRow> {
        let new = self.version() >= PgVersion::V16;
        let logged = self.version() < PgVersion::V15;
        let mut map_number: i64 = 0;
        let mut rows = Vec::new();
        for line in self.lines() {
            let mut cols: Vec<(&'static str, ViewValue)> = Vec::new();
            let error = line.result.as_ref().err().and_then(|e| {
                if logged {
                    Some(e.message.clone())
                } else {
                    e.view_message.clone()
                }
            });
            if new {
                if line.result.is_ok() {
                    map_number += 1;
                }
                cols.push((
                    "map_number",
                    if line.result.is_ok() {
                        ViewValue::Int(map_number)
                    } else {
                        ViewValue::Null
                    },
                ));
                cols.push(("file_name", ViewValue::text(line.file.clone())));
            }
            cols.push(("line_number", ViewValue::Int(i64::from(line.line_number))));
            match &line.result {
                Ok(r) => {
                    cols.push(("map_name", ViewValue::text(r.map.clone())));
                    cols.push(("sys_name", ViewValue::text(r.system_user.text.clone())));
                    cols.push(("pg_username", ViewValue::text(r.pg_user.text.clone())));
                }
                Err(_) => {
                    for c in ["map_name", "sys_name", "pg_username"] {
                        cols.push((c, ViewValue::Null));
                    }
                }
            }
            cols.push(("error", ViewValue::opt_text(error)));
            rows.push(ViewRow { columns: cols });
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hba::ServerSettings;

    fn rows(text: &str, ssl: bool) -> Vec<String> {
        HbaFile::parse_str(text, ServerSettings::new(PgVersion::V15, ssl))
            .view_rows()
            .iter()
            .map(ViewRow::to_json)
            .collect()
    }

    #[test]
    fn row_to_json_shapes() {
        let r = rows(
            "local all all ident\nhost \"all\",db 'u' 10.1.2.3/8 md5\nhostssl all all ::1/64 cert map=m\nhost all all x bogus\n",
            false,
        );
        assert_eq!(
            r[0],
            r#"{"line_number":1,"type":"local","database":["all"],"user_name":["all"],"address":null,"netmask":null,"auth_method":"peer","options":null,"error":null}"#
        );
        assert_eq!(
            r[1],
            r#"{"line_number":2,"type":"host","database":["all","db"],"user_name":["'u'"],"address":"10.1.2.3","netmask":"255.0.0.0","auth_method":"md5","options":null,"error":null}"#
        );
        assert_eq!(
            r[2],
            r#"{"line_number":3,"type":"hostssl","database":["all"],"user_name":["all"],"address":"::1","netmask":"ffff:ffff:ffff:ffff::","auth_method":"cert","options":["map=m","clientcert=verify-full"],"error":"hostssl record cannot match because SSL is disabled"}"#
        );
        assert_eq!(
            r[3],
            r#"{"line_number":4,"type":null,"database":null,"user_name":null,"address":null,"netmask":null,"auth_method":null,"options":null,"error":"invalid authentication method \"bogus\""}"#
        );
    }

    #[test]
    fn silent_errors_are_all_null() {
        let r = rows("hostssl all all all md5 clientcert=1\n", true);
        assert_eq!(
            r[0],
            r#"{"line_number":1,"type":null,"database":null,"user_name":null,"address":null,"netmask":null,"auth_method":null,"options":null,"error":null}"#
        );
    }

    #[test]
    fn error_texts() {
        let cases = [
            ("local", "end-of-line before database specification"),
            ("local all", "end-of-line before role specification"),
            (
                "host all all",
                "end-of-line before IP address specification",
            ),
            (
                "host all all a,b trust",
                "multiple values specified for host address",
            ),
            (
                "host all all 10.0.0.1",
                "end-of-line before netmask specification",
            ),
            (
                "host all all 10.0.0.1 trust",
                "invalid IP mask \"trust\": Name or service not known",
            ),
            (
                "host all all 10.0.0.1 255.0.0.0,1 trust",
                "multiple values specified for netmask",
            ),
            (
                "host all all 10.0.0.1 ::1 trust",
                "IP address and mask do not match",
            ),
            (
                "host all all foo/8 trust",
                "specifying both host name and CIDR mask is invalid: \"foo/8\"",
            ),
            (
                "host all all 10.0.0.0/33 trust",
                "invalid CIDR mask in address \"10.0.0.0/33\"",
            ),
            ("local all all", "end-of-line before authentication method"),
            (
                "local all all trust,md5",
                "multiple values specified for authentication type",
            ),
            (
                "local,host all all trust",
                "multiple values specified for connection type",
            ),
            ("Local all all trust", "invalid connection type \"Local\""),
            (
                "local all all Trust",
                "invalid authentication method \"Trust\"",
            ),
            (
                "local all all sspi",
                "invalid authentication method \"sspi\": not supported by this build",
            ),
            (
                "local all all bsd",
                "invalid authentication method \"bsd\": not supported by this build",
            ),
            (
                "local all all gss",
                "gssapi authentication is not supported on local sockets",
            ),
            (
                "host all all all peer",
                "peer authentication is only supported on local sockets",
            ),
            (
                "host all all all cert",
                "cert authentication is only supported on hostssl connections",
            ),
            (
                "local all all trust x",
                "authentication option not in name=value format: x",
            ),
            (
                "local all all trust =x",
                "unrecognized authentication option name: \"\"",
            ),
            (
                "local all all trust map=x",
                "authentication option \"map\" is only valid for authentication methods ident, peer, gssapi, sspi, and cert",
            ),
            (
                "host all all all md5 clientcert=verify-ca",
                "clientcert can only be configured for \"hostssl\" rows",
            ),
            (
                "host all all all md5 clientname=CN",
                "clientname can only be configured for \"hostssl\" rows",
            ),
            (
                "hostssl all all all cert clientcert=verify-ca",
                "clientcert can only be set to \"verify-full\" when using \"cert\" authentication",
            ),
            (
                "local all all pam ldapserver=x",
                "authentication option \"ldapserver\" is only valid for authentication methods ldap",
            ),
            (
                "local all all ldap ldapserver=x",
                "authentication method \"ldap\" requires argument \"ldapbasedn\", \"ldapprefix\", or \"ldapsuffix\" to be set",
            ),
            (
                "local all all ldap ldapprefix=a ldapbasedn=b",
                "cannot use ldapbasedn, ldapbinddn, ldapbindpasswd, ldapsearchattribute, ldapsearchfilter, or ldapurl together with ldapprefix",
            ),
            (
                "local all all ldap ldapbasedn=b ldapsearchattribute=a ldapsearchfilter=f",
                "cannot use ldapsearchattribute together with ldapsearchfilter",
            ),
            (
                "local all all ldap ldapbasedn=b ldapport=abc",
                "invalid LDAP port number: \"abc\"",
            ),
            (
                "local all all ldap ldapurl=http://x",
                "could not parse LDAP URL \"http://x\": Time limit exceeded",
            ),
            (
                "local all all radius",
                "authentication method \"radius\" requires argument \"radiusservers\" to be set",
            ),
            (
                "local all all radius radiusservers=1.2.3.4",
                "authentication method \"radius\" requires argument \"radiussecrets\" to be set",
            ),
            (
                "local all all radius radiusservers=\"1.2.3.4,1.2.3.5,1.2.3.6\" radiussecrets=\"a,b\"",
                "the number of RADIUS secrets (2) must be 1 or the same as the number of RADIUS servers (3)",
            ),
            (
                "local all all gss include_realm=0",
                "gssapi authentication is not supported on local sockets",
            ),
            (
                "local all all trust krb_realm=x",
                "authentication option \"krb_realm\" is only valid for authentication methods gssapi and sspi",
            ),
            (
                "local all all peer clientcert=verify-full",
                "clientcert can only be configured for \"hostssl\" rows",
            ),
            ("include x", "invalid connection type \"include\""),
        ];
        for (line, err) in cases {
            let f = HbaFile::parse_str(line, ServerSettings::new(PgVersion::V15, true));
            let got = f.lines()[0]
                .result
                .as_ref()
                .err()
                .and_then(|e| e.view_message.clone());
            assert_eq!(got.as_deref(), Some(err), "{line}");
        }
    }

    #[test]
    fn ldap_options_order_and_scope() {
        let r = rows(
            "host all all all ldap ldapbasedn=\"dc=x\" ldapserver=h ldaptls=1 ldapport=389x\n",
            true,
        );
        assert!(r[0].contains(r#""options":["ldapserver=h","ldapport=389","ldaptls=true","ldapbasedn=dc=x","ldapscope=2"]"#), "{}", r[0]);
    }

    /// A missing `include_dir` directory: the view has the short text, the
    /// server's log (what a refused load reports) has errno's (found live
    /// against PostgreSQL 16-18, GetConfFilesInDir).
    #[test]
    fn include_dir_missing_view_and_log_texts() {
        use crate::source::MemorySource;
        let f = HbaFile::parse(
            "/d/pg_hba.conf",
            b"local all all trust\ninclude_dir nodir\n",
            ServerSettings::new(PgVersion::V16, false),
            &MemorySource::new(),
        );
        let r: Vec<String> = f.view_rows().iter().map(ViewRow::to_json).collect();
        assert!(
            r[1].ends_with(r#""error":"could not open directory \"/d/nodir\""}"#),
            "{}",
            r[1]
        );
        let e = f.load_error().unwrap();
        assert!(
            e.starts_with(
                "could not open configuration directory \"/d/nodir\": No such file or directory"
            ),
            "{e}"
        );
    }

    #[test]
    fn pg16_rows_with_includes_and_regexes() {
        use crate::source::MemorySource;
        let src = MemorySource::new().with(
            "/d/inc.conf",
            "local all all trust\nhostssl all all all md5\n",
        );
        let f = HbaFile::parse(
            "/d/pg_hba.conf",
            b"include inc.conf\nlocal \"/^db(\" all trust\nlocal /^app all peer\ninclude_if_exists none.conf\ninclude_dir nodir\n",
            ServerSettings::new(PgVersion::V16, false),
            &src,
        );
        let r: Vec<String> = f.view_rows().iter().map(ViewRow::to_json).collect();
        assert_eq!(r.len(), 5);
        assert!(
            r[0].starts_with(
                r#"{"rule_number":1,"file_name":"/d/inc.conf","line_number":1,"type":"local""#
            ),
            "{}",
            r[0]
        );
        // A warning row has no rule number, and the next rule keeps counting.
        assert!(
            r[1].starts_with(
                r#"{"rule_number":null,"file_name":"/d/inc.conf","line_number":2,"type":"hostssl""#
            ),
            "{}",
            r[1]
        );
        assert!(
            r[1].ends_with(r#""error":"hostssl record cannot match because SSL is disabled"}"#)
        );
        assert!(
            r[2].ends_with(
                r#""error":"invalid regular expression \"^db(\": parentheses () not balanced"}"#
            ),
            "{}",
            r[2]
        );
        assert!(
            r[3].starts_with(r#"{"rule_number":2,"file_name":"/d/pg_hba.conf","line_number":3"#),
            "{}",
            r[3]
        );
        assert!(
            r[4].ends_with(r#""error":"could not open directory \"/d/nodir\""}"#),
            "{}",
            r[4]
        );
        // 18: the LDAP mixed-mode text.
        let f = HbaFile::parse_str(
            "host all all all ldap ldapprefix=a ldapbasedn=b\n",
            ServerSettings::new(PgVersion::V18, true),
        );
        assert_eq!(
            f.lines()[0].result.as_ref().unwrap_err().message,
            "cannot mix options for simple bind and search+bind modes"
        );
    }

    #[test]
    fn ident_rows() {
        let f = IdentFile::parse_str("m \"/^(.*)$\" \\1\nbad\n", PgVersion::V15);
        let r: Vec<String> = f.view_rows().iter().map(ViewRow::to_json).collect();
        assert_eq!(
            r[0],
            r#"{"line_number":1,"map_name":"m","sys_name":"/^(.*)$","pg_username":"\\1","error":null}"#
        );
        assert_eq!(
            r[1],
            r#"{"line_number":2,"map_name":null,"sys_name":null,"pg_username":null,"error":"missing entry at end of line"}"#
        );
        let f = IdentFile::parse_str("m a b\n", PgVersion::V16);
        assert!(
            f.view_rows()[0]
                .to_json()
                .starts_with(r#"{"map_number":1,"file_name":"pg_ident.conf","line_number":1"#)
        );
    }
}
