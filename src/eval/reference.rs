//! Reference annotations for scoring: RTTM speaker turns and UEM scoring regions.
//!
//! Both formats are whitespace-separated text, one record per line, keyed by a file id
//! (the "uri"). Ids and speaker labels are arbitrary Unicode (`trñ00`, `MÉO069`); they are
//! kept byte-exact. Because corpora are not always consistent about such names (the AMI
//! debug set names the file `trñ00.wav` but its RTTM says `trn00`), [`lookup`] offers an
//! accent-folded fallback for matching a file name to its annotation.
//!
//! Stable API (another helper links this file):
//! - [`parse_rttm`] → `BTreeMap<file id, Vec<RefTurn>>`, turns sorted by start.
//! - [`parse_uem`] → `BTreeMap<file id, Vec<Span>>`, regions sorted and merged.
//! - [`speech_union`], [`merge_spans`], [`lookup`] are helpers built on those.

use std::collections::BTreeMap;

use thiserror::Error;

use crate::domain::Span;

/// One reference speaker turn.
#[derive(Clone, Debug, PartialEq)]
pub struct RefTurn {
    pub speaker: String,
    pub span: Span,
}

/// Why a reference file could not be read. `line` is 1-based.
#[derive(Debug, Error, PartialEq)]
pub enum ReferenceError {
    #[error("line {line}: expected at least {expected} fields, found {found}")]
    TooFewFields {
        line: usize,
        expected: usize,
        found: usize,
    },
    #[error("line {line}: {field} is not a finite number: {value:?}")]
    BadNumber {
        line: usize,
        field: &'static str,
        value: String,
    },
    #[error("line {line}: negative or reversed time range ({start} .. {end})")]
    BadRange { line: usize, start: f64, end: f64 },
}

/// Parses RTTM text. Only `SPEAKER` records are read; other record types (`SPKR-INFO`,
/// `LEXEME`, …), blank lines and `;;`/`#` comments are skipped.
///
/// Field layout (NIST RTTM): `SPEAKER file chnl tbeg tdur ortho stype name conf slat`.
///
/// # Errors
/// A `SPEAKER` line with fewer than 8 fields, a time that is not a finite number, or a
/// negative onset or duration.
pub fn parse_rttm(text: &str) -> Result<BTreeMap<String, Vec<RefTurn>>, ReferenceError> {
    let mut out: BTreeMap<String, Vec<RefTurn>> = BTreeMap::new();
    for (idx, raw) in text.lines().enumerate() {
        let line = idx + 1;
        let fields: Vec<&str> = raw.split_whitespace().collect();
        if fields.first() != Some(&"SPEAKER") {
            continue;
        }
        if fields.len() < 8 {
            return Err(ReferenceError::TooFewFields {
                line,
                expected: 8,
                found: fields.len(),
            });
        }
        let onset = number(fields[3], line, "onset")?;
        let duration = number(fields[4], line, "duration")?;
        if onset < 0.0 || duration < 0.0 {
            return Err(ReferenceError::BadRange {
                line,
                start: onset,
                end: onset + duration,
            });
        }
        out.entry(fields[1].to_owned()).or_default().push(RefTurn {
            speaker: fields[7].to_owned(),
            span: Span {
                start: onset,
                end: onset + duration,
            },
        });
    }
    for turns in out.values_mut() {
        turns.sort_by(|a, b| a.span.start.total_cmp(&b.span.start));
    }
    Ok(out)
}

/// Parses UEM text: `file channel start end` per line; blank lines and `;;`/`#` comments
/// are skipped. Regions of one file are sorted and overlapping ones merged.
///
/// # Errors
/// Fewer than 4 fields, a non-finite time, or `end < start`.
pub fn parse_uem(text: &str) -> Result<BTreeMap<String, Vec<Span>>, ReferenceError> {
    let mut out: BTreeMap<String, Vec<Span>> = BTreeMap::new();
    for (idx, raw) in text.lines().enumerate() {
        let line = idx + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with(";;") || trimmed.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = trimmed.split_whitespace().collect();
        if fields.len() < 4 {
            return Err(ReferenceError::TooFewFields {
                line,
                expected: 4,
                found: fields.len(),
            });
        }
        let start = number(fields[2], line, "start")?;
        let end = number(fields[3], line, "end")?;
        if start < 0.0 || end < start {
            return Err(ReferenceError::BadRange { line, start, end });
        }
        out.entry(fields[0].to_owned())
            .or_default()
            .push(Span { start, end });
    }
    for spans in out.values_mut() {
        *spans = merge_spans(std::mem::take(spans));
    }
    Ok(out)
}

/// The regions where at least one reference speaker talks (overlaps counted once).
pub fn speech_union(turns: &[RefTurn]) -> Vec<Span> {
    merge_spans(turns.iter().map(|t| t.span).collect())
}

/// Sorts spans and merges those that overlap or touch; empty spans are dropped.
pub fn merge_spans(mut spans: Vec<Span>) -> Vec<Span> {
    spans.retain(|s| s.end > s.start);
    spans.sort_by(|a, b| a.start.total_cmp(&b.start));
    let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
    for s in spans {
        match merged.last_mut() {
            Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
            _ => merged.push(s),
        }
    }
    merged
}

