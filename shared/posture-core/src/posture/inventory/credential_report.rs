//! The IAM credential report (`GetCredentialReport`, CSV) parsed into rows.
//! Values AWS writes for "nothing": `N/A`, `no_information`, `not_supported`.

use super::CredentialReportRow;
use jiff::Timestamp;

/// Why a credential report could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CredentialReportError {
    /// Not CSV, or a row shorter than the header.
    #[error("credential report line {line}: {message}")]
    Malformed {
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A column the checks need is absent.
    #[error("credential report has no column {0:?}")]
    MissingColumn(&'static str),
}

const COLUMNS: [&str; 13] = [
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
];

fn time(value: &str) -> Option<Timestamp> {
    value.parse::<Timestamp>().ok()
}

/// Parses the report's CSV text.
pub fn parse(csv_text: &str) -> Result<Vec<CredentialReportRow>, CredentialReportError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(csv_text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| CredentialReportError::Malformed {
            line: 1,
            message: e.to_string(),
        })?
        .clone();
    let mut index = [0usize; 13];
    for (slot, name) in index.iter_mut().zip(COLUMNS) {
        *slot = headers
            .iter()
            .position(|h| h == name)
            .ok_or(CredentialReportError::MissingColumn(name))?;
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| CredentialReportError::Malformed {
            line,
            message: e.to_string(),
        })?;
        let field = |k: usize| record.get(index[k]).unwrap_or_default();
        let flag = |k: usize| field(k) == "true";
        rows.push(CredentialReportRow {
            user: field(0).to_string(),
            arn: field(1).to_string(),
            user_creation_time: time(field(2)),
            password_enabled: flag(3),
            password_last_used: time(field(4)),
            password_last_changed: time(field(5)),
            mfa_active: flag(6),
            access_key_1_active: flag(7),
            access_key_1_last_rotated: time(field(8)),
            access_key_1_last_used: time(field(9)),
            access_key_2_active: flag(10),
            access_key_2_last_rotated: time(field(11)),
            access_key_2_last_used: time(field(12)),
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated
<root_account>,arn:aws:iam::111122223333:root,2019-03-01T10:00:00+00:00,not_supported,2026-11-01T08:00:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
alice,arn:aws:iam::111122223333:user/alice,2024-01-10T09:00:00+00:00,true,no_information,2024-01-10T09:00:00+00:00,N/A,false,true,2025-06-01T00:00:00+00:00,2026-11-20T00:00:00+00:00,us-east-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
";

    #[test]
    fn aws_reports_parse() {
        let rows = parse(REPORT).unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows[0].is_root() && rows[0].mfa_active && !rows[0].password_enabled);
        let alice = &rows[1];
        assert!(alice.password_enabled && !alice.mfa_active && alice.access_key_1_active);
        assert_eq!(alice.password_last_used, None, "no_information is no date");
        assert_eq!(
            alice.access_key_1_last_rotated.map(|t| t.to_string()),
            Some("2025-06-01T00:00:00Z".into())
        );
    }

    #[test]
    fn missing_columns_are_named() {
        assert_eq!(
            parse("user,arn\nbob,arn:x\n"),
            Err(CredentialReportError::MissingColumn("user_creation_time"))
        );
    }
}
