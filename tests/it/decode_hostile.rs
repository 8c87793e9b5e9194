//! Files whose headers claim more than they hold. symphonia 0.5's readers size allocations
//! from such claims, and an allocation that fails aborts the process (no panic to catch), so
//! each of these once killed the fuzzer, and would kill a worker on every retry. Each must end
//! in its typed error, quickly and in little memory. The bytes are generated from the format
//! fixtures, so each case names exactly the field it breaks.

use std::path::Path;

use vibeinsight::pipeline::decode::{AudioError, AudioStream, DecodeLimits, KeepChannels};

const LIMITS: DecodeLimits = DecodeLimits {
    max_duration_secs: 4 * 3600,
};

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/formats")
        .join(name);
    std::fs::read(path).unwrap()
}

fn decode(bytes: Vec<u8>, ext: &str) -> Result<f64, AudioError> {
    let mut stream = AudioStream::from_bytes(bytes, Some(ext), LIMITS, KeepChannels::MonoOnly)?;
    while stream.next_block()?.is_some() {}
    Ok(stream.info().duration_secs)
}

/// Where the box of type `kind` starts (its size field), the first one in the file.
fn box_at(bytes: &[u8], kind: &[u8; 4]) -> usize {
    let at = bytes.windows(4).position(|w| w == kind).unwrap();
    at - 4
}

fn put_be(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_be_bytes());
}

fn assert_corrupt(result: Result<f64, AudioError>, what: &str) {
    match result {
        Err(AudioError::Corrupt(reason)) => assert!(reason.contains("mp4"), "{what}: {reason}"),
        other => panic!("{what}: {other:?}"),
    }
}

/// The fuzzer's crash: `stts` claiming 2³² − 1 entries made symphonia reserve 34 GB. Every
/// table it reserves from is checked, and so are the sizes it allocates a packet from.
#[test]
fn mp4_tables_that_claim_more_than_their_box_are_corrupt() {
    let m4a = fixture("aac_stereo_48k.m4a");
    // (box, offset of the field in the box, value): counts follow size, type, version+flags.
    let cases: [(&[u8; 4], usize, u32); 6] = [
        (b"stts", 12, u32::MAX),
        (b"stsc", 12, u32::MAX),
        (b"stco", 12, 0x4000_0000),
        // stsz: a constant sample size larger than the file, then a count with no table.
        (b"stsz", 12, 0xffff_0000),
        (b"stsz", 16, u32::MAX),
        // The first entry of the stsz table: one sample of 4 GB.
        (b"stsz", 20, 0xffff_fff0),
    ];
    for (kind, offset, value) in cases {
        let mut bytes = m4a.clone();
        let at = box_at(&bytes, kind) + offset;
        put_be(&mut bytes, at, value);
        let what = format!("{} +{offset} = {value:#x}", String::from_utf8_lossy(kind));
        assert_corrupt(decode(bytes, "m4a"), &what);
    }
}

#[test]
fn an_mp4_box_larger_than_its_parent_is_corrupt() {
    let mut bytes = fixture("aac_stereo_48k.m4a");
    // hdlr is read whole into a buffer of the size it claims.
    let at = box_at(&bytes, b"hdlr");
    put_be(&mut bytes, at, 0x7fff_ffff);
    assert_corrupt(decode(bytes, "m4a"), "hdlr");
}

/// symphonia's probe finds a container marker anywhere in the first megabyte; the checks run
/// where it found it, not only at the start of the file.
#[test]
fn junk_before_the_mp4_does_not_hide_a_bad_table() {
    let mut bytes = vec![0x55u8; 100];
    bytes.extend(fixture("aac_stereo_48k.m4a"));
    let at = box_at(&bytes, b"stts") + 12;
    put_be(&mut bytes, at, u32::MAX);
    assert_corrupt(decode(bytes, "m4a"), "stts after junk");
}

#[test]
fn well_formed_mp4s_still_decode() {
    for name in [
        "aac_stereo_48k.m4a",
        "alac_6ch_32k.m4a",
        "video_aac_stereo_44k.mp4",
    ] {
        let secs = decode(fixture(name), "m4a").unwrap_or_else(|err| panic!("{name}: {err}"));
        assert!((secs - 1.0).abs() < 0.01, "{name}: {secs}");
    }
}

