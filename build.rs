//! Build-time target checks: goro runs on Linux only, on the architectures
//! corosensei switches contexts for. An unsupported target fails here with
//! a message instead of deep inside a dependency.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(loom)");
    println!("cargo::rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if os != "linux" {
        panic!("goro supports Linux only; this target's OS is {os:?}");
    }
    if !matches!(
        arch.as_str(),
        "x86_64" | "aarch64" | "riscv64" | "arm" | "x86" | "loongarch64"
    ) {
        panic!("goro: corosensei has no context switch for target architecture {arch:?}");
    }
}
