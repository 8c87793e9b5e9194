//! What each provider was asked during a job: requests, wall time and cost, for the
//! worker's metrics. Only what this attempt paid for is counted here; the provenance in the
//! result counts the whole session once.

use crate::pipeline::assess::Assessment;
use crate::pipeline::stopwatch::StageTiming;
use crate::pipeline::transcript::Transcript;

/// One provider's share of a job.
#[derive(Clone, Debug)]
pub struct ProviderUsage {
    pub provider: String,
    pub model: String,
    pub requests: u32,
    /// Wall time of the stage that called it.
    pub seconds: f64,
    pub cost_usd: Option<f64>,
}

fn stage_seconds(timings: &[StageTiming], stage: &str) -> f64 {
    timings
        .iter()
        .filter(|t| t.stage == stage)
        .map(|t| t.seconds)
        .sum()
}

pub fn stt_usage(transcript: Option<&Transcript>, timings: &[StageTiming]) -> Vec<ProviderUsage> {
    let seconds = stage_seconds(timings, "transcribe");
    let models = transcript.into_iter().flat_map(|t| {
        t.summary
            .usage
            .models
            .iter()
            .map(|m| (t.summary.provider, m))
    });
    models
        .map(|(provider, (model, usage))| ProviderUsage {
            provider: provider.to_owned(),
            model: model.clone(),
            requests: usage.requests,
            seconds,
            cost_usd: usage.cost_usd,
        })
        .collect()
}

pub fn llm_usage(assessment: Option<&Assessment>, timings: &[StageTiming]) -> Vec<ProviderUsage> {
    let usage = assessment.and_then(|a| a.usage.as_ref());
    usage
        .map(|usage| ProviderUsage {
            provider: usage.provider.clone(),
            model: usage.model.clone(),
            requests: usage.calls,
            seconds: stage_seconds(timings, "assess"),
            cost_usd: usage.cost_usd,
        })
        .into_iter()
        .collect()
}
