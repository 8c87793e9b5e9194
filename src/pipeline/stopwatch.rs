//! Stage wall times, for metrics and provenance.

use std::time::Instant;

use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct StageTiming {
    pub stage: &'static str,
    pub seconds: f64,
}

/// Records stage wall times in order; starting a stage ends the previous one.
#[derive(Default)]
pub struct Stopwatch {
    timings: Vec<StageTiming>,
    started: Option<(&'static str, Instant)>,
}

impl Stopwatch {
    pub fn start(&mut self, stage: &'static str) {
        self.stop();
        self.started = Some((stage, Instant::now()));
    }

    fn stop(&mut self) {
        if let Some((stage, at)) = self.started.take() {
            let seconds = at.elapsed().as_secs_f64();
            self.timings.push(StageTiming { stage, seconds });
        }
    }

    pub fn finish(mut self) -> Vec<StageTiming> {
        self.stop();
        self.timings
    }
}
