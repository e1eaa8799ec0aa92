//! Keeps glibc's heap from being trimmed and regrown under large messages.
//!
//! Every message larger than the shared read buffer becomes a Buffer of its
//! own, and JavaScript keeps one per decoded bin value; V8 frees them in
//! bulk when it collects. With glibc's defaults a free that leaves more
//! than a little room at the top of the heap returns it to the system
//! (`brk`), and the next messages fault the same pages back in: on a 64 KiB
//! echo that is most of the process's system time (docs/design.md, "Large
//! messages and the runtime thread", has the counts). Raising the trim and
//! mmap thresholds keeps that memory for reuse; it still goes back to the
//! system once more than [`TRIM_THRESHOLD`] lies free at the top.
//!
//! Left alone when the process chose its own settings (`GLIBC_TUNABLES`
//! naming malloc, or the `MALLOC_*_` variables), or when
//! `MSGPACK_RPC_MALLOC=system` asks for glibc's defaults.

/// Free bytes at the top of the heap kept before trimming.
pub const TRIM_THRESHOLD: i32 = 64 * 1024 * 1024;
/// Allocations below this come from the heap (reused), not from `mmap`
/// (returned on every free); glibc's largest allowed value on 64-bit.
pub const MMAP_THRESHOLD: i32 = 32 * 1024 * 1024;

/// Applies the thresholds once per process (glibc only).
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            if chosen_by_process(|name| std::env::var_os(name)) {
                return;
            }
            extern "C" {
                fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
            }
            const M_TRIM_THRESHOLD: std::ffi::c_int = -1;
            const M_MMAP_THRESHOLD: std::ffi::c_int = -3;
            // SAFETY: mallopt only changes allocator parameters; glibc
            // serialises it with allocation internally.
            unsafe {
                mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
                mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD);
            }
        });
    }
}

/// Whether the process configured malloc itself or opted out.
fn chosen_by_process(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> bool {
    let set = |name: &str| var(name).is_some();
    var("MSGPACK_RPC_MALLOC").is_some_and(|v| v == "system")
        || var("GLIBC_TUNABLES").is_some_and(|v| v.to_string_lossy().contains("malloc"))
        || [
            "MALLOC_TRIM_THRESHOLD_",
            "MALLOC_MMAP_THRESHOLD_",
            "MALLOC_TOP_PAD_",
        ]
        .into_iter()
        .any(set)
}
