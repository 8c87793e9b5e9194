//! HTML escaping. Transcripts, quotes and LLM text are user content: everything that is
//! not a literal in our templates goes through [`esc`].

use std::fmt::Display;

/// Escapes text for element content and double- or single-quoted attributes.
pub fn esc(text: impl Display) -> String {
    let raw = text.to_string();
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup() {
        assert_eq!(
            super::esc("<script>a&'\"</script>"),
            "&lt;script&gt;a&amp;&#39;&quot;&lt;/script&gt;"
        );
    }
}
