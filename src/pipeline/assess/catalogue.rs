//! The fixed catalogue of coaching styles (`catalogue.toml`), compiled into the binary.
//!
//! The LLM only picks an id; everything the user reads about the style comes from this
//! file, so a diagnosis can never be an invented label.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::domain::Language;

/// One coaching style.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Style {
    pub id: String,
    pub icon: String,
    pub name_ja: String,
    pub name_en: String,
    pub description_ja: String,
    pub description_en: String,
}

impl Style {
    pub fn name(&self, lang: Language) -> &str {
        if lang == Language::Ja {
            &self.name_ja
        } else {
            &self.name_en
        }
    }
    pub fn description(&self, lang: Language) -> &str {
        if lang == Language::Ja {
            &self.description_ja
        } else {
            &self.description_en
        }
    }
}

#[derive(Deserialize)]
struct CatalogueFile {
    style: Vec<Style>,
}

/// Every style, in file order. Parsed once; a broken file is caught by the unit test.
pub fn styles() -> &'static [Style] {
    static STYLES: OnceLock<Vec<Style>> = OnceLock::new();
    STYLES.get_or_init(|| {
        #[allow(
            clippy::expect_used,
            reason = "the file is compiled in and checked by the unit test"
        )]
        let file: CatalogueFile =
            toml::from_str(include_str!("catalogue.toml")).expect("catalogue.toml is valid");
        file.style
    })
}

pub fn find(id: &str) -> Option<&'static Style> {
    styles().iter().find(|s| s.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_has_at_least_eight_complete_unique_styles() {
        let all = styles();
        assert!(all.len() >= 8, "only {} styles", all.len());
        let mut ids: Vec<_> = all.iter().map(|s| s.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), all.len(), "duplicate ids");
        for s in all {
            for field in [
                &s.icon,
                &s.name_ja,
                &s.name_en,
                &s.description_ja,
                &s.description_en,
            ] {
                assert!(!field.trim().is_empty(), "{} has an empty field", s.id);
            }
        }
        assert_eq!(
            find("machine_gun_solver").map(|s| s.name_ja.as_str()),
            Some("マシンガン・ソルバー")
        );
    }
}
