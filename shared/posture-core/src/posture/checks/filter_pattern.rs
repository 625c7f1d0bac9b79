//! CloudWatch Logs filter patterns (the syntax of metric filters) and the
//! question CIS section 4 asks of them: does a metric filter match at least
//! every CloudTrail event a reference pattern matches?
//!
//! The method, by enumeration of witness events rather than by comparing
//! strings:
//! - Both patterns are boolean combinations of tests on JSON fields
//!   (`=`, `!=` with `*` wildcards, numeric comparisons, `EXISTS`,
//!   `NOT EXISTS`, `IS NULL`, `IS TRUE`, `IS FALSE`).
//! - For every field either pattern names, candidate values are: each
//!   constant; each wildcard constant with its `*`s taken as nothing and as
//!   text; when the field has a wildcard constant, every join of two
//!   constants; a value equal to no constant; `null` and the booleans when a
//!   test asks about them; numbers either side of each numeric constant; and
//!   "absent", except for fields every CloudTrail record has.
//! - Every combination the reference matches must be matched by the filter,
//!   under each reading AWS's documentation leaves open: `&&` and `||` mixed
//!   without parentheses read both with `&&` binding tighter and left to
//!   right, and `!=` on an absent field read both as true and as false.
//!
//! Without wildcards this decides exactly: a test's truth depends only on
//! which constant a value equals, or none. With wildcards, the joins cover the
//! prefix, suffix and infix overlaps of two constants. Term patterns match
//! when every term occurs in the values the reference fixes; exclusion terms,
//! regular expressions and space-delimited patterns are not interpreted, and
//! the answer says so rather than guessing.

use std::collections::BTreeMap;

/// Fields present in every CloudTrail record, so never "absent" in a witness.
const ALWAYS_PRESENT: &[&str] = &[
    "eventVersion",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "eventType",
    "eventID",
    "userIdentity.type",
];

/// The most witness events one comparison may build.
const MAX_WITNESSES: usize = 50_000;

/// A parsed filter pattern.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Pattern {
    /// The empty pattern: every event.
    Everything,
    /// `{ ... }`.
    Json(Seq),
    /// Unstructured terms: every `all` term and, if any, one `any` term.
    Terms { all: Vec<String>, any: Vec<String> },
}

/// Operands joined by operators at one level of parentheses.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Seq {
    first: Box<Node>,
    rest: Vec<(Op, Node)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Test(Test),
    Group(Seq),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    And,
    Or,
}

#[derive(Debug, Clone, PartialEq)]
struct Test {
    /// The selector without `$.`.
    field: String,
    cond: Cond,
}

#[derive(Debug, Clone, PartialEq)]
enum Cond {
    Eq(String),
    Ne(String),
    Num(Cmp, f64),
    Exists,
    NotExists,
    IsNull,
    IsTrue,
    IsFalse,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

/// A value of a field in a witness event.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

type Event = BTreeMap<String, Option<Val>>;

/// How the parts AWS does not document are read.
#[derive(Debug, Clone, Copy)]
struct Reading {
    and_binds_tighter: bool,
    absent_not_equal: bool,
}

const READINGS: [Reading; 4] = [
    Reading {
        and_binds_tighter: true,
        absent_not_equal: false,
    },
    Reading {
        and_binds_tighter: true,
        absent_not_equal: true,
    },
    Reading {
        and_binds_tighter: false,
        absent_not_equal: false,
    },
    Reading {
        and_binds_tighter: false,
        absent_not_equal: true,
    },
];

/// Whether a filter matches every event a reference pattern matches.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Coverage {
    /// It does.
    Covers,
    /// It misses this event (described), under every reading.
    Misses(String),
    /// It cannot be told: the reason.
    Undecided(String),
}

/// Parses a filter pattern; `Err` says what this product does not interpret.
pub(crate) fn parse(text: &str) -> Result<Pattern, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(Pattern::Everything);
    }
    if let Some(body) = trimmed.strip_prefix('{') {
        let body = body
            .strip_suffix('}')
            .ok_or_else(|| "a JSON pattern without its closing brace".to_string())?;
        let tokens = tokenize(body)?;
        let mut at = 0;
        let seq = parse_seq(&tokens, &mut at)?;
        if at != tokens.len() {
            return Err(format!("unexpected {:?} in the JSON pattern", tokens[at]));
        }
        return Ok(Pattern::Json(seq));
    }
    if trimmed.starts_with('[') {
        return Err("a space-delimited pattern, which is not interpreted for JSON CloudTrail records".into());
    }
    parse_terms(trimmed)
}

