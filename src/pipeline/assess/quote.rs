//! Checking that a quoted example really occurs in the segment it cites.
//!
//! LLMs re-punctuate, switch full- and half-width forms and drop spaces, especially in
//! Japanese. We compare after NFKC (which folds full-width ASCII, half-width katakana and
//! the ideographic space), lower-casing, and removing whitespace and punctuation from both
//! sides. Anything else (changed words, paraphrase, ellipses joining distant parts) fails.

use unicode_normalization::UnicodeNormalization;

/// Quotes shorter than this (after normalising) prove nothing: 「はい」 occurs everywhere.
pub const MIN_QUOTE_CHARS: usize = 2;

/// Punctuation removed on top of ASCII punctuation (after NFKC, so only the forms NFKC
/// leaves alone are listed). The long-vowel mark ー is a letter and stays.
const CJK_PUNCTUATION: &[char] = &[
    '、', '。', '「', '」', '『', '』', '【', '】', '〈', '〉', '《', '》', '〔', '〕', '・', '…',
    '‥', '〜', '～', '“', '”', '‘', '’', '―', '—', '–', '〃', '♪', '･', '｡', '､', '｢', '｣',
];

/// The comparison form of a text.
pub fn normalise(text: &str) -> String {
    text.nfkc()
        .flat_map(char::to_lowercase)
        .filter(|c| !c.is_whitespace() && !c.is_ascii_punctuation() && !CJK_PUNCTUATION.contains(c))
        .collect()
}

/// Why a quote was rejected.
#[derive(Debug, PartialEq, Eq)]
pub enum QuoteProblem {
    TooShort,
    NotInSegment,
}

/// Checks `quote` against the cited segment's text.
pub fn check_quote(quote: &str, segment_text: &str) -> Result<(), QuoteProblem> {
    let q = normalise(quote);
    if q.chars().count() < MIN_QUOTE_CHARS {
        return Err(QuoteProblem::TooShort);
    }
    if normalise(segment_text).contains(&q) {
        Ok(())
    } else {
        Err(QuoteProblem::NotInSegment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerates_width_punctuation_and_spacing() {
        let seg = "そうですね、最近は　仕事が忙しくて。ＡＩの勉強も進んでいません！";
        assert_eq!(check_quote("最近は仕事が忙しくて", seg), Ok(()));
        assert_eq!(check_quote("AIの勉強も 進んでいません!", seg), Ok(()));
        assert_eq!(check_quote("「最近は、仕事が忙しくて」", seg), Ok(()));
        // Half-width katakana in the quote, full-width in the segment.
        assert_eq!(check_quote("ｼﾞｮﾌﾞ", "新しいジョブ"), Ok(()));
        assert_eq!(
            check_quote("What do you WANT", "So... what do you want?"),
            Ok(())
        );
    }

    #[test]
    fn rejects_paraphrase_and_trivial_quotes() {
        let seg = "最近は仕事が忙しくて、勉強が進んでいません。";
        assert_eq!(
            check_quote("最近は仕事が大変で", seg),
            Err(QuoteProblem::NotInSegment)
        );
        assert_eq!(
            check_quote("最近は…進んでいません", seg),
            Err(QuoteProblem::NotInSegment)
        );
        assert_eq!(check_quote("、。", seg), Err(QuoteProblem::TooShort));
        assert_eq!(check_quote("最", seg), Err(QuoteProblem::TooShort));
    }
}
