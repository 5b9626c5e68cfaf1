//! Folding text to the one form both the index and every query use, so a
//! listing is found however it and the query were typed:
//!
//! 1. **NFKC** (Unicode compatibility composition, `unicode-normalization`):
//!    full-width `ＡＢＣ１２` → `ABC12`, `①` → `1`, `㎡` → `m2`, `Ⅱ` → `II`,
//!    ideographic space → space, compatibility ideographs → unified ones;
//! 2. **lower case**;
//! 3. **traditional → simplified Chinese**, character by character, with
//!    OpenCC's `TSCharacters` table (as shipped by the `hanconv` crate):
//!    `書籍` → `书籍`, `手機` → `手机`. Character by character, never by
//!    phrase, so a character folds the same way wherever it stands and a
//!    query of one character finds it inside any word;
//! 4. every character that is not a letter or a number (Unicode general
//!    categories `L*`, `N*`) separates **runs**; the result is the runs
//!    joined by single spaces, with no space at either end;
//! 5. except that white space alone between Chinese (Han, kana, hangul) and
//!    Latin letters or digits joins them: such spaces are typography
//!    ("iPhone 数据线" is written for "iPhone数据线"), so both forms fold to
//!    `iphone数据线` and either finds the other.

use std::sync::LazyLock;
use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};
use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

/// OpenCC's traditional → simplified characters, sorted for binary search:
/// only the entries that change a character, one target each (the first,
/// OpenCC's preferred one).
static T2S: LazyLock<Vec<(char, char)>> = LazyLock::new(|| {
    let mut table: Vec<(char, char)> = hanconv::RawDictionary::TSCharacters
        .iter()
        .filter_map(|(from, to)| {
            let mut f = from.chars();
            let (a, None) = (f.next()?, f.next()) else {
                return None;
            };
            let b = to.chars().next()?;
            (a != b).then_some((a, b))
        })
        .collect();
    table.sort_unstable();
    table.dedup_by_key(|e| e.0);
    table
});

/// The simplified form of one character (itself when it has none).
#[inline]
pub fn simplified(c: char) -> char {
    if (c as u32) < 0x3400 {
        return c;
    }
    match T2S.binary_search_by_key(&c, |e| e.0) {
        Ok(i) => T2S.get(i).map_or(c, |e| e.1),
        Err(_) => c,
    }
}

/// True for the characters runs are made of: letters and numbers.
#[inline]
pub fn is_run_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    matches!(
        c.general_category_group(),
        GeneralCategoryGroup::Letter | GeneralCategoryGroup::Number
    )
}

/// True for Han ideographs, kana and hangul.
#[inline]
pub fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3005}'..='\u{3007}'     // 々 〆 〇
        | '\u{3041}'..='\u{30FF}'   // hiragana, katakana
        | '\u{31F0}'..='\u{31FF}'   // katakana phonetic extensions
        | '\u{3400}'..='\u{4DBF}'   // CJK extension A
        | '\u{4E00}'..='\u{9FFF}'   // CJK unified ideographs
        | '\u{F900}'..='\u{FAFF}'   // CJK compatibility ideographs
        | '\u{1100}'..='\u{11FF}'   // hangul jamo
        | '\u{3131}'..='\u{318E}'   // hangul compatibility jamo
        | '\u{AC00}'..='\u{D7A3}'   // hangul syllables
        | '\u{20000}'..='\u{323AF}' // CJK extensions B-H, compatibility supplement
    )
}

/// What separates the run being written from the next character.
#[derive(Clone, Copy, PartialEq)]
enum Gap {
    /// Nothing: the next character continues the run.
    None,
    /// White space only (joins Chinese to Latin, see the module docs).
    Space,
    /// Punctuation, symbols, or the end of a field.
    Hard,
}

/// Appends the folded form of `text` to `out`: runs separated by single
/// spaces (a space is put before the first run when `out` is not empty:
/// runs of two fields never join).
pub fn fold_into(text: &str, out: &mut String) {
    let mut gap = if out.is_empty() { Gap::None } else { Gap::Hard };
    let mut last: Option<char> = None;
    let mut push = |c: char, out: &mut String| {
        let lower = c.to_lowercase();
        for l in lower {
            let s = simplified(l);
            if is_run_char(s) {
                let join = match (gap, last) {
                    (Gap::None, _) => true,
                    (Gap::Space, Some(p)) => is_cjk(p) != is_cjk(s),
                    _ => false,
                };
                if !join {
                    out.push(' ');
                }
                gap = Gap::None;
                out.push(s);
                last = Some(s);
            } else if !out.is_empty() && gap != Gap::Hard {
                gap = if s.is_whitespace() {
                    Gap::Space
                } else {
                    Gap::Hard
                };
            }
        }
    };
    if text.is_ascii() || is_nfkc_quick(text.chars()) == IsNormalized::Yes {
        for c in text.chars() {
            push(c, out);
        }
    } else {
        for c in text.nfkc() {
            push(c, out);
        }
    }
}

/// The folded form of `text` (see the module documentation).
///
/// ```
/// use fushi_core::search::fold::fold;
/// assert_eq!(fold("ＷＨ-1000XM4 耳機"), "wh 1000xm4耳机");
/// assert_eq!(fold("①号楼，50㎡"), "1号楼 50m2");
/// ```
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    fold_into(text, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traditional_folds_to_simplified() {
        assert_eq!(fold("書籍 手機 家電"), "书籍 手机 家电");
        assert_eq!(fold("嬰兒車"), "婴儿车");
        // Already simplified, and Latin, unchanged.
        assert_eq!(fold("婴儿车 abc"), "婴儿车abc");
        assert!(T2S.len() > 2000, "the OpenCC table is loaded");
    }

    #[test]
    fn compatibility_forms_fold() {
        assert_eq!(fold("①号楼"), "1号楼");
        assert_eq!(fold("50㎡"), "50m2");
        assert_eq!(fold("Ⅱ型"), "ii型");
        assert_eq!(fold("ＵＳＢ３　風扇"), "usb3风扇");
    }

    #[test]
    fn separators_collapse_into_one_space() {
        assert_eq!(fold("  童车（九成新）！ "), "童车 九成新");
        assert_eq!(fold("1.5米"), "1 5米");
        assert_eq!(fold(",.;!?"), "");
        assert_eq!(fold(""), "");
    }

    #[test]
    fn spaces_between_chinese_and_latin_are_typography() {
        assert_eq!(fold("iPhone 数据线"), "iphone数据线");
        assert_eq!(fold("充电宝  20000mAh"), "充电宝20000mah");
        assert_eq!(fold("充电宝，20000mAh"), "充电宝 20000mah");
        assert_eq!(fold("Sony WH"), "sony wh");
        assert_eq!(fold("二手 书"), "二手 书");
    }

    #[test]
    fn fold_into_starts_a_new_run() {
        let mut s = fold("标题");
        fold_into("描述", &mut s);
        assert_eq!(s, "标题 描述");
        let mut empty = String::new();
        fold_into("，", &mut empty);
        fold_into("车", &mut empty);
        assert_eq!(empty, "车");
    }
}