fn parse_terms(text: &str) -> Result<Pattern, String> {
    let (mut all, mut any) = (Vec::new(), Vec::new());
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&c) = chars.peek() else { break };
        let (list, first) = match c {
            '?' => (&mut any, chars.nth(1)),
            '-' => return Err("an exclusion term, which cannot be shown to spare the events it must count".into()),
            '%' => return Err("a regular expression, which this product does not interpret".into()),
            _ => (&mut all, chars.next()),
        };
        let mut term = String::new();
        match first {
            Some('"') => {
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => term.extend(chars.next()),
                        '"' => break,
                        c => term.push(c),
                    }
                }
            }
            Some(c) => {
                term.push(c);
                while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                    term.push(c);
                }
            }
            None => {}
        }
        if !term.is_empty() {
            list.push(term);
        }
    }
    Ok(Pattern::Terms { all, any })
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    And,
    Or,
    Selector(String),
    Operator(&'static str),
    Quoted(String),
    Bare(String),
    Keyword(String),
}

fn tokenize(body: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = body.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let word_end = |from: usize| {
        let mut j = from;
        while j < chars.len() && !chars[j].is_whitespace() && !"()&|=!<>\"".contains(chars[j]) {
            j += 1;
        }
        j
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Token::Open);
                i += 1;
            }
            ')' => {
                out.push(Token::Close);
                i += 1;
            }
            '&' if next == Some('&') => {
                out.push(Token::And);
                i += 2;
            }
            '|' if next == Some('|') => {
                out.push(Token::Or);
                i += 2;
            }
            '=' => {
                out.push(Token::Operator("="));
                i += 1;
            }
            '!' if next == Some('=') => {
                out.push(Token::Operator("!="));
                i += 2;
            }
            '<' | '>' => {
                let op = match (c, next) {
                    ('<', Some('=')) => "<=",
                    ('>', Some('=')) => ">=",
                    ('<', _) => "<",
                    _ => ">",
                };
                out.push(Token::Operator(op));
                i += op.len();
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("an unterminated quoted value".into()),
                        Some('"') => break,
                        Some('\\') => {
                            s.extend(chars.get(i + 1));
                            i += 2;
                        }
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                i += 1;
                out.push(Token::Quoted(s));
            }
            '%' => return Err("a regular expression, which this product does not interpret".into()),
            '$' => {
                let j = word_end(i);
                out.push(Token::Selector(chars[i..j].iter().collect()));
                i = j;
            }
            _ => {
                let j = word_end(i);
                if j == i {
                    return Err(format!("unexpected '{c}'"));
                }
                let word: String = chars[i..j].iter().collect();
                let after_operator = matches!(out.last(), Some(Token::Operator(_)));
                out.push(if after_operator {
                    Token::Bare(word)
                } else {
                    Token::Keyword(word.to_ascii_uppercase())
                });
                i = j;
            }
        }
    }
    Ok(out)
}

fn parse_seq(tokens: &[Token], at: &mut usize) -> Result<Seq, String> {
    let first = parse_node(tokens, at)?;
    let mut rest = Vec::new();
    loop {
        let op = match tokens.get(*at) {
            Some(Token::And) => Op::And,
            Some(Token::Or) => Op::Or,
            _ => break,
        };
        *at += 1;
        rest.push((op, parse_node(tokens, at)?));
    }
    Ok(Seq {
        first: Box::new(first),
        rest,
    })
}

fn parse_node(tokens: &[Token], at: &mut usize) -> Result<Node, String> {
    match tokens.get(*at) {
        Some(Token::Open) => {
            *at += 1;
            let seq = parse_seq(tokens, at)?;
            if tokens.get(*at) != Some(&Token::Close) {
                return Err("an unbalanced parenthesis".into());
            }
            *at += 1;
            Ok(Node::Group(seq))
        }
        Some(Token::Selector(s)) => {
            *at += 1;
            let field = s
                .strip_prefix("$.")
                .filter(|f| !f.is_empty())
                .ok_or_else(|| format!("the selector {s}, not a $.field path"))?
                .to_string();
            let cond = parse_cond(tokens, at)?;
            Ok(Node::Test(Test { field, cond }))
        }
        other => Err(format!("expected a test, found {other:?}")),
    }
}

