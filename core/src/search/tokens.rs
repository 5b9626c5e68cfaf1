//! Tokens of the full-text index, and queries over them.
//!
//! Text is first folded ([`super::fold`]: NFKC, lower case, traditional →
//! simplified, separators between runs of letters and digits). Each run then
//! gives, at every character, the two characters starting there, or the last
//! character alone at the run's end (`电动车` → `电动 动车 车`, `xm4` →
//! `xm m4 4`). The same rule holds for Chinese, Latin, digits and any mix
//! (`e充电` → `e充 充电 电`), so every substring typed is found inside
//! words and model codes, not only at their start.
//!
//! A query is split at white space into **words**; each word is folded the
//! same way. A listing is found when every word is a substring of one of
//! its fields (title, description, …: never two halves from two fields);
//! a word's punctuation must meet a separator in the field (`1.5` finds
//! `1.5米`, not `15元`). The index finds the candidates:
//!
//! * a run of one character: a prefix term (`"车"*`: every pair starting
//!   with it, and the run-final single character);
//! * a run of two: the pair itself, exactly;
//! * a longer run: every pair of it (`"电动" AND "动车"`).
//!
//! Runs of one or two characters are answered exactly by the index; for the
//! rest [`Query::matches`] checks each candidate's fields (the pairs can
//! occur apart, and the word must stand in one field).
//!
//! Every term goes to FTS5 as a double-quoted string literal, so whatever
//! the user typed (`AND`, `NEAR(`, `col:x`, `"`, `*`) is searched as text and
//! never breaks the query. The index uses FTS5's `ascii` tokenizer, which
//! keeps every non-ASCII character and every ASCII letter or digit as a
//! token character, and splits only on the spaces put here.

use super::fold::{fold, fold_into};

/// Upper bound on the number of terms one FTS5 expression holds.
///
/// A pasted paragraph would otherwise become a huge AND that FTS5 must
/// evaluate term by term; the first terms are kept, and the words are still
/// checked in full ([`Query::matches`]), so a longer query never finds more.
pub const MAX_QUERY_TERMS: usize = 32;

/// Appends the tokens of one folded run to `out`.
fn push_run_tokens(run: &str, out: &mut String) {
    let mut chars = run.chars().peekable();
    while let Some(c) = chars.next() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push(c);
        if let Some(&next) = chars.peek() {
            out.push(next);
        }
    }
}

/// The tokens of `text` for an FTS5 column with the `ascii` tokenizer.
///
/// ```
/// use fushi_core::search::tokens::index_tokens;
/// assert_eq!(index_tokens("USB風扇!"), "us sb b风 风扇 扇");
/// ```
pub fn index_tokens(text: &str) -> String {
    let folded = fold(text);
    let mut out = String::with_capacity(folded.len() * 2);
    for run in folded.split(' ').filter(|r| !r.is_empty()) {
        push_run_tokens(run, &mut out);
    }
    out
}

/// The tokens of several fields, one after the other (no pair spans two).
pub fn index_tokens_of(fields: &[&str]) -> String {
    let mut folded = String::new();
    for f in fields {
        fold_into(f, &mut folded);
    }
    let mut out = String::with_capacity(folded.len() * 2);
    for run in folded.split(' ').filter(|r| !r.is_empty()) {
        push_run_tokens(run, &mut out);
    }
    out
}

/// A parsed search: the folded words and the FTS5 expression that finds
/// their candidates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// The folded words (runs joined by one space).
    words: Vec<String>,
    /// The FTS5 `MATCH` expression.
    fts: String,
    /// Whether the index alone answers it exactly (every word one run of
    /// at most two characters).
    exact: bool,
}

/// Appends one FTS5 string literal: the term in double quotes, any internal
/// `"` doubled as FTS5 requires.
fn push_literal(out: &mut String, term: &str, prefix: bool) {
    if !out.is_empty() {
        out.push_str(" AND ");
    }
    out.push('"');
    for c in term.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
    if prefix {
        out.push('*');
    }
}

