//! CSV: one row per check outcome (check × resource × Region of the
//! account), whatever its status: PASS, FAIL, SKIP, ERROR or SUPPRESSED.
//! Findings are not rows: the file answers "what did each check decide", and
//! a spreadsheet of mixed record kinds would have half its columns empty;
//! findings are in the OCSF and SARIF exports.
//!
//! RFC 4180 quoting (the `csv` crate: fields with a comma, quote or line
//! break are quoted, quotes doubled; CRLF line ends). Spreadsheet formula
//! injection is neutralized: a cell that starts with `=`, `+`, `-`, `@`, a
//! tab or a carriage return gets a leading `'`, so Excel, LibreOffice and
//! Sheets show it as text instead of evaluating it (check reasons and
//! resource names come from the inspected accounts, which an attacker may
//! name).

use super::{Context, ExportError, Row, RowStatus};
use std::borrow::Cow;

/// The header row, in order: `docs/exports.md` says what each holds.
pub const COLUMNS: [&str; 19] = [
    "run_id",
    "account_id",
    "region",
    "check_id",
    "check_title",
    "service",
    "severity",
    "resource",
    "resource_type",
    "status",
    "reason",
    "security_hub_control",
    "frameworks",
    "exception_id",
    "exception_reason",
    "exception_owner",
    "exception_expires",
    "doc_url",
    "collected_at",
];

#[derive(Debug)]
pub(crate) struct CsvWriter {
    out: ::csv::Writer<Vec<u8>>,
    header_written: bool,
}

impl CsvWriter {
    pub(crate) fn new() -> CsvWriter {
        CsvWriter {
            out: ::csv::WriterBuilder::new()
                .terminator(::csv::Terminator::CRLF)
                .from_writer(Vec::new()),
            header_written: false,
        }
    }

    fn header(&mut self) -> Result<(), ExportError> {
        if !self.header_written {
            self.out.write_record(COLUMNS).map_err(csv_error)?;
            self.header_written = true;
        }
        Ok(())
    }

    pub(crate) fn check(&mut self, ctx: &Context, row: &Row) -> Result<bool, ExportError> {
        self.header()?;
        let o = row.outcome;
        let c = row.check;
        let e = row.exception.filter(|_| row.status == RowStatus::Suppressed);
        let expires = e.map(|e| e.expires.to_string()).unwrap_or_default();
        let collected_at = super::rfc3339(row.collected_at);
        let frameworks = row.mapping.requirements.join("; ");
        let record: [&str; COLUMNS.len()] = [
            &ctx.run_id,
            &ctx.account_id,
            o.region.as_deref().unwrap_or_default(),
            c.id,
            c.title,
            c.service,
            c.severity.label(),
            &o.resource,
            row.resource.kind,
            row.status.as_str(),
            &o.reason,
            c.security_hub_control.unwrap_or_default(),
            &frameworks,
            e.map(|e| e.id.as_str()).unwrap_or_default(),
            e.map(|e| e.reason.as_str()).unwrap_or_default(),
            e.map(|e| e.owner.as_str()).unwrap_or_default(),
            &expires,
            c.doc_url,
            &collected_at,
        ];
        self.out
            .write_record(record.iter().map(|cell| neutralize(cell).into_owned()))
            .map_err(csv_error)?;
        Ok(true)
    }

    pub(crate) fn finish(mut self) -> Result<Vec<u8>, ExportError> {
        self.header()?;
        self.out.into_inner().map_err(|e| ExportError::Csv(e.to_string()))
    }
}

fn csv_error(e: ::csv::Error) -> ExportError {
    ExportError::Csv(e.to_string())
}