fn parse_cond(tokens: &[Token], at: &mut usize) -> Result<Cond, String> {
    let take = |at: &mut usize| {
        let t = tokens.get(*at).cloned();
        *at += 1;
        t
    };
    match take(at) {
        Some(Token::Operator(op)) => {
            let (text, quoted) = match take(at) {
                Some(Token::Quoted(s)) => (s, true),
                Some(Token::Bare(s)) => (s, false),
                other => return Err(format!("expected a value after {op}, found {other:?}")),
            };
            let number = if quoted { None } else { text.parse::<f64>().ok() };
            Ok(match (op, number) {
                ("=", None) => Cond::Eq(text),
                ("!=", None) => Cond::Ne(text),
                ("=", Some(n)) => Cond::Num(Cmp::Eq, n),
                ("!=", Some(n)) => Cond::Num(Cmp::Ne, n),
                (op, Some(n)) => Cond::Num(
                    match op {
                        "<" => Cmp::Lt,
                        "<=" => Cmp::Le,
                        ">" => Cmp::Gt,
                        _ => Cmp::Ge,
                    },
                    n,
                ),
                (op, None) => return Err(format!("{op} needs a number, found {text:?}")),
            })
        }
        Some(Token::Keyword(k)) => {
            let second = match tokens.get(*at) {
                Some(Token::Keyword(k2)) => {
                    *at += 1;
                    Some(k2.as_str())
                }
                _ => None,
            };
            match (k.as_str(), second) {
                ("EXISTS", None) => Ok(Cond::Exists),
                ("NOT", Some("EXISTS")) => Ok(Cond::NotExists),
                ("IS", Some("NULL")) => Ok(Cond::IsNull),
                ("IS", Some("TRUE")) => Ok(Cond::IsTrue),
                ("IS", Some("FALSE")) => Ok(Cond::IsFalse),
                (k, s) => Err(format!("the test {k} {}", s.unwrap_or_default())),
            }
        }
        other => Err(format!("expected an operator, found {other:?}")),
    }
}

