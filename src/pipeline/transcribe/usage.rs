//! Audio seconds sent per model and what they cost, for `provenance.usage`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// USD per minute of audio, by model name. Configurable because prices change and
/// self-hosted servers cost nothing per minute.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PriceTable {
    pub usd_per_minute: BTreeMap<String, f64>,
}

impl Default for PriceTable {
    /// OpenAI's published list prices at the time of writing.
    fn default() -> Self {
        let usd_per_minute = [
            ("whisper-1", 0.006),
            ("gpt-4o-transcribe", 0.006),
            ("gpt-4o-transcribe-diarize", 0.006),
            ("gpt-4o-mini-transcribe", 0.003),
        ]
        .into_iter()
        .map(|(m, p)| (m.to_owned(), p))
        .collect();
        Self { usd_per_minute }
    }
}

/// Usage of one model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelUsage {
    /// Successful requests (failed attempts are not billed).
    pub requests: u32,
    pub audio_seconds: f64,
    /// `None` when the price table does not know the model.
    pub cost_usd: Option<f64>,
}

/// Usage of every model used for one session.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SttUsage {
    pub models: BTreeMap<String, ModelUsage>,
}

impl SttUsage {
    pub fn record(&mut self, model: &str, audio_seconds: f64, prices: &PriceTable) {
        let u = self.models.entry(model.to_owned()).or_default();
        u.requests += 1;
        u.audio_seconds += audio_seconds;
        u.cost_usd = prices
            .usd_per_minute
            .get(model)
            .map(|p| p * u.audio_seconds / 60.0);
    }

    /// Sum over the models whose price is known.
    pub fn total_cost_usd(&self) -> f64 {
        self.models.values().filter_map(|m| m.cost_usd).sum()
    }

    pub fn total_audio_seconds(&self) -> f64 {
        self.models.values().map(|m| m.audio_seconds).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_accumulates_per_model() {
        let prices = PriceTable::default();
        let mut u = SttUsage::default();
        u.record("whisper-1", 90.0, &prices);
        u.record("whisper-1", 30.0, &prices);
        u.record("local-model", 60.0, &prices);
        assert_eq!(u.models["whisper-1"].requests, 2);
        assert!((u.total_cost_usd() - 0.012).abs() < 1e-12);
        assert_eq!(u.models["local-model"].cost_usd, None);
        assert!((u.total_audio_seconds() - 180.0).abs() < 1e-12);
    }
}
