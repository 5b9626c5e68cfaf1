//! Chinese-aware tokenisation for SQLite FTS5 with the `unicode61` tokenizer.
//!
//! FTS5's `unicode61` tokenizer does not segment Chinese text: a run of Han
//! characters with no spaces becomes one huge token, so a search for "充电"
//! would never find "电动车充电桩". FTS5's `trigram` tokenizer finds nothing for
//! queries shorter than three characters, and most Chinese words are one or
//! two characters long. So we pre-tokenise in Rust and let `unicode61` only
//! split on the spaces we insert:
//!
//! * [`index_tokens`] turns listing text into the string stored in the FTS
//!   column: each run of CJK characters yields every single character **and**
//!   every overlapping bigram; each Latin/digit run yields one lowercase word.
//! * [`match_query`] turns whatever a user typed into a safe FTS5 `MATCH`
//!   expression over those tokens.
//!
//! `unicode61` treats CJK characters as token characters, so a space-separated
//! bigram such as `充电` stays a single FTS5 token (the tests check this
//! against a real FTS5 table).
//!
//! Normalisation is "NFKC-ish": full-width ASCII (`ＡＢＣ１２`) and the
//! ideographic space are folded to ASCII, letters are lowercased, and
//! everything that is not a letter or number (Unicode general categories
//! `L*`/`N*`, the same rule as `unicode61`) is a separator and dropped. Both
//! functions apply the same rules, so a query always tokenises the same way
//! as the text it should find, and no query term can vanish inside FTS5.

use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

/// Upper bound on the number of terms [`match_query`] puts in one expression.
///
/// A pasted paragraph would otherwise become a huge AND that FTS5 must
/// evaluate term by term; the first terms are kept, the rest ignored.
pub const MAX_QUERY_TERMS: usize = 32;

/// What a character is, for tokenisation purposes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Class {
    /// Han, kana or hangul: indexed as unigrams and bigrams.
    Cjk,
    /// Any other letter or digit: part of a lowercase word.
    Word,
    /// Punctuation, symbols, spaces, controls: dropped.
    Sep,
}

/// Folds full-width ASCII (U+FF01..=U+FF5E) to ASCII and the ideographic
/// space (U+3000) to a plain space; other characters are returned unchanged.
#[inline]
fn fold_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// True for Han ideographs, kana and hangul letters.
#[inline]
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3005}'..='\u{3007}'     // 々 〆 〇
        | '\u{3041}'..='\u{3098}'   // hiragana (without the combining/spacing sound marks)
        | '\u{309D}'..='\u{309F}'   // hiragana iteration marks, yori
        | '\u{30A1}'..='\u{30FA}'   // katakana (without ゠ U+30A0 and ・ U+30FB)
        | '\u{30FC}'..='\u{30FF}'   // prolonged sound mark, iteration marks, koto
        | '\u{31F0}'..='\u{31FF}'   // katakana phonetic extensions
        | '\u{3400}'..='\u{4DBF}'   // CJK extension A
        | '\u{4E00}'..='\u{9FFF}'   // CJK unified ideographs
        | '\u{F900}'..='\u{FAFF}'   // CJK compatibility ideographs
        | '\u{FF66}'..='\u{FF9F}'   // half-width katakana
        | '\u{1100}'..='\u{11FF}'   // hangul jamo
        | '\u{3131}'..='\u{318E}'   // hangul compatibility jamo
        | '\u{AC00}'..='\u{D7A3}'   // hangul syllables
        | '\u{20000}'..='\u{2FA1F}' // CJK extensions B-F, compatibility supplement
        | '\u{30000}'..='\u{323AF}' // CJK extensions G-H
    )
}

