//! Token usage and cost for `provenance.usage`, with a configurable price table.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::clients::llm::TokenUsage;

/// USD per million tokens.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Price {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
}

/// Model name → price. Unknown models get no cost (never a guessed one).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PriceTable(pub BTreeMap<String, Price>);

impl Default for PriceTable {
    /// List prices at the time of writing; override in configuration when they change.
    fn default() -> Self {
        let entries = [
            ("gemini-2.5-flash", 0.30, 2.50),
            ("gemini-2.5-flash-lite", 0.10, 0.40),
            ("gemini-2.5-pro", 1.25, 10.0),
            ("gpt-4o-mini", 0.15, 0.60),
            ("gpt-4.1-mini", 0.40, 1.60),
        ];
        let map = entries.iter().map(|(m, i, o)| {
            (
                (*m).to_owned(),
                Price {
                    input_per_mtok: *i,
                    output_per_mtok: *o,
                },
            )
        });
        Self(map.collect())
    }
}

/// Everything the assessment spent, summed over all calls (parts, repair).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub provider: String,
    pub model: String,
    pub calls: u32,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: Option<f64>,
}

impl Usage {
    pub fn new(provider: &str, model: &str) -> Self {
        Self {
            provider: provider.to_owned(),
            model: model.to_owned(),
            calls: 0,
            input_tokens: 0,
            output_tokens: 0,
            cost_usd: None,
        }
    }

    pub fn add(&mut self, call: TokenUsage) {
        self.calls += 1;
        self.input_tokens += call.input_tokens;
        self.output_tokens += call.output_tokens;
    }

    /// Fills `cost_usd` from the table; local models (no entry) stay `None`.
    pub fn price(&mut self, table: &PriceTable) {
        // Providers answer with dated names (gpt-4o-mini-2024-07-18): longest prefix wins.
        let price = table
            .0
            .iter()
            .filter(|(k, _)| self.model.starts_with(k.as_str()))
            .max_by_key(|(k, _)| k.len());
        self.cost_usd = price.map(|(_, p)| {
            (self.input_tokens as f64 * p.input_per_mtok
                + self.output_tokens as f64 * p.output_per_mtok)
                / 1e6
        });
    }
}
