//! Build script (kept in `src/` because the top level of the repository is fixed).
//!
//! Links Debian's libopus statically and routes its CPU detection through our memo
//! (`pipeline::decode::opus::cpu`): `--wrap` only redirects calls between the objects of a
//! link, not calls inside a shared library. Bundled into our library, `libopus.a` comes
//! before the `-lopus` that the `opus` crate asks for, which `--as-needed` then drops.

fn main() {
    let opus = pkg_config::Config::new()
        .statik(true)
        .cargo_metadata(false)
        .probe("opus")
        .expect("libopus with its static library (Debian: libopus-dev; `just libopus`)");
    for dir in &opus.link_paths {
        println!("cargo:rustc-link-search=native={}", dir.display());
    }
    println!("cargo:rustc-link-lib=static=opus");
    println!("cargo:rustc-link-arg=-Wl,--wrap=opus_select_arch");
}
