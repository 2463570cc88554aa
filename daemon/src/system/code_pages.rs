//! Handing the kernel back the pages of our own program that an idle daemon
//! does not run. Starting up, logging in and catching up touch code all
//! over the binary, and the kernel maps each touched page with its
//! neighbours (fault-around), so most of the program stays resident long
//! after: about 10 MB of a 16 MB binary, against 1.5 MB of the daemon's own
//! memory (docs/benchmarks.md, scenario 1). The pages are clean copies of
//! the file; `MADV_PAGEOUT` drops them, and what the daemon runs next comes
//! back on first use, from the page cache or the disk. Android does the same
//! to apps in the background. Only read-only mappings of our own executable
//! are touched: never the heap, stacks or writable data.

/// Release the resident pages of our executable's read-only mappings;
/// returns how many bytes were covered.
#[cfg(target_os = "linux")]
pub(crate) fn release() -> std::io::Result<u64> {
    let exe = std::fs::read_link("/proc/self/exe")?;
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    let mut released = 0;
    for (start, end) in read_only_ranges(&maps, &exe.to_string_lossy()) {
        let len = end - start;
        // SAFETY: the range is a whole mapping of our own executable that
        // the kernel listed; it is not writable, so dropping its resident
        // pages cannot lose data: the kernel reads them again from the file
        // on the next access. No Rust reference is invalidated.
        #[allow(unsafe_code)]
        let result =
            unsafe { rustix::mm::madvise(start as *mut _, len, rustix::mm::Advice::LinuxPageOut) };
        match result {
            Ok(()) => released += len as u64,
            // Kernels before 5.4 do not know MADV_PAGEOUT: nothing to do.
            Err(rustix::io::Errno::INVAL) => return Ok(released),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(released)
}

/// Elsewhere the pages stay: there is no portable way to drop them.
#[cfg(not(target_os = "linux"))]
pub(crate) fn release() -> std::io::Result<u64> {
    Ok(0)
}

/// `/proc/self/maps` lines: `start-end perms offset dev inode path`.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn read_only_ranges(maps: &str, exe: &str) -> Vec<(usize, usize)> {
    maps.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let range = fields.next()?;
            let perms = fields.next()?;
            let path = fields.nth(3)?;
            if path != exe || perms.contains('w') {
                return None;
            }
            let (start, end) = range.split_once('-')?;
            let start = usize::from_str_radix(start, 16).ok()?;
            let end = usize::from_str_radix(end, 16).ok()?;
            (end > start).then_some((start, end))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_read_only_mappings_of_the_program_are_chosen() {
        let maps = "\
55d0c0000000-55d0c0100000 r--p 00000000 fd:01 123 /usr/bin/wimsyd
55d0c0100000-55d0c0900000 r-xp 00100000 fd:01 123 /usr/bin/wimsyd
55d0c0900000-55d0c0a00000 r--p 00900000 fd:01 123 /usr/bin/wimsyd
55d0c0a00000-55d0c0a10000 rw-p 00a00000 fd:01 123 /usr/bin/wimsyd
55d0c1000000-55d0c1100000 rw-p 00000000 00:00 0                          [heap]
7f0000200000-7f0000300000 r-xp 00000000 fd:01 456 /usr/lib/x86_64-linux-gnu/libc.so.6
7f0000400000-7f0000500000 r-xp 00000000 fd:01 789 /usr/bin/wimsyd-old
";
        assert_eq!(
            read_only_ranges(maps, "/usr/bin/wimsyd"),
            [
                (0x55d0c0000000, 0x55d0c0100000),
                (0x55d0c0100000, 0x55d0c0900000),
                (0x55d0c0900000, 0x55d0c0a00000),
            ]
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_test_binary_can_release_its_own_pages_and_keeps_running() {
        let released = release().expect("madvise");
        assert!(released > 0, "the test binary has read-only mappings");
        // Code on the other side of the release still runs.
        assert_eq!(read_only_ranges("", "x"), []);
    }
}
