//! Quality and speech: measure level and cleanliness (BS.1770 loudness, true peak, clipping,
//! DC, SNR), bring speech to the analysis level without clipping, and find where people speak.
//!
//! Nothing is removed or trimmed: denoising is known to hurt diarization, and trimming would
//! move timestamps. The gain only scales; the VAD only marks regions in the original timeline.

use serde::Serialize;

use crate::domain::{ANALYSIS_RATE, Language, Span};
use crate::dsp::loudness::{
    self, AudioQuality, ChannelWeighting, GainPolicy, QualityWarning, analysis_gain_db, apply_gain,
};
use crate::pipeline::diarize::{self, DiarizeError, FrontEnd};
use crate::pipeline::types::AnalysisAudio;

/// What the preprocessing stage measured, stored as `metrics.audio_quality` and `metrics.speech`.
#[derive(Clone, Debug, Serialize)]
pub struct Preprocessed {
    pub audio_quality: AudioQuality,
    pub warnings: Vec<QualityWarning>,
    pub analysis_gain_db: f64,
    pub speech_seconds: f64,
    pub speech_regions: usize,
}

/// Measures `audio`, applies the analysis gain to it in place, and detects speech; the
/// diarizer's cepstra come from the same pass (see [`FrontEnd`]).
///
/// # Errors
/// An invalid feature configuration (a programming error, not bad input), or a long
/// recording's scratch file cannot be written.
pub fn preprocess(audio: &mut AnalysisAudio) -> Result<(Preprocessed, FrontEnd), DiarizeError> {
    let audio_quality = loudness::measure(&audio.mono, ANALYSIS_RATE, ChannelWeighting::DualMono);
    let gain = analysis_gain_db(&audio_quality, &GainPolicy::default());
    apply_gain(&mut audio.mono, gain);
    for channel in audio.stereo.iter_mut().flatten() {
        apply_gain(channel, gain);
    }
    let front = diarize::front_end(&audio.mono)?;
    let speech = &front.speech;
    let measured = Preprocessed {
        warnings: audio_quality.warnings(),
        audio_quality,
        analysis_gain_db: gain,
        speech_seconds: speech.iter().map(Span::duration).sum(),
        speech_regions: speech.len(),
    };
    Ok((measured, front))
}

/// The warnings as one sentence for the progress message, in the session's language.
pub fn warning_note(warnings: &[QualityWarning], language: Language) -> Option<String> {
    let ja = language == Language::Ja;
    let texts: Vec<&str> = warnings
        .iter()
        .map(|warning| match (warning, ja) {
            (QualityWarning::Silent, true) => "音声がほぼ無音です",
            (QualityWarning::Silent, false) => "the recording is almost silent",
            (QualityWarning::TooQuiet, true) => "録音の音量がとても小さいです",
            (QualityWarning::TooQuiet, false) => "the recording is very quiet",
            (QualityWarning::Clipped, true) => "音割れ（クリッピング）があります",
            (QualityWarning::Clipped, false) => "the recording is clipped (distorted)",
            (QualityWarning::Noisy, true) => "雑音が多く、精度が下がる可能性があります",
            (QualityWarning::Noisy, false) => "the recording is noisy; accuracy may suffer",
        })
        .collect();
    (!texts.is_empty()).then(|| texts.join(if ja { "。" } else { "; " }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone_bursts(amplitude: f32, secs: f64) -> Vec<f32> {
        let n = (secs * f64::from(ANALYSIS_RATE)) as usize;
        (0..n)
            .map(|i| {
                let t = i as f32 / ANALYSIS_RATE as f32;
                let on = (t % 2.0) < 1.2;
                if on {
                    amplitude * (2.0 * std::f32::consts::PI * 220.0 * t).sin()
                } else {
                    0.0
                }
            })
            .collect()
    }

    #[test]
    fn quiet_speech_is_raised_but_never_clipped_and_regions_stay_in_place() {
        let mono = tone_bursts(0.01, 10.0);
        let mut audio = AnalysisAudio {
            mono: mono.clone().into(),
            stereo: None,
        };
        let (measured, front) = preprocess(&mut audio).unwrap();
        assert!(
            measured.analysis_gain_db > 10.0,
            "{}",
            measured.analysis_gain_db
        );
        assert!(audio.mono.iter().all(|x| x.abs() < 1.0));
        assert_eq!(audio.mono.len(), mono.len(), "no samples added or removed");
        let first = front.speech.first().unwrap();
        assert!(
            first.start < 0.25 && (first.end - 1.2).abs() < 0.3,
            "{first:?}"
        );
        assert_eq!(measured.speech_regions, 5);
    }

    #[test]
    fn warnings_read_in_the_session_language() {
        let warnings = [QualityWarning::TooQuiet, QualityWarning::Clipped];
        assert_eq!(
            warning_note(&warnings, Language::En).unwrap(),
            "the recording is very quiet; the recording is clipped (distorted)"
        );
        assert!(
            warning_note(&warnings, Language::Ja)
                .unwrap()
                .starts_with("録音の音量")
        );
        assert_eq!(warning_note(&[], Language::Ja), None);
    }
}
