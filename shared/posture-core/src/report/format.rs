//! How scores are written for people, in every report and tool text.

/// A score with one decimal, or `n/a` when there is none (nothing scored).
pub fn score_text(score: Option<f64>) -> String {
    score.map_or_else(|| "n/a".to_string(), |v| format!("{v:.1}"))
}

/// A score change with its sign and one decimal, or `n/a`.
pub fn delta_text(delta: Option<f64>) -> String {
    delta.map_or_else(|| "n/a".to_string(), |v| format!("{v:+.1}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_read_the_same_everywhere() {
        assert_eq!(score_text(Some(55.84)), "55.8");
        assert_eq!(score_text(None), "n/a");
        assert_eq!(delta_text(Some(-3.0)), "-3.0");
        assert_eq!(delta_text(Some(2.25)), "+2.2");
    }
}
