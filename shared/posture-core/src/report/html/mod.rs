//! The HTML report of a run: one self-contained page (inline CSS and SVG, no
//! scripts, fonts or fetched resources) so it opens from S3 or a mail
//! attachment as it is. It carries what the Markdown report carries, with the
//! same caps, plus four charts. Every chart mark has `data-*` attributes with
//! the exact numbers it draws, so a browser test can check the drawing
//! against `report.json`.

mod page;
mod svg;
mod text;

pub use page::html;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::run::RunState;
    use crate::posture::checks;
    use crate::report::executive::{CHECKS_SHOWN_PER_ACCOUNT, WORST_ACCOUNTS_SHOWN};
    use crate::report::fixtures::demo_report;
    use crate::report::format::score_text;
    use std::collections::BTreeSet;
    use text::*;

    /// The value of `attr` on the first element with `marker` in its tag.
    fn attr<'a>(html: &'a str, marker: &str, attr: &str) -> Option<&'a str> {
        let at = html.find(marker)?;
        let tag_end = at + html[at..].find('>')?;
        let tag_start = html[..at].rfind('<')?;
        let tag = &html[tag_start..tag_end];
        let key = format!(" {attr}=\"");
        let value = tag.find(&key)? + key.len();
        Some(&tag[value..value + tag[value..].find('"')?])
    }

    #[test]
    fn the_page_has_the_four_charts_with_the_summary_numbers_on_their_marks() {
        let report = demo_report();
        let org = report.run.summary.as_ref().unwrap();
        let page = html(&report);

        assert!(page.starts_with("<!DOCTYPE html>"));
        for id in [
            "chart-framework-scores",
            "chart-severity",
            "chart-trend",
            "chart-worst-accounts",
        ] {
            let marker = format!("<svg id=\"{id}\"");
            assert_eq!(page.matches(&marker).count(), 1, "{id}");
            assert_eq!(attr(&page, &marker, "role"), Some("img"), "{id}");
            assert!(page.contains(&format!("<title id=\"{id}-title\">")), "{id}");
        }

        assert_eq!(
            org.frameworks.len(),
            crate::posture::frameworks::builtin().unwrap().len()
        );
        for (name, f) in &org.frameworks {
            let marker = format!("<rect class=\"bar\" data-framework=\"{name}\"");
            assert_eq!(
                attr(&page, &marker, "data-score"),
                Some(exact(f.score).as_str()),
                "{name}"
            );
            // The one-decimal label is drawn too.
            assert!(page.contains(&format!(">{}</text>", score_text(f.score))), "{name}");
        }

        for s in SEVERITIES {
            let marker = format!("<rect class=\"bar\" data-severity=\"{}\"", s.label());
            let n = org.open_findings.get(&s).copied().unwrap_or(0);
            assert_eq!(
                attr(&page, &marker, "data-count"),
                Some(n.to_string().as_str()),
                "{s:?}"
            );
        }
        assert!(org.open_findings.values().sum::<usize>() > 0);

        // One line per framework, one point per scored run and framework.
        assert_eq!(page.matches("<polyline class=\"series\"").count(), org.frameworks.len());
        let scored: usize = report.trend.iter().map(|p| p.scores.values().flatten().count()).sum();
        assert_eq!(page.matches("<circle class=\"point\"").count(), scored);
        let first = &report.trend[0];
        let marker = format!(
            "<circle class=\"point\" data-framework=\"CIS\" data-run=\"{}\"",
            first.run_id
        );
        assert_eq!(
            attr(&page, &marker, "data-score"),
            Some(exact(first.scores["CIS"]).as_str())
        );
        assert!(!page.contains("trend needs two or more runs"));

        // The worst account first, with its CIS score and failures.
        let worst = &org.worst_accounts[0];
        let marker = format!("<rect class=\"bar\" data-account=\"{}\"", worst.account_id);
        assert_eq!(
            attr(&page, &marker, "data-score"),
            Some(exact(worst.scores["CIS"]).as_str())
        );
        assert_eq!(
            attr(&page, &marker, "data-failures"),
            Some(worst.failures.to_string().as_str())
        );
        assert_eq!(page.matches("data-account=").count(), org.worst_accounts.len());
        assert!(!page.contains("more accounts not shown"));

        // The sandbox has more failed checks than the cap: the page says how many it left out.
        let sandbox = report
            .snapshots
            .iter()
            .find(|s| s.account_id == "456789012345")
            .unwrap();
        let failed: BTreeSet<&str> = sandbox.failures.iter().map(|f| f.check_id.as_str()).collect();
        assert!(failed.len() > CHECKS_SHOWN_PER_ACCOUNT);
        assert!(page.contains(&format!(
            "{} more failed checks in the JSON report.",
            failed.len() - CHECKS_SHOWN_PER_ACCOUNT
        )));
        let title = checks::find("rds.not_publicly_accessible").unwrap().title;
        assert!(page.contains(&format!("<code>rds.not_publicly_accessible</code> {}", Esc(title))));

        // Self-contained: nothing is fetched and nothing runs.
        for banned in ["<script", "<link", "src=", "href=", "url(", "@import", "http"] {
            assert!(!page.contains(banned), "{banned}");
        }
    }

    #[test]
    fn text_from_data_is_escaped() {
        let report = demo_report();
        let page = html(&report);
        assert!(page.contains("AccessDenied: &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
        assert!(page.contains("legacy &quot;ops&quot; &amp; &lt;friends&gt;"));
        assert_eq!(Esc("a&b<c>d\"e'f").to_string(), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
        assert_eq!(Esc("plain — ünïcode").to_string(), "plain — ünïcode");
    }

    #[test]
    fn caps_and_short_trends_are_said_on_the_page() {
        let mut report = demo_report();
        let org = report.run.summary.as_mut().unwrap();
        let extra = org.worst_accounts[0].clone();
        for i in 0..WORST_ACCOUNTS_SHOWN {
            let mut a = extra.clone();
            a.account_id = format!("{:012}", 100 + i);
            org.worst_accounts.push(a);
        }
        let total = org.worst_accounts.len();
        report.trend.drain(..2);
        let page = html(&report);
        assert_eq!(page.matches("data-account=").count(), WORST_ACCOUNTS_SHOWN);
        assert_eq!(
            attr(&page, "<svg id=\"chart-worst-accounts\"", "data-total"),
            Some(total.to_string().as_str())
        );
        assert!(page.contains(&format!("{} more accounts not shown", total - WORST_ACCOUNTS_SHOWN)));
        assert!(page.contains("trend needs two or more runs"));
        assert_eq!(page.matches("<polyline").count(), 0);
        // One point per framework on the single run's trend.
        let frameworks = crate::posture::frameworks::builtin().unwrap().len();
        assert_eq!(page.matches("<circle class=\"point\"").count(), frameworks);
    }

    #[test]
    fn a_run_without_a_summary_gets_a_page_that_says_so() {
        let mut report = demo_report();
        report.run.summary = None;
        report.run.state = RunState::Failed;
        report.run.error = Some("account 1: collector <timed out>".to_string());
        report.snapshots.clear();
        report.trend.clear();
        let page = html(&report);
        assert!(page.contains("No summary for this run"));
        assert!(page.contains("collector &lt;timed out&gt;"));
        assert!(!page.contains("<svg"));
        assert!(page.contains("id=\"gap-accounts\""));
        assert!(page.ends_with("</html>\n"));
    }

    #[test]
    fn severity_labels_are_the_serde_names() {
        for s in SEVERITIES {
            assert_eq!(serde_json::to_value(s).unwrap(), s.label());
        }
    }
}