/// A streamed WAV header (RIFF length 0xFFFFFFFF) lets a chunk claim up to 4 GB past
/// symphonia's check, and it allocated a `LIST`/`INFO` entry whole: 3 GB from 100 bytes.
#[test]
fn a_wav_chunk_claiming_more_than_the_file_is_corrupt() {
    let mut bytes = b"RIFF".to_vec();
    bytes.extend(u32::MAX.to_le_bytes());
    bytes.extend(b"WAVEfmt ");
    bytes.extend(16u32.to_le_bytes());
    // PCM, mono, 16 kHz, 32000 B/s, block align 2, 16 bits.
    for field in [1u16, 1] {
        bytes.extend(field.to_le_bytes());
    }
    bytes.extend(16_000u32.to_le_bytes());
    bytes.extend(32_000u32.to_le_bytes());
    for field in [2u16, 16] {
        bytes.extend(field.to_le_bytes());
    }
    bytes.extend(b"LIST");
    bytes.extend(0xc000_0000u32.to_le_bytes());
    bytes.extend(b"INFOINAM");
    bytes.extend(0xbfff_fff0u32.to_le_bytes());
    bytes.extend(b"a title that is not 3 GB long");
    match decode(bytes, "wav") {
        Err(AudioError::Corrupt(reason)) => assert!(reason.contains("LIST"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

/// The same check must not refuse what symphonia reads fine: a `data` chunk may run past the
/// end (a cut recording), and a file cut inside a chunk its own header accounts for is cut.
#[test]
fn a_cut_wav_is_truncated_not_corrupt() {
    let wav = fixture("wav_s16_stereo_44k.wav");
    let cut = wav[..wav.len() / 2].to_vec();
    let secs = decode(cut, "wav").unwrap();
    assert!((0.4..0.6).contains(&secs), "{secs}");
    // A LIST chunk before data, cut in the middle.
    let mut listed = wav[..12].to_vec();
    let riff_len = u32::try_from(wav.len() - 8 + 24).unwrap();
    listed[4..8].copy_from_slice(&riff_len.to_le_bytes());
    listed.extend(b"LIST");
    listed.extend(16u32.to_le_bytes());
    listed.extend(b"INFOINAM");
    listed.extend(4u32.to_le_bytes());
    listed.extend(b"ab");
    match decode(listed, "wav") {
        Err(AudioError::Truncated) => {}
        other => panic!("{other:?}"),
    }
}

/// Found by the fuzzer: a FLAC `VORBIS_COMMENT` block whose vendor string claims 4 GB made
/// symphonia allocate it (its reader sizes the buffer before reading the block).
#[test]
fn a_flac_comment_longer_than_its_block_is_corrupt() {
    let mut bytes = fixture("flac_stereo_48k.flac");
    // Blocks follow `fLaC`: a header byte (last flag, type), a 24-bit length, the body.
    let mut at = 4;
    while bytes[at] & 0x7f != 4 {
        assert_eq!(
            bytes[at] & 0x80,
            0,
            "the fixture has no VORBIS_COMMENT block"
        );
        let len = usize::from(bytes[at + 1]) << 16
            | usize::from(bytes[at + 2]) << 8
            | usize::from(bytes[at + 3]);
        at += 4 + len;
    }
    bytes[at + 4..at + 8].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    match decode(bytes, "flac") {
        Err(AudioError::Corrupt(reason)) => assert!(reason.contains("flac"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

/// Found by the fuzzer: a WAV header claiming 1.18 GHz made the resampler plan FFTs of
/// gigabytes; rates beyond what recorders write are refused.
#[test]
fn an_absurd_sample_rate_is_unsupported() {
    let mut bytes = fixture("wav_s16_stereo_44k.wav");
    assert_eq!(&bytes[12..16], b"fmt ");
    bytes[24..28].copy_from_slice(&1_179_051_775u32.to_le_bytes());
    match decode(bytes, "wav") {
        Err(AudioError::Unsupported(what)) => assert!(what.contains("Hz"), "{what}"),
        other => panic!("{other:?}"),
    }
}