/// Classifies an already width-folded character.
///
/// Letters and numbers (Unicode general categories `L*` and `N*`) are token
/// characters, as for SQLite's `unicode61`; everything else separates
/// tokens. A test checks every Unicode scalar value against the real
/// tokenizer: a character we keep must be a token character to `unicode61`,
/// otherwise a query term could reduce to an empty phrase and make an AND
/// query match nothing.
#[inline]
fn classify(c: char) -> Class {
    if c.is_ascii() {
        return if c.is_ascii_alphanumeric() {
            Class::Word
        } else {
            Class::Sep
        };
    }
    if is_cjk(c) {
        return Class::Cjk;
    }
    match c.general_category_group() {
        GeneralCategoryGroup::Letter | GeneralCategoryGroup::Number => {
            // Letters today that were spacing marks (Mc) in the Unicode 6.1
            // tables SQLite's unicode61 is built from: New Tai Lue vowel
            // signs and two Vedic signs.
            if matches!(c, '\u{19B0}'..='\u{19C0}' | '\u{19C8}'..='\u{19C9}' | '\u{1CF2}'..='\u{1CF3}')
            {
                Class::Sep
            } else {
                Class::Word
            }
        }
        _ => Class::Sep,
    }
}

/// Pushes the lowercase form of a word character.
#[inline]
fn push_lower(out: &mut String, c: char) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
    } else {
        out.extend(c.to_lowercase());
    }
}

/// Returns the text to store in an FTS5 column that uses the `unicode61`
/// tokenizer.
///
/// Every CJK run yields each character and each overlapping bigram
/// (`电动车` → `电 电动 动 动车 车`); every other run of letters/digits yields
/// one lowercase word (`iPhone` → `iphone`, `ＵＳＢ３` → `usb3`). Punctuation
/// and symbols are dropped. Tokens are separated by single spaces; the result
/// is empty when the text has no letters, digits or CJK characters.
///
/// ```
/// use fushi_core::search::tokens::index_tokens;
/// assert_eq!(index_tokens("USB风扇!"), "usb 风 风扇 扇");
/// ```
pub fn index_tokens(text: &str) -> String {
    // A CJK char (3 bytes) becomes itself plus a bigram plus two spaces: ~4x.
    let mut out = String::with_capacity(text.len().saturating_mul(3));
    let mut prev = Class::Sep;
    let mut prev_cjk = '\0';
    for raw in text.chars() {
        let c = fold_width(raw);
        let class = classify(c);
        match class {
            Class::Cjk => {
                if !out.is_empty() {
                    out.push(' ');
                }
                if prev == Class::Cjk {
                    out.push(prev_cjk);
                    out.push(c);
                    out.push(' ');
                }
                out.push(c);
                prev_cjk = c;
            }
            Class::Word => {
                if prev != Class::Word && !out.is_empty() {
                    out.push(' ');
                }
                push_lower(&mut out, c);
            }
            Class::Sep => {}
        }
        prev = class;
    }
    out
}