impl Query {
    /// Parse what a user typed; `None` when it holds no letter, digit or
    /// Chinese character (nothing to search for).
    ///
    /// ```
    /// use fushi_core::search::tokens::Query;
    /// let q = Query::parse("iPhone 充电器").unwrap();
    /// assert_eq!(q.fts(), "\"ip\" AND \"ph\" AND \"ho\" AND \"on\" AND \"ne\" AND \"充电\" AND \"电器\"");
    /// assert!(Query::parse(" ?! ").is_none());
    /// ```
    pub fn parse(input: &str) -> Option<Query> {
        let mut words: Vec<String> = Vec::new();
        for w in input.split(char::is_whitespace) {
            let f = fold(w);
            if !f.is_empty() && !words.contains(&f) {
                words.push(f);
            }
        }
        if words.is_empty() {
            return None;
        }
        let mut fts = String::new();
        let mut terms: Vec<(String, bool)> = Vec::new();
        let mut exact = true;
        for w in &words {
            let runs: Vec<&str> = w.split(' ').collect();
            if runs.len() > 1 {
                exact = false;
            }
            for run in runs {
                let chars: Vec<char> = run.chars().collect();
                match chars.len() {
                    0 => {}
                    1 => terms.push((run.to_owned(), true)),
                    n => {
                        if n > 2 {
                            exact = false;
                        }
                        for pair in chars.windows(2) {
                            terms.push((pair.iter().collect(), false));
                        }
                    }
                }
            }
        }
        let mut seen = std::collections::HashSet::new();
        terms.retain(|t| seen.insert(t.clone()));
        if terms.len() > MAX_QUERY_TERMS {
            terms.truncate(MAX_QUERY_TERMS);
            exact = false;
        }
        for (term, prefix) in &terms {
            push_literal(&mut fts, term, *prefix);
        }
        Some(Query { words, fts, exact })
    }

    /// The FTS5 `MATCH` expression of the candidates.
    pub fn fts(&self) -> &str {
        &self.fts
    }

    /// The folded words.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// Whether the index alone answers the query exactly; otherwise each
    /// candidate goes through [`Query::matches`].
    pub fn exact(&self) -> bool {
        self.exact
    }

    /// The words in one string, for the SQL function that checks candidates
    /// ([`Query::matches_packed`]).
    pub fn packed(&self) -> String {
        self.words.join("\n")
    }

    /// Whether a listing with these fields is found: every word is a
    /// substring of one folded field.
    pub fn matches<'a>(&self, fields: impl IntoIterator<Item = &'a str>) -> bool {
        words_in_fields(self.words.iter().map(String::as_str), fields)
    }

    /// [`Query::matches`] for the words of [`Query::packed`].
    pub fn matches_packed<'a>(packed: &str, fields: impl IntoIterator<Item = &'a str>) -> bool {
        words_in_fields(packed.split('\n'), fields)
    }
}

/// Whether every (folded) word is a substring of one folded field.
fn words_in_fields<'a, 'w>(
    mut words: impl Iterator<Item = &'w str>,
    fields: impl IntoIterator<Item = &'a str>,
) -> bool {
    let folded: Vec<String> = fields.into_iter().map(fold).collect();
    words.all(|w| folded.iter().any(|f| f.contains(w)))
}

