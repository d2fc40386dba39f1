//! A hint to the CPU cache, for loops that know which scattered memory they
//! read next.

/// Asks the CPU to start loading the cache line at `address`. A hint only:
/// it never faults, whatever the address, and does nothing off x86-64.
#[allow(unsafe_code)]
pub fn prefetch<T>(address: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing the program sees and never faults,
    // even at an address outside every allocation.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(address.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}
