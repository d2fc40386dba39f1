//! Hints to the CPU cache and to the kernel, for memory read at random:
//! loops that know which scattered memory they read next, and tables large
//! enough to be worth huge pages.

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

/// Asks the kernel to back the untouched memory of `buffer` (from its
/// pointer to its capacity) with 2 MiB pages, where transparent huge pages
/// are enabled on request (`madvise`, as on the project's machine): a large
/// key table then faults once per 2 MiB instead of once per 4 KiB page
/// (benches/README.md has the counts). A hint only: it changes no contents,
/// and does nothing where it is not supported.
#[allow(unsafe_code)]
pub fn advise_huge_pages<T>(buffer: &Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let start = buffer.as_ptr() as usize;
        let end = start + buffer.capacity() * std::mem::size_of::<T>();
        let (from, to) = (start.next_multiple_of(PAGE), end / PAGE * PAGE);
        if to > from {
            // SAFETY: the range lies within the buffer's allocation, and
            // MADV_HUGEPAGE changes only how the kernel backs its pages,
            // never what they hold.
            unsafe {
                libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = buffer;
}