/// The FTS5 expression of what a user typed (see [`Query::parse`]), or
/// `None` when there is nothing to search for.
pub fn match_query(user_input: &str) -> Option<String> {
    Query::parse(user_input).map(|q| q.fts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn index_pairs_and_run_ends() {
        assert_eq!(index_tokens("车"), "车");
        assert_eq!(index_tokens("充电"), "充电 电");
        assert_eq!(index_tokens("婴儿车"), "婴儿 儿车 车");
        assert_eq!(index_tokens("WH-1000XM4"), "wh h 10 00 00 0x xm m4 4");
        assert_eq!(index_tokens("e充电"), "e充 充电 电");
        assert_eq!(index_tokens("  ,.;!?（）【】  "), "");
        assert_eq!(index_tokens_of(&["标题", "", "描述"]), "标题 题 描述 述");
    }

    #[test]
    fn index_folds_forms() {
        assert_eq!(index_tokens("ＡＢ"), "ab b");
        assert_eq!(index_tokens("手機"), "手机 机");
        assert_eq!(index_tokens("①"), "1");
    }

    #[test]
    fn query_shapes() {
        let q = Query::parse("车").unwrap();
        assert_eq!(q.fts(), "\"车\"*");
        assert!(q.exact());
        let q = Query::parse("充电").unwrap();
        assert_eq!(q.fts(), "\"充电\"");
        assert!(q.exact());
        let q = Query::parse("电动车").unwrap();
        assert_eq!(q.fts(), "\"电动\" AND \"动车\"");
        assert!(!q.exact());
        let q = Query::parse("1.5").unwrap();
        assert_eq!(q.fts(), "\"1\"* AND \"5\"*");
        assert_eq!(q.words(), ["1 5"]);
        assert!(!q.exact());
        let q = Query::parse("NEAR(\"a\" b)").unwrap();
        assert_eq!(
            q.fts(),
            "\"ne\" AND \"ea\" AND \"ar\" AND \"a\"* AND \"b\"*"
        );
    }

    #[test]
    fn query_none_for_nothing() {
        for s in ["", "   ", "\t\n", "\"", "*", "()", "-^:", "，。！？", "　"] {
            assert_eq!(Query::parse(s), None, "{s:?}");
        }
    }

    #[test]
    fn matches_needs_each_word_in_one_field() {
        let q = Query::parse("电动车").unwrap();
        assert!(q.matches(["出电动车", "x"]));
        assert!(!q.matches(["电动", "动车"]));
        assert!(!q.matches(["电动 车"]));
        let q = Query::parse("1.5").unwrap();
        assert!(q.matches(["长1.5米"]));
        assert!(!q.matches(["15元"]));
        let q = Query::parse("手機 殼").unwrap();
        assert!(q.matches(["手机", "送壳"]));
        assert!(Query::matches_packed(&q.packed(), ["手机壳"]));
    }

    #[test]
    fn literal_doubles_quotes() {
        let mut s = String::new();
        push_literal(&mut s, "a\"b", false);
        push_literal(&mut s, "\"", true);
        assert_eq!(s, "\"a\"\"b\" AND \"\"\"\"*");
    }

    #[test]
    fn query_term_budget() {
        let q = Query::parse(&"好坏".repeat(1000)).unwrap();
        assert!(q.fts().matches(" AND ").count() < MAX_QUERY_TERMS);
        let long: String = (0..200u32)
            .filter_map(|i| char::from_u32(0x4e00 + i))
            .collect();
        let q = Query::parse(&long).unwrap();
        assert_eq!(q.fts().matches(" AND ").count(), MAX_QUERY_TERMS - 1);
        assert!(!q.exact());
    }

    /// Tokens go through FTS5's `ascii` tokenizer unchanged: each is one
    /// FTS5 token, and a query finds what it should in a real table.
    #[test]
    fn tokens_survive_the_ascii_tokenizer() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE VIRTUAL TABLE t USING fts5(title, body, detail=column, tokenize='ascii');
             CREATE VIRTUAL TABLE v USING fts5vocab(t, row);",
        )
        .unwrap();
        let text = "Straße ÉCOLE 𠀀𠀁 カメラ 한국 WH-1000XM4 電動車";
        c.execute(
            "INSERT INTO t (rowid, title, body) VALUES (1, ?1, '')",
            [index_tokens(text)],
        )
        .unwrap();
        let n: i64 = c
            .query_row("SELECT count(*) FROM v", [], |r| r.get(0))
            .unwrap();
        let want = index_tokens(text)
            .split(' ')
            .collect::<std::collections::HashSet<_>>()
            .len();
        assert_eq!(n as usize, want);
        for (q, hits) in [
            ("xm4", 1),
            ("电动车", 1),
            ("école", 1),
            ("ß", 1),
            ("𠀁", 1),
            ("メラ", 1),
            ("动", 1),
            ("x", 1),
            ("zz", 0),
        ] {
            let m = match_query(q).unwrap();
            let n: i64 = c
                .query_row("SELECT count(*) FROM t WHERE t MATCH ?1", [&m], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(n, hits, "{q}: {m}");
        }
    }
}
