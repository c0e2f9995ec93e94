//! Compiles `../shared/bench/fused_adam.c` (or `$SHARED/bench/fused_adam.c`) and
//! `benches/fused_more.c` as compare.sh does, each wrapped by `c_kernels.c`. Without the shared
//! kernel the tool builds but only says what it needs.
use std::path::PathBuf;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(has_c)");
    println!("cargo:rerun-if-env-changed=SHARED");
    println!("cargo:rerun-if-changed=c_kernels.c");
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("../..");
    let shared = std::env::var("SHARED").map(PathBuf::from).unwrap_or_else(|_| root.join("../shared"));
    let adam = shared.join("bench/fused_adam.c");
    let more = root.join("benches/fused_more.c");
    println!("cargo:rerun-if-changed={}", adam.display());
    println!("cargo:rerun-if-changed={}", more.display());
    if !adam.exists() {
        println!("cargo:warning=no {}: the tool will only report it", adam.display());
        return;
    }
    for (lib, file, adam_file) in [("fused_adam", &adam, true), ("fused_more", &more, false)] {
        let mut b = cc::Build::new();
        b.file("c_kernels.c")
            .define("MAIN_NAME", format!("{lib}_main").as_str())
            .define("KERNEL_FILE", format!("\"{}\"", file.canonicalize().unwrap().display()).as_str())
            .opt_level(3)
            .flag("-fno-math-errno")
            .flag("-march=native")
            .flag("-fopenmp")
            .warnings(false);
        if adam_file {
            b.define("ADAM_FILE", None);
        }
        b.compile(lib);
    }
    println!("cargo:rustc-link-lib=gomp");
    println!("cargo:rustc-link-lib=m");
    println!("cargo:rustc-cfg=has_c");
}