/// The cell as text a spreadsheet will not evaluate: `'` before a leading
/// `=`, `+`, `-`, `@`, tab or carriage return (OWASP's CSV injection list).
pub(crate) fn neutralize(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::*;
    use super::*;

    fn read(body: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
        let mut reader = ::csv::Reader::from_reader(body);
        let header = reader.headers().unwrap().iter().map(String::from).collect();
        let rows = reader
            .records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect();
        (header, rows)
    }

    #[test]
    fn one_row_per_outcome_with_every_status_and_no_finding_rows() {
        let fx = demo();
        let file = export(ExportFormat::Csv, &fx);
        let (header, rows) = read(&file.body);
        assert_eq!(header, COLUMNS);
        assert_eq!(rows.len(), fx.outcomes.len());
        assert_eq!(file.rows, rows.len());
        let status = COLUMNS.iter().position(|c| *c == "status").unwrap();
        let count = |s: &str| rows.iter().filter(|r| r[status] == s).count();
        assert_eq!(count("PASS"), fixtures::count(&fx.outcomes, Status::Pass));
        assert_eq!(count("FAIL"), fixtures::count(&fx.outcomes, Status::Fail) - 1);
        assert_eq!(count("SUPPRESSED"), 1);
        assert_eq!(count("ERROR"), fixtures::count(&fx.outcomes, Status::Error));
        assert_eq!(count("SKIP"), fixtures::count(&fx.outcomes, Status::Skip));
        assert!(count("ERROR") > 0 && count("SKIP") > 0 && count("PASS") > 0);
        assert!(file.body.ends_with(b"\r\n"));
    }

    #[test]
    fn the_suppressed_row_carries_its_exception_and_others_none() {
        let fx = demo();
        let (_, rows) = read(&export(ExportFormat::Csv, &fx).body);
        let col = |name: &str| COLUMNS.iter().position(|c| *c == name).unwrap();
        let suppressed: Vec<_> = rows.iter().filter(|r| r[col("status")] == "SUPPRESSED").collect();
        let row = suppressed[0];
        assert_eq!(row[col("check_id")], "rds.multi_az");
        assert_eq!(row[col("exception_id")], "EXC-7");
        assert_eq!(row[col("exception_owner")], "platform-team");
        assert_eq!(row[col("exception_expires")], "2026-07-10");
        // The reason starts with '=' nowhere but inside: only a leading one is neutralized.
        assert_eq!(row[col("exception_reason")], "scratch database, =rebuilt nightly");
        assert_eq!(row[col("severity")], "MEDIUM");
        assert_eq!(row[col("account_id")], ACCOUNT);
        assert!(
            rows.iter()
                .filter(|r| r[col("status")] != "SUPPRESSED")
                .all(|r| r[col("exception_id")].is_empty())
        );
        let iam = rows.iter().find(|r| r[col("check_id")] == "iam.root_mfa").unwrap();
        assert!(iam[col("frameworks")].contains("CIS "), "{}", iam[col("frameworks")]);
        assert!(iam[col("frameworks")].contains("; "));
        assert_eq!(iam[col("region")], "");
    }

    #[test]
    fn quoting_is_rfc4180_and_formulas_are_neutralized() {
        let fx = demo();
        let mut outcome = fx.outcomes[0].clone();
        outcome.resource = "=HYPERLINK(\"http://x\",\"y\")".into();
        outcome.reason = "line one\nline \"two\", with comma".into();
        let mut export = AccountExport::new(ExportFormat::Csv, &ctx(&fx.frameworks));
        export
            .check(&CheckRow {
                outcome: &outcome,
                collected_at: fx.collected_at,
                suppressed_by: None,
            })
            .unwrap();
        let body = String::from_utf8(export.finish().unwrap().body).unwrap();
        assert!(body.contains("\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""), "{body}");
        assert!(body.contains("\"line one\nline \"\"two\"\", with comma\""), "{body}");
        let (_, rows) = read(body.as_bytes());
        assert_eq!(rows[0][7], "'=HYPERLINK(\"http://x\",\"y\")");
        assert_eq!(rows[0][10], "line one\nline \"two\", with comma");
        for (cell, want) in [
            ("+1", "'+1"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(neutralize(cell), want);
        }
    }

    #[test]
    fn an_empty_export_is_the_header_alone() {
        let frameworks = Vec::new();
        let file = AccountExport::new(ExportFormat::Csv, &ctx(&frameworks))
            .finish()
            .unwrap();
        assert_eq!(
            String::from_utf8(file.body).unwrap(),
            format!("{}\r\n", COLUMNS.join(","))
        );
    }
}
