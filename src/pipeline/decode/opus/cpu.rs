//! libopus' CPU detection, run once per process instead of once per mono→stereo switch.
//!
//! libopus 1.3 (Debian's) calls `opus_select_arch()` from `silk_init_decoder`, which
//! `silk_Decode` runs whenever a stream switches from mono to stereo coding. Encoders switch
//! often on speech whose channels are alike (a phone's or browser's "stereo" recording), and
//! `opus_select_arch` executes `cpuid`, which a virtual machine traps: an earlier profile of
//! the 1 h WebM bench put 44 % of our decode time there, and a 5 min WebM 12 % of our CPU
//! samples (13 % of ffmpeg's when it decodes through libopus). The answer cannot change
//! while the process runs, so the linker routes libopus' calls here
//! (`--wrap=opus_select_arch`, set by the build script, with libopus linked statically so that
//! its internal calls are wrapped too), and the first answer is kept.

use std::ffi::c_int;
use std::sync::OnceLock;

unsafe extern "C" {
    /// libopus' own detection, reachable under this name because of `--wrap`.
    fn __real_opus_select_arch() -> c_int;
}

/// What libopus calls instead of its `opus_select_arch`.
#[unsafe(no_mangle)]
pub extern "C" fn __wrap_opus_select_arch() -> c_int {
    static ARCH: OnceLock<c_int> = OnceLock::new();
    // SAFETY: a plain C function without arguments that only reads `cpuid`.
    *ARCH.get_or_init(|| unsafe { __real_opus_select_arch() })
}
