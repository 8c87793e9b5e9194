//! From a decoded packet, in whatever sample format the codec produced, to the planar f32
//! channels analysis keeps: both channels of a two-channel recording, otherwise their average.
//!
//! Straight from symphonia's planar buffer into reused planes: no interleaved copy, no
//! allocation per packet once the planes have grown to a packet's size.

use symphonia::core::audio::{AudioBuffer, AudioBufferRef, Signal};
use symphonia::core::conv::IntoSample;
use symphonia::core::sample::Sample;

/// Fills `planes` (one plane per kept channel, 1 or 2) with this packet's samples.
pub fn mix_into(decoded: &AudioBufferRef<'_>, planes: &mut [Vec<f32>]) {
    match decoded {
        AudioBufferRef::U8(buf) => mix_typed(buf, planes),
        AudioBufferRef::U16(buf) => mix_typed(buf, planes),
        AudioBufferRef::U24(buf) => mix_typed(buf, planes),
        AudioBufferRef::U32(buf) => mix_typed(buf, planes),
        AudioBufferRef::S8(buf) => mix_typed(buf, planes),
        AudioBufferRef::S16(buf) => mix_typed(buf, planes),
        AudioBufferRef::S24(buf) => mix_typed(buf, planes),
        AudioBufferRef::S32(buf) => mix_typed(buf, planes),
        AudioBufferRef::F32(buf) => mix_typed(buf, planes),
        AudioBufferRef::F64(buf) => mix_typed(buf, planes),
    }
}

fn mix_typed<S: Sample + IntoSample<f32>>(buf: &AudioBuffer<S>, planes: &mut [Vec<f32>]) {
    let channels = buf.spec().channels.count();
    for plane in planes.iter_mut() {
        plane.clear();
    }
    if channels == 0 {
        return;
    }
    if let [left, right] = planes {
        // A stream that changes layout mid-way still fills both planes: mono is duplicated.
        convert(buf.chan(0), left);
        convert(buf.chan(if channels >= 2 { 1 } else { 0 }), right);
        return;
    }
    let Some(mono) = planes.first_mut() else {
        return;
    };
    convert(buf.chan(0), mono);
    for ch in 1..channels {
        for (acc, &sample) in mono.iter_mut().zip(buf.chan(ch)) {
            *acc += finite(sample.into_sample());
        }
    }
    if channels > 1 {
        let scale = 1.0 / channels as f32;
        mono.iter_mut().for_each(|s| *s *= scale);
    }
}

/// Far above any real recording (60 dB over full scale) and far below what overflows the
/// resampler's FFT sums.
const SAMPLE_LIMIT: f32 = 1000.0;

fn convert<S: Sample + IntoSample<f32>>(src: &[S], dst: &mut Vec<f32>) {
    dst.extend(src.iter().map(|&s| finite(s.into_sample())));
}

/// Integer formats are within ±1 by construction, but float WAV can hold anything: a NaN or
/// an infinity poisons the resampler's FFT (realfft rejects the spectrum and rubato panics),
/// so they become silence, and huge values are clamped.
fn finite(sample: f32) -> f32 {
    if sample.is_nan() {
        0.0
    } else {
        sample.clamp(-SAMPLE_LIMIT, SAMPLE_LIMIT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use symphonia::core::audio::{AsAudioBufferRef, Channels, SignalSpec};

    fn buffer(channels: &[&[i16]]) -> AudioBuffer<i16> {
        let mask = Channels::from_bits_truncate((1 << channels.len()) - 1);
        let mut buf = AudioBuffer::new(16, SignalSpec::new(48_000, mask));
        buf.render_reserved(Some(channels[0].len()));
        for (ch, samples) in channels.iter().enumerate() {
            buf.chan_mut(ch).copy_from_slice(samples);
        }
        buf
    }

    #[test]
    fn two_channels_stay_apart() {
        let buf = buffer(&[&[16384, 0], &[0, -16384]]);
        let mut planes = vec![Vec::new(), Vec::new()];
        mix_into(&buf.as_audio_buffer_ref(), &mut planes);
        assert_eq!(planes, vec![vec![0.5, 0.0], vec![0.0, -0.5]]);
    }

    #[test]
    fn more_channels_are_averaged() {
        let buf = buffer(&[&[16384, 0], &[16384, 0], &[-16384, 0]]);
        let mut planes = vec![Vec::new()];
        mix_into(&buf.as_audio_buffer_ref(), &mut planes);
        assert!((planes[0][0] - 0.5 / 3.0).abs() < 1e-6, "{:?}", planes[0]);
    }

    #[test]
    fn non_finite_float_samples_become_finite() {
        let mask = Channels::from_bits_truncate(0b11);
        let mut buf = AudioBuffer::<f32>::new(4, SignalSpec::new(48_000, mask));
        buf.render_reserved(Some(3));
        buf.chan_mut(0)
            .copy_from_slice(&[f32::NAN, f32::INFINITY, 0.25]);
        buf.chan_mut(1)
            .copy_from_slice(&[0.5, f32::NEG_INFINITY, f32::MAX]);
        let mut planes = vec![Vec::new()];
        mix_into(&buf.as_audio_buffer_ref(), &mut planes);
        assert!(planes[0].iter().all(|s| s.is_finite()), "{:?}", planes[0]);
        assert_eq!(planes[0][0], 0.25);
    }

    #[test]
    fn mono_into_two_planes_is_duplicated() {
        let buf = buffer(&[&[16384]]);
        let mut planes = vec![vec![9.0], Vec::new()];
        mix_into(&buf.as_audio_buffer_ref(), &mut planes);
        assert_eq!(planes, vec![vec![0.5], vec![0.5]]);
    }
}
