//! VAD frame error on the dev references in `shared/data/conversations` (skips when absent).
//! Bounds sit a little above the measured figures so a regression fails the test.

use crate::prereq;
use vibeinsight::dsp::mel::MelConfig;
use vibeinsight::eval::dataset::{default_root, discover, score_vad};
use vibeinsight::eval::frame_error::FrameError;
use vibeinsight::pipeline::vad::VadConfig;

#[test]
fn vad_frame_error_on_dev_references() {
    let Some(root) = default_root() else {
        prereq::missing("shared/data/conversations not found (set VIBEINSIGHT_DATA)");
        return;
    };
    let items = discover(&root).expect("references parse");
    assert!(
        !items.is_empty(),
        "no annotated WAV under {}",
        root.display()
    );
    let (mel, cfg) = (MelConfig::default(), VadConfig::default());
    let mut pooled = std::collections::BTreeMap::<String, FrameError>::new();
    for item in &items {
        let e = score_vad(item, &mel, &cfg).expect("scoring");
        eprintln!(
            "{:<30} miss {:5.2}% fa {:5.2}% total {:5.2}%",
            item.name,
            e.miss_pct(),
            e.false_alarm_pct(),
            e.total_pct()
        );
        if item.name.starts_with("simulated/") {
            assert!(e.total_pct() < 12.0, "{}: {:.2}%", item.name, e.total_pct());
        }
        *pooled
            .entry(item.name.split('/').next().unwrap().to_owned())
            .or_default() += e;
    }
    let bound = |group: &str, max: f64| {
        if let Some(e) = pooled.get(group) {
            assert!(
                e.total_pct() < max,
                "{group}: {:.2}% ≥ {max}%",
                e.total_pct()
            );
        }
    };
    bound("simulated", 9.0);
    bound("pyannote_sample", 5.0);
    bound("ami_debug", 23.0);
}