/// `*` matches any run of characters (also the resource patterns of
/// accepted risks, `crate::exceptions`).
pub(crate) fn glob(pattern: &str, value: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == value;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !value.starts_with(first) || value.len() < first.len() + last.len() || !value.ends_with(last) {
        return false;
    }
    let mut rest = &value[first.len()..value.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

impl Cond {
    fn holds(&self, value: Option<&Val>, reading: Reading) -> bool {
        match (self, value) {
            (Cond::Exists, v) => v.is_some(),
            (Cond::NotExists, v) => v.is_none(),
            (Cond::IsNull, v) => v == Some(&Val::Null),
            (Cond::IsTrue, v) => v == Some(&Val::Bool(true)),
            (Cond::IsFalse, v) => v == Some(&Val::Bool(false)),
            (Cond::Eq(_) | Cond::Num(..), None) => false,
            (Cond::Ne(_), None) => reading.absent_not_equal,
            (Cond::Eq(p), Some(Val::Str(s))) => glob(p, s),
            (Cond::Eq(_), Some(_)) => false,
            (Cond::Ne(p), Some(Val::Str(s))) => !glob(p, s),
            (Cond::Ne(_), Some(_)) => true,
            (Cond::Num(cmp, c), Some(Val::Num(n))) => match cmp {
                Cmp::Lt => n < c,
                Cmp::Le => n <= c,
                Cmp::Gt => n > c,
                Cmp::Ge => n >= c,
                Cmp::Eq => n == c,
                Cmp::Ne => n != c,
            },
            (Cond::Num(cmp, _), Some(_)) => *cmp == Cmp::Ne,
        }
    }
}

impl Seq {
    fn matches(&self, event: &Event, reading: Reading) -> bool {
        let first = self.first.matches(event, reading);
        if reading.and_binds_tighter {
            let (mut any, mut term) = (false, first);
            for (op, node) in &self.rest {
                let value = node.matches(event, reading);
                match op {
                    Op::And => term = term && value,
                    Op::Or => {
                        any |= term;
                        term = value;
                    }
                }
            }
            any || term
        } else {
            self.rest.iter().fold(first, |acc, (op, node)| {
                let value = node.matches(event, reading);
                match op {
                    Op::And => acc && value,
                    Op::Or => acc || value,
                }
            })
        }
    }

    fn tests<'a>(&'a self, out: &mut Vec<&'a Test>) {
        for node in std::iter::once(self.first.as_ref()).chain(self.rest.iter().map(|(_, n)| n)) {
            match node {
                Node::Test(t) => out.push(t),
                Node::Group(seq) => seq.tests(out),
            }
        }
    }

    /// Whether `&&` and `||` meet at one level without parentheses.
    #[cfg(test)]
    pub(crate) fn is_ambiguous(&self) -> bool {
        let ops: std::collections::BTreeSet<bool> = self.rest.iter().map(|(op, _)| *op == Op::And).collect();
        ops.len() > 1
            || std::iter::once(self.first.as_ref())
                .chain(self.rest.iter().map(|(_, n)| n))
                .any(|n| matches!(n, Node::Group(seq) if seq.is_ambiguous()))
    }
}

impl Node {
    fn matches(&self, event: &Event, reading: Reading) -> bool {
        match self {
            Node::Test(t) => t.cond.holds(event.get(&t.field).and_then(Option::as_ref), reading),
            Node::Group(seq) => seq.matches(event, reading),
        }
    }
}

impl Pattern {
    fn matches(&self, event: &Event, reading: Reading) -> bool {
        match self {
            Pattern::Everything => true,
            Pattern::Json(seq) => seq.matches(event, reading),
            Pattern::Terms { all, any } => {
                let values: Vec<&str> = event
                    .values()
                    .filter_map(|v| match v {
                        Some(Val::Str(s)) => Some(s.as_str()),
                        _ => None,
                    })
                    .collect();
                let found = |term: &String| values.iter().any(|v| v.contains(term.as_str()));
                all.iter().all(found) && (any.is_empty() || any.iter().any(found))
            }
        }
    }

    fn tests(&self) -> Vec<&Test> {
        let mut out = Vec::new();
        if let Pattern::Json(seq) = self {
            seq.tests(&mut out);
        }
        out
    }
}

/// Candidate values of one field, given every test on it.
fn candidates(field: &str, tests: &[&Test]) -> Vec<Option<Val>> {
    let mut out: Vec<Option<Val>> = Vec::new();
    let push = |v: Option<Val>, out: &mut Vec<Option<Val>>| {
        if !out.contains(&v) {
            out.push(v);
        }
    };
    if !ALWAYS_PRESENT.contains(&field) {
        push(None, &mut out);
    }
    let constants: Vec<&str> = tests
        .iter()
        .filter_map(|t| match &t.cond {
            Cond::Eq(p) | Cond::Ne(p) => Some(p.as_str()),
            _ => None,
        })
        .collect();
    let mut other = String::from("zz-other");
    while constants.iter().any(|c| glob(c, &other)) && other.len() < 64 {
        other.push('z');
    }
    push(Some(Val::Str(other)), &mut out);
    let bare: Vec<String> = constants.iter().map(|c| c.replace('*', "")).collect();
    for c in &constants {
        push(Some(Val::Str(c.replace('*', ""))), &mut out);
        if c.contains('*') {
            push(Some(Val::Str(c.replace('*', "Q"))), &mut out);
        }
    }
    if constants.iter().any(|c| c.contains('*')) {
        for a in &bare {
            for b in &bare {
                if a != b {
                    push(Some(Val::Str(format!("{a}{b}"))), &mut out);
                }
            }
        }
    }
    if tests.iter().any(|t| {
        matches!(
            t.cond,
            Cond::Exists | Cond::NotExists | Cond::IsNull | Cond::IsTrue | Cond::IsFalse
        )
    }) {
        for v in [Val::Null, Val::Bool(true), Val::Bool(false)] {
            push(Some(v), &mut out);
        }
    }
    // Each numeric constant, one number past either end, and one between
    // each two: a comparison's truth changes only at a constant.
    let mut numbers: Vec<f64> = tests
        .iter()
        .filter_map(|t| match t.cond {
            Cond::Num(_, c) => Some(c),
            _ => None,
        })
        .collect();
    numbers.sort_by(f64::total_cmp);
    numbers.dedup();
    if let (Some(low), Some(high)) = (numbers.first(), numbers.last()) {
        push(Some(Val::Num(low - 1.0)), &mut out);
        push(Some(Val::Num(high + 1.0)), &mut out);
    }
    for (i, n) in numbers.iter().enumerate() {
        push(Some(Val::Num(*n)), &mut out);
        if let Some(next) = numbers.get(i + 1) {
            push(Some(Val::Num((n + next) / 2.0)), &mut out);
        }
    }
    out
}

fn describe(event: &Event) -> String {
    let parts: Vec<String> = event
        .iter()
        .map(|(field, v)| match v {
            None => format!("no {field}"),
            Some(Val::Str(s)) => format!("{field}={s}"),
            Some(Val::Num(n)) => format!("{field}={n}"),
            Some(Val::Bool(b)) => format!("{field}={b}"),
            Some(Val::Null) => format!("{field}=null"),
        })
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// Whether `filter` (a metric filter's pattern) matches every event
/// `reference` matches.
pub(crate) fn covers(filter: &str, reference: &Pattern) -> Coverage {
    let filter = match parse(filter) {
        Ok(p) => p,
        Err(why) => return Coverage::Undecided(format!("the pattern uses {why}")),
    };
    let mut by_field: BTreeMap<&str, Vec<&Test>> = BTreeMap::new();
    for t in reference.tests().into_iter().chain(filter.tests()) {
        by_field.entry(t.field.as_str()).or_default().push(t);
    }
    let fields: Vec<(&str, Vec<Option<Val>>)> = by_field.iter().map(|(f, t)| (*f, candidates(f, t))).collect();
    let total = fields.iter().try_fold(1usize, |n, (_, c)| {
        n.checked_mul(c.len()).filter(|n| *n <= MAX_WITNESSES)
    });
    if total.is_none() {
        return Coverage::Undecided(format!(
            "more than {MAX_WITNESSES} combinations of field values to compare"
        ));
    }
    let mut index = vec![0usize; fields.len()];
    let mut undecided = None;
    loop {
        let event: Event = fields
            .iter()
            .zip(&index)
            .map(|((f, c), i)| (f.to_string(), c[*i].clone()))
            .collect();
        // A reading is AWS's, the same for both patterns.
        let missed = READINGS.map(|r| reference.matches(&event, r) && !filter.matches(&event, r));
        if missed.iter().all(|m| *m) {
            return Coverage::Misses(describe(&event));
        }
        if missed.iter().any(|m| *m) && undecided.is_none() {
            undecided = Some(format!(
                "whether it matches {} depends on how AWS reads && and || mixed without parentheses, \
                 or != on an absent field",
                describe(&event)
            ));
        }
        // The next combination, odometer style.
        let mut k = 0;
        loop {
            if k == index.len() {
                return undecided.map_or(Coverage::Covers, Coverage::Undecided);
            }
            index[k] += 1;
            if index[k] < fields[k].1.len() {
                break;
            }
            index[k] = 0;
            k += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(text: &str) -> Pattern {
        parse(text).unwrap()
    }

    #[test]
    fn globs_match_prefixes_suffixes_and_infixes() {
        assert!(glob("AccessDenied*", "AccessDeniedException"));
        assert!(glob("*UnauthorizedOperation", "Client.UnauthorizedOperation"));
        assert!(glob("a*b*c", "aXbYc"));
        assert!(!glob("a*b*c", "acb"));
        assert!(glob("*", ""));
        assert!(!glob("Access", "AccessDenied"));
    }

    #[test]
    fn reformatted_and_reordered_patterns_cover_each_other() {
        let cis = reference(r#"{ ($.eventName = "CreateTrail") || ($.eventName = "DeleteTrail") }"#);
        assert_eq!(
            covers("{$.eventName=DeleteTrail||$.eventName=CreateTrail}", &cis),
            Coverage::Covers
        );
        assert_eq!(covers(r#"{ $.eventName = "*Trail" }"#, &cis), Coverage::Covers);
        assert_eq!(covers("", &cis), Coverage::Covers);
        assert_eq!(covers("?CreateTrail ?DeleteTrail", &cis), Coverage::Covers);
        assert!(matches!(covers("CreateTrail", &cis), Coverage::Misses(_)));
    }

    #[test]
    fn a_look_alike_that_misses_one_event_is_caught_with_the_event() {
        let cis = reference(r#"{ ($.eventName = "CreateTrail") || ($.eventName = "DeleteTrail") }"#);
        let Coverage::Misses(example) = covers(r#"{ ($.eventName = "CreateTrail") }"#, &cis) else {
            panic!("a filter without DeleteTrail was taken as covering");
        };
        assert!(example.contains("eventName=DeleteTrail"), "{example}");
        // && where || was meant: looks the same, matches nothing CIS wants.
        assert!(matches!(
            covers(
                r#"{ ($.eventName = "CreateTrail") && ($.eventName = "DeleteTrail") }"#,
                &cis
            ),
            Coverage::Misses(_)
        ));
        // A narrower wildcard.
        let denied = reference(r#"{ $.errorCode = "AccessDenied*" }"#);
        assert!(matches!(
            covers(r#"{ $.errorCode = "AccessDenied" }"#, &denied),
            Coverage::Misses(_)
        ));
        assert_eq!(covers(r#"{ $.errorCode = "*Denied*" }"#, &denied), Coverage::Covers);
        // An extra condition on a field CIS leaves free narrows the filter.
        assert!(matches!(
            covers(
                r#"{ $.errorCode = "AccessDenied*" && $.awsRegion = "us-east-1" }"#,
                &denied
            ),
            Coverage::Misses(_)
        ));
        // Excluding a suffix CIS's events can have.
        assert!(matches!(
            covers(
                r#"{ $.errorCode = "AccessDenied*" && $.errorCode != "*Exception" }"#,
                &denied
            ),
            Coverage::Misses(_)
        ));
    }

    #[test]
    fn postfix_tests_and_absent_fields_count() {
        let root = reference(
            r#"{ ($.userIdentity.type = "Root") && ($.userIdentity.invokedBy NOT EXISTS) && ($.eventType != "AwsServiceEvent") }"#,
        );
        assert_eq!(
            covers(
                r#"{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }"#,
                &root
            ),
            Coverage::Covers
        );
        assert_eq!(covers(r#"{ $.userIdentity.type = "Root" }"#, &root), Coverage::Covers);
        // invokedBy = "*" requires the field: it misses direct root use.
        assert!(matches!(
            covers(
                r#"{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy = "*" }"#,
                &root
            ),
            Coverage::Misses(_)
        ));
    }

    #[test]
    fn unparenthesized_mixes_are_read_both_ways() {
        let intended = reference(
            r#"{ (($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*")) && ($.eventName != "HeadBucket") }"#,
        );
        // CIS's own text mixes them; it covers its intent under both readings.
        assert_eq!(
            covers(
                r#"{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") && ($.eventName != "HeadBucket") }"#,
                &intended
            ),
            Coverage::Covers
        );
        // With && first this is `A || (X && B)`, which counts every A; read
        // left to right it is `(A || X) && B`, which counts none.
        let a = reference(r#"{ $.eventName = "A" }"#);
        assert!(matches!(
            covers(r#"{ $.eventName = "A" || $.errorCode = "X" && $.eventName = "B" }"#, &a),
            Coverage::Undecided(_)
        ));
    }

    #[test]
    fn what_is_not_interpreted_is_said() {
        let cis = reference(r#"{ $.eventName = "CreateTrail" }"#);
        for (pattern, words) in [
            ("{ $.eventName = %Create.*% }", "regular expression"),
            ("[ip, user, ...]", "space-delimited"),
            ("CreateTrail -DeleteTrail", "exclusion"),
            ("{ $.eventName = ", "brace"),
            ("{ $.eventName = }", "value"),
            ("{ ($.eventName = A }", "parenthesis"),
        ] {
            match covers(pattern, &cis) {
                Coverage::Undecided(why) => assert!(why.contains(words), "{pattern}: {why}"),
                other => panic!("{pattern}: {other:?}"),
            }
        }
    }

    #[test]
    fn term_patterns_match_the_values_the_reference_fixes() {
        let cis = reference(r#"{ ($.eventName = "ConsoleLogin") && ($.errorMessage = "Failed authentication") }"#);
        assert_eq!(covers(r#""Failed authentication""#, &cis), Coverage::Covers);
        assert_eq!(covers("ConsoleLogin ?Failed ?Nothing", &cis), Coverage::Covers);
        assert!(matches!(covers("ConsoleLogin Success", &cis), Coverage::Misses(_)));
    }

    #[test]
    fn numbers_compare_as_numbers() {
        let big = reference("{ $.bytes > 100 }");
        assert_eq!(covers("{ $.bytes >= 100 }", &big), Coverage::Covers);
        assert!(matches!(covers("{ $.bytes > 200 }", &big), Coverage::Misses(_)));
        assert!(matches!(covers("{ $.bytes >= 100.5 }", &big), Coverage::Misses(_)));
    }
}