/// Appends one FTS5 string literal: the token in double quotes, with any
/// internal `"` doubled as FTS5 requires.
fn push_literal(out: &mut String, token: &str, prefix: bool) {
    if !out.is_empty() {
        out.push_str(" AND ");
    }
    out.push('"');
    for c in token.chars() {
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

/// Turns user input into a safe FTS5 `MATCH` expression over text indexed with
/// [`index_tokens`], or `None` when there is nothing to search for (empty,
/// whitespace-only or punctuation-only input).
///
/// The input is tokenised exactly like indexed text, then:
///
/// * a CJK run of one character searches that character (`车`);
/// * a CJK run of two or more characters searches all its overlapping bigrams
///   (`婴儿车` → `"婴儿" AND "儿车"`), so the characters must appear in that
///   order in the listing (bigram-level, not phrase-level, precision);
/// * a Latin/digit word is a **prefix** search (`"iph"*` finds `iphone`), so
///   results appear while the user is still typing;
/// * all terms are combined with `AND`, at most [`MAX_QUERY_TERMS`] of them.
///
/// Every term is emitted as a double-quoted FTS5 string literal, so operators
/// and syntax typed by the user (`AND`, `NEAR(`, `col:x`, `"`, `*`, `^`, `-`,
/// parentheses…) are searched as plain text and can never cause an FTS5
/// syntax error.
///
/// ```
/// use fushi_core::search::tokens::match_query;
/// assert_eq!(match_query("iPhone 充电器").as_deref(),
///            Some("\"iphone\"* AND \"充电\" AND \"电器\""));
/// assert_eq!(match_query(" ?! "), None);
/// ```
pub fn match_query(user_input: &str) -> Option<String> {
    let mut out = String::with_capacity(user_input.len().saturating_mul(3) + 8);
    let mut word = String::new();
    let mut terms = 0usize;
    // Length of the current CJK run (saturating at 2: we only need 0, 1, ≥2)
    // and its last character.
    let mut run_len = 0u8;
    let mut last_cjk = '\0';
    let mut buf = [0u8; 8];

    // Flushes whatever run just ended. Returns false once the term budget is
    // spent.
    let flush = |out: &mut String,
                 word: &mut String,
                 run_len: &mut u8,
                 last_cjk: char,
                 terms: &mut usize,
                 buf: &mut [u8; 8]| {
        if !word.is_empty() {
            push_literal(out, word, true);
            word.clear();
            *terms += 1;
        }
        if *run_len == 1 {
            push_literal(out, last_cjk.encode_utf8(buf), false);
            *terms += 1;
        }
        *run_len = 0;
    };

    for raw in user_input.chars() {
        if terms >= MAX_QUERY_TERMS {
            break;
        }
        let c = fold_width(raw);
        match classify(c) {
            Class::Cjk => {
                if !word.is_empty() {
                    flush(
                        &mut out,
                        &mut word,
                        &mut run_len,
                        last_cjk,
                        &mut terms,
                        &mut buf,
                    );
                }
                if run_len >= 1 {
                    let n = last_cjk.len_utf8();
                    last_cjk.encode_utf8(&mut buf[..4]);
                    c.encode_utf8(&mut buf[n..]);
                    let bigram = std::str::from_utf8(&buf[..n + c.len_utf8()]).unwrap_or("");
                    push_literal(&mut out, bigram, false);
                    terms += 1;
                    run_len = 2;
                } else {
                    run_len = 1;
                }
                last_cjk = c;
            }
            Class::Word => {
                if run_len > 0 {
                    flush(
                        &mut out,
                        &mut word,
                        &mut run_len,
                        last_cjk,
                        &mut terms,
                        &mut buf,
                    );
                }
                push_lower(&mut word, c);
            }
            Class::Sep => {
                flush(
                    &mut out,
                    &mut word,
                    &mut run_len,
                    last_cjk,
                    &mut terms,
                    &mut buf,
                );
            }
        }
    }
    if terms < MAX_QUERY_TERMS {
        flush(
            &mut out,
            &mut word,
            &mut run_len,
            last_cjk,
            &mut terms,
            &mut buf,
        );
    }

    if out.is_empty() {
        None
    } else {
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn index_cjk_unigrams_and_bigrams() {
        assert_eq!(index_tokens("车"), "车");
        assert_eq!(index_tokens("充电"), "充 充电 电");
        assert_eq!(index_tokens("婴儿车"), "婴 婴儿 儿 儿车 车");
    }

    #[test]
    fn index_mixed_and_punctuation() {
        assert_eq!(index_tokens("iPhone 充电器"), "iphone 充 充电 电 电器 器");
        assert_eq!(index_tokens("USB风扇"), "usb 风 风扇 扇");
        assert_eq!(index_tokens("3号楼，A座"), "3 号 号楼 楼 a 座");
        assert_eq!(
            index_tokens("童车（九成新）！"),
            "童 童车 车 九 九成 成 成新 新"
        );
        assert_eq!(index_tokens("  ,.;!?（）【】  "), "");
        assert_eq!(index_tokens(""), "");
    }

    #[test]
    fn index_folds_full_width_and_case() {
        assert_eq!(index_tokens("ＡＢＣ１２"), "abc12");
        assert_eq!(index_tokens("Ｔｙｐｅ－Ｃ　线"), "type c 线");
        assert_eq!(index_tokens("ÉCOLE Straße"), "école straße");
    }

    #[test]
    fn index_kana_hangul_and_extension_b() {
        assert_eq!(index_tokens("カメラ"), "カ カメ メ メラ ラ");
        assert_eq!(index_tokens("한국"), "한 한국 국");
        assert_eq!(index_tokens("𠀀𠀁"), "𠀀 𠀀𠀁 𠀁");
    }

    #[test]
    fn query_shapes() {
        assert_eq!(match_query("车").as_deref(), Some("\"车\""));
        assert_eq!(match_query("充电").as_deref(), Some("\"充电\""));
        assert_eq!(
            match_query("电动车充电").as_deref(),
            Some("\"电动\" AND \"动车\" AND \"车充\" AND \"充电\"")
        );
        assert_eq!(
            match_query("USB风扇").as_deref(),
            Some("\"usb\"* AND \"风扇\"")
        );
        assert_eq!(
            match_query("车 ＵＳＢ").as_deref(),
            Some("\"车\" AND \"usb\"*")
        );
        assert_eq!(
            match_query("NEAR(\"a\" b)").as_deref(),
            Some("\"near\"* AND \"a\"* AND \"b\"*")
        );
    }

    #[test]
    fn query_none_for_nothing() {
        for s in ["", "   ", "\t\n", "\"", "*", "()", "-^:", "，。！？", "　"] {
            assert_eq!(match_query(s), None, "{s:?}");
        }
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
        let long = "好".repeat(1000);
        let q = match_query(&long).unwrap();
        assert_eq!(q.matches(" AND ").count(), MAX_QUERY_TERMS - 1);
        let words = "a ".repeat(1000);
        let q = match_query(&words).unwrap();
        assert_eq!(q.matches(" AND ").count(), MAX_QUERY_TERMS - 1);
    }

    /// An FTS5 table over pre-tokenised text, with a few listings.
    fn fts() -> Connection {
        let db = Connection::open_in_memory().unwrap();
        db.execute_batch("CREATE VIRTUAL TABLE doc USING fts5(body, tokenize = 'unicode61');")
            .unwrap();
        let docs = [
            (1, "九成新婴儿车，可折叠"),
            (2, "儿童自行车 童车"),
            (3, "电动车充电桩 免费充电"),
            (4, "iPhone 充电器 原装"),
            (5, "USB风扇（小米）"),
            (6, "清凉驿站：饮用水、座椅、手机充电"),
            (7, "Type-C 数据线"),
            (8, "汽车"),
        ];
        for (id, text) in docs {
            db.execute(
                "INSERT INTO doc(rowid, body) VALUES (?1, ?2)",
                (id, index_tokens(text)),
            )
            .unwrap();
        }
        db
    }

    fn search(db: &Connection, input: &str) -> Vec<i64> {
        let Some(q) = match_query(input) else {
            return Vec::new();
        };
        let mut st = db
            .prepare("SELECT rowid FROM doc WHERE doc MATCH ?1 ORDER BY rowid")
            .unwrap();
        st.query_map([q], |r| r.get(0))
            .unwrap()
            .collect::<Result<Vec<i64>, _>>()
            .unwrap()
    }

    #[test]
    fn fts5_is_compiled_in() {
        let db = Connection::open_in_memory().unwrap();
        let on: i64 = db
            .query_row("SELECT sqlite_compileoption_used('ENABLE_FTS5')", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(on, 1);
    }

    #[test]
    fn unicode61_keeps_bigrams_as_one_token() {
        let db = Connection::open_in_memory().unwrap();
        db.execute_batch(
            "CREATE VIRTUAL TABLE v USING fts5(body, tokenize = 'unicode61');
             CREATE VIRTUAL TABLE vv USING fts5vocab(v, 'row');",
        )
        .unwrap();
        db.execute(
            "INSERT INTO v(body) VALUES (?1)",
            [index_tokens("充电器 USB")],
        )
        .unwrap();
        let mut st = db.prepare("SELECT term FROM vv ORDER BY term").unwrap();
        let mut terms: Vec<String> = st
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        terms.sort();
        let mut want = vec!["usb", "充", "充电", "电", "电器", "器"];
        want.sort();
        assert_eq!(terms, want);
    }

    #[test]
    fn fts5_one_char() {
        let db = fts();
        assert_eq!(search(&db, "车"), vec![1, 2, 3, 8]);
        assert_eq!(search(&db, "水"), vec![6]);
    }

    #[test]
    fn fts5_two_chars() {
        let db = fts();
        assert_eq!(search(&db, "充电"), vec![3, 4, 6]);
        assert_eq!(search(&db, "童车"), vec![2]);
        assert_eq!(search(&db, "汽车"), vec![8]);
    }

    #[test]
    fn fts5_three_plus_chars() {
        let db = fts();
        assert_eq!(search(&db, "婴儿车"), vec![1]);
        assert_eq!(search(&db, "电动车充电"), vec![3]);
        assert_eq!(search(&db, "充电器"), vec![4]);
        assert_eq!(search(&db, "自行车"), vec![2]);
        assert_eq!(search(&db, "摩托车"), Vec::<i64>::new());
    }

    #[test]
    fn fts5_mixed_latin() {
        let db = fts();
        assert_eq!(search(&db, "iPhone 充电器"), vec![4]);
        assert_eq!(search(&db, "IPHONE"), vec![4]);
        assert_eq!(search(&db, "iph"), vec![4]);
        assert_eq!(search(&db, "USB风扇"), vec![5]);
        assert_eq!(search(&db, "ｕｓｂ　风扇"), vec![5]);
        assert_eq!(search(&db, "type-c"), vec![7]);
        assert_eq!(search(&db, "小米 风扇"), vec![5]);
    }

    #[test]
    fn fts5_hostile_input_never_errors() {
        let db = fts();
        let hostile = [
            "\"",
            "\"\"",
            "\"充电",
            "*",
            "车*",
            "AND",
            "OR",
            "NOT",
            "a AND",
            "OR b",
            "NEAR(",
            "NEAR(a b, 2)",
            "-",
            "-车",
            "^",
            "^车",
            ":",
            "body:车",
            "col:x",
            "{body}: 车",
            "(",
            ")",
            "(车 OR",
            "车)",
            "'",
            "';DROP TABLE doc;--",
            "\\",
            "\0",
            "a\u{0}b",
            "+",
            "车 + 充电",
            "\u{0301}",
            "e\u{0301}",
            "²³",
            "😀",
            "充😀电",
            "\u{200B}",
            "\u{FEFF}车",
            "ＡＮＤ",
            "＂",
            "  ",
            "",
            "٣٤٥",
            "ǅ",
            "ﷺ",
        ];
        for s in hostile {
            if let Some(q) = match_query(s) {
                let mut st = db
                    .prepare("SELECT count(*) FROM doc WHERE doc MATCH ?1")
                    .unwrap();
                let r: rusqlite::Result<i64> = st.query_row([&q], |r| r.get(0));
                assert!(r.is_ok(), "input {s:?} -> {q:?}: {r:?}");
            }
        }
        // Operators typed as words are searched as words, not obeyed.
        assert_eq!(search(&db, "车 OR 水"), Vec::<i64>::new());
        assert_eq!(search(&db, "\"充电\""), vec![3, 4, 6]);
    }

    #[test]
    fn fts5_hostile_generated_never_errors() {
        // Every short string over an alphabet of FTS5 syntax characters.
        let db = fts();
        let alphabet = [
            '"', '*', '(', ')', ':', '^', '-', '+', ' ', 'a', '车', ',', '{', '}',
        ];
        let mut st = db
            .prepare("SELECT count(*) FROM doc WHERE doc MATCH ?1")
            .unwrap();
        for a in alphabet {
            for b in alphabet {
                for c in alphabet {
                    let s: String = [a, b, c].iter().collect();
                    if let Some(q) = match_query(&s) {
                        let r: rusqlite::Result<i64> = st.query_row([&q], |r| r.get(0));
                        assert!(r.is_ok(), "input {s:?} -> {q:?}: {r:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn marks_do_not_poison_the_query() {
        // A lone combining/spacing mark is a letter to Rust's
        // `is_alphanumeric` but a separator to unicode61; as a query term it
        // would become an empty phrase and the whole AND would match nothing.
        assert_eq!(match_query("\u{17B6}"), None);
        assert_eq!(match_query("\u{19B0}"), None);
        assert_eq!(match_query("车\u{17B6}").as_deref(), Some("\"车\""));
        let db = fts();
        assert_eq!(search(&db, "汽车 \u{0301}\u{17B6}"), vec![8]);
    }

    #[test]
    fn every_kept_char_is_a_unicode61_token_char() {
        // One row per Unicode scalar value we keep, holding exactly what we
        // would emit for it; each row must yield at least one FTS5 token.
        let db = Connection::open_in_memory().unwrap();
        db.execute_batch(
            "CREATE VIRTUAL TABLE d USING fts5(body);
             CREATE VIRTUAL TABLE dv USING fts5vocab(d, 'instance');
             BEGIN;",
        )
        .unwrap();
        let mut rows = 0i64;
        {
            let mut ins = db
                .prepare("INSERT INTO d(rowid, body) VALUES (?1, ?2)")
                .unwrap();
            let mut emitted = String::new();
            for c in (0u32..=0x10FFFF).filter_map(char::from_u32) {
                let f = fold_width(c);
                emitted.clear();
                match classify(f) {
                    Class::Sep => continue,
                    Class::Cjk => emitted.push(f),
                    Class::Word => push_lower(&mut emitted, f),
                }
                ins.execute((i64::from(u32::from(c)), &emitted)).unwrap();
                rows += 1;
            }
        }
        db.execute_batch("COMMIT").unwrap();
        assert!(rows > 100_000, "{rows}");
        let mut st = db
            .prepare(
                "SELECT rowid FROM d WHERE rowid NOT IN (SELECT doc FROM dv) \
                 ORDER BY rowid LIMIT 20",
            )
            .unwrap();
        let missing: Vec<String> = st
            .query_map([], |r| r.get::<_, i64>(0))
            .unwrap()
            .map(|r| format!("U+{:04X}", r.unwrap()))
            .collect();
        assert!(missing.is_empty(), "separators to unicode61: {missing:?}");
    }

    proptest::proptest! {
        /// Any input yields a valid MATCH expression (or None), and text
        /// always finds itself: a query built from a listing's own text
        /// matches that listing, unless FTS5 indexed no term at all (e.g. a
        /// lone combining mark, a letter to Rust but a separator to
        /// unicode61).
        #[test]
        fn any_input_is_safe_and_finds_itself(
            s in proptest::string::string_regex("(.|[\\u{4E00}-\\u{4E20}\"*():^ -]){0,24}").unwrap()
        ) {
            let db = Connection::open_in_memory().unwrap();
            db.execute_batch(
                "CREATE VIRTUAL TABLE d USING fts5(body);
                 CREATE VIRTUAL TABLE dv USING fts5vocab(d, 'row');",
            )
            .unwrap();
            db.execute("INSERT INTO d(body) VALUES (?1)", [index_tokens(&s)]).unwrap();
            let terms: i64 = db.query_row("SELECT count(*) FROM dv", [], |r| r.get(0)).unwrap();
            if let Some(q) = match_query(&s) {
                let n: rusqlite::Result<i64> =
                    db.query_row("SELECT count(*) FROM d WHERE d MATCH ?1", [&q], |r| r.get(0));
                proptest::prop_assert!(n.is_ok(), "input {:?} -> {:?}: {:?}", s, q, n);
                if terms > 0 {
                    proptest::prop_assert_eq!(n, Ok(1), "input {:?} -> {:?}", s, q);
                }
            }
        }
    }
}