/// Finds `id` in `map`: the exact key first, else the single key equal to it after folding
/// Latin accents (`ñ`→`n`, `É`→`E`), so `trñ00.wav` finds an RTTM that says `trn00`.
pub fn lookup<'a, V>(map: &'a BTreeMap<String, V>, id: &str) -> Option<&'a V> {
    if let Some(v) = map.get(id) {
        return Some(v);
    }
    let want = fold_accents(id);
    let mut hits = map.iter().filter(|(k, _)| fold_accents(k) == want);
    match (hits.next(), hits.next()) {
        (Some((_, v)), None) => Some(v),
        _ => None,
    }
}

fn fold_accents(s: &str) -> String {
    s.chars().map(fold_char).collect()
}

fn fold_char(c: char) -> char {
    match c {
        'à'..='å' => 'a',
        'À'..='Å' => 'A',
        'ç' => 'c',
        'Ç' => 'C',
        'è'..='ë' => 'e',
        'È'..='Ë' => 'E',
        'ì'..='ï' => 'i',
        'Ì'..='Ï' => 'I',
        'ñ' => 'n',
        'Ñ' => 'N',
        'ò'..='ö' | 'ø' => 'o',
        'Ò'..='Ö' | 'Ø' => 'O',
        'ù'..='ü' => 'u',
        'Ù'..='Ü' => 'U',
        'ý' | 'ÿ' => 'y',
        'Ý' => 'Y',
        other => other,
    }
}

fn number(value: &str, line: usize, field: &'static str) -> Result<f64, ReferenceError> {
    value
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| ReferenceError::BadNumber {
            line,
            field,
            value: value.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RTTM: &str = "\
;; comment line
SPKR-INFO trñ00 1 <NA> <NA> <NA> unknown MÉO069 <NA> <NA>
SPEAKER trñ00 1 5.463 0.640 <NA> <NA> MÉO069 <NA> <NA>
SPEAKER trñ00 1 3.168 0.800 <NA> <NA> MEE068 <NA> <NA>

SPEAKER dev00 1 1.440 11.872 <NA> <NA> MEE009 <NA> <NA>
";

    #[test]
    fn rttm_keeps_unicode_ids_and_sorts_turns() {
        let map = parse_rttm(RTTM).unwrap();
        assert_eq!(map.len(), 2);
        let turns = &map["trñ00"];
        assert_eq!(turns.len(), 2, "SPKR-INFO must be ignored");
        assert_eq!(turns[0].speaker, "MEE068");
        assert_eq!(turns[1].speaker, "MÉO069");
        assert!((turns[1].span.start - 5.463).abs() < 1e-12);
        assert!((turns[1].span.end - 6.103).abs() < 1e-12);
        assert!((map["dev00"][0].span.duration() - 11.872).abs() < 1e-12);
    }

    #[test]
    fn rttm_errors_carry_line_numbers() {
        let short = "SPEAKER a 1 0.0 1.0 <NA>\n";
        assert_eq!(
            parse_rttm(short),
            Err(ReferenceError::TooFewFields {
                line: 1,
                expected: 8,
                found: 6
            })
        );
        let nan = "\nSPEAKER a 1 x 1.0 <NA> <NA> s <NA> <NA>\n";
        assert!(matches!(
            parse_rttm(nan),
            Err(ReferenceError::BadNumber {
                line: 2,
                field: "onset",
                ..
            })
        ));
        let neg = "SPEAKER a 1 1.0 -1.0 <NA> <NA> s <NA> <NA>\n";
        assert!(matches!(
            parse_rttm(neg),
            Err(ReferenceError::BadRange { line: 1, .. })
        ));
        assert!(matches!(
            parse_rttm("SPEAKER a 1 inf 1 <NA> <NA> s\n"),
            Err(ReferenceError::BadNumber { .. })
        ));
    }

    #[test]
    fn uem_parses_sorts_and_merges() {
        let uem = "# c\ntrñ00 NA 10.0 20.0\ntrñ00 NA 0.000 30.000\nb 1 2 3\nb 1 0 1\n";
        let map = parse_uem(uem).unwrap();
        assert_eq!(
            map["trñ00"],
            vec![Span {
                start: 0.0,
                end: 30.0
            }]
        );
        assert_eq!(
            map["b"],
            vec![
                Span {
                    start: 0.0,
                    end: 1.0
                },
                Span {
                    start: 2.0,
                    end: 3.0
                }
            ]
        );
        assert!(matches!(
            parse_uem("a NA 3 2\n"),
            Err(ReferenceError::BadRange { line: 1, .. })
        ));
        assert!(matches!(
            parse_uem("a NA 3\n"),
            Err(ReferenceError::TooFewFields { found: 3, .. })
        ));
    }

    #[test]
    fn union_merges_overlapping_turns() {
        let map = parse_rttm(RTTM).unwrap();
        let mut turns = map["trñ00"].clone();
        turns.push(RefTurn {
            speaker: "X".into(),
            span: Span {
                start: 3.5,
                end: 5.5,
            },
        });
        let u = speech_union(&turns);
        assert_eq!(u.len(), 1);
        assert!((u[0].start - 3.168).abs() < 1e-12 && (u[0].end - 6.103).abs() < 1e-12);
    }

    #[test]
    fn lookup_folds_accents_only_when_unambiguous() {
        let mut map = BTreeMap::new();
        map.insert("trn00".to_owned(), 1);
        map.insert("dev00".to_owned(), 2);
        assert_eq!(lookup(&map, "trñ00"), Some(&1));
        assert_eq!(lookup(&map, "dev00"), Some(&2));
        assert_eq!(lookup(&map, "trn01"), None);
        map.insert("trñ00".to_owned(), 3);
        assert_eq!(lookup(&map, "trñ00"), Some(&3), "exact match wins");
    }
}
