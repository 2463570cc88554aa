//! What a running process costs, read from `/proc`: resident memory, CPU
//! time and context switches, for the idle-cost comparison. Linux only.
//!
//! A sample is cheap (a few small file reads per thread) and does not wake
//! the measured process.

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// One sample of a process.
#[derive(Debug, Clone)]
pub(crate) struct ProcStats {
    /// When it was taken, for rates over an interval.
    pub(crate) taken: Instant,
    /// `VmRSS`: resident memory now.
    pub(crate) rss_kib: u64,
    /// `VmHWM`: the highest resident memory so far.
    pub(crate) hwm_kib: u64,
    /// `RssAnon`: the part of `rss_kib` that is the process's own (heap,
    /// stacks), without mapped files such as shared libraries, whose pages
    /// other processes may share: the fairer figure between a client
    /// linking many shared libraries and a mostly static binary.
    pub(crate) rss_anon_kib: u64,
    /// User plus system CPU time of the whole process since it started.
    /// The kernel keeps the time of exited threads in the process's total,
    /// so nothing is lost here. The kernel keeps it in nanoseconds but
    /// shows it in clock ticks (10 ms with the usual 100 Hz): an interval
    /// is off by up to a tick, so idle processes need intervals of minutes.
    pub(crate) cpu_ms: f64,
    /// Context switches where a thread gave up the CPU itself (blocked in
    /// poll, a futex, a sleep), summed over the threads alive now. Each one
    /// is followed by a wakeup, so this counts wakeups.
    ///
    /// `/proc/PID/status` only has the main thread's counts, hence the sum
    /// over `/proc/PID/task/*`. A thread that exited since an earlier
    /// sample takes its counts with it (the kernel keeps them only for
    /// `getrusage` of the process itself): for a process whose threads come
    /// and go, an interval's figure is a lower bound.
    pub(crate) voluntary_ctxt_switches: u64,
    /// Context switches where the scheduler preempted a thread, summed the
    /// same way (same caveat).
    pub(crate) nonvoluntary_ctxt_switches: u64,
    /// Threads alive now.
    pub(crate) threads: u64,
}

/// What happened between two samples.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Delta {
    pub(crate) elapsed: Duration,
    pub(crate) cpu_ms: f64,
    pub(crate) voluntary_ctxt_switches: u64,
    pub(crate) nonvoluntary_ctxt_switches: u64,
}

impl Delta {
    /// CPU milliseconds per minute of wall time.
    pub(crate) fn cpu_ms_per_min(&self) -> f64 {
        per_min(self.cpu_ms, self.elapsed)
    }

    /// Wakeups (voluntary context switches) per minute of wall time.
    pub(crate) fn wakeups_per_min(&self) -> f64 {
        // Exact for any count a benchmark can produce.
        #[allow(clippy::cast_precision_loss)]
        per_min(self.voluntary_ctxt_switches as f64, self.elapsed)
    }

    /// Preemptions (involuntary context switches) per minute of wall time.
    pub(crate) fn preemptions_per_min(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        per_min(self.nonvoluntary_ctxt_switches as f64, self.elapsed)
    }
}

fn per_min(value: f64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 { value * 60.0 / secs } else { 0.0 }
}

impl ProcStats {
    /// The change since `earlier` (a sample of the same process). Counts
    /// that went down, because a thread exited in between, give 0 rather
    /// than wrapping.
    pub(crate) fn delta(&self, earlier: &ProcStats) -> Delta {
        Delta {
            elapsed: self.taken.saturating_duration_since(earlier.taken),
            cpu_ms: (self.cpu_ms - earlier.cpu_ms).max(0.0),
            voluntary_ctxt_switches: self
                .voluntary_ctxt_switches
                .saturating_sub(earlier.voluntary_ctxt_switches),
            nonvoluntary_ctxt_switches: self
                .nonvoluntary_ctxt_switches
                .saturating_sub(earlier.nonvoluntary_ctxt_switches),
        }
    }
}

/// A sample of process `pid`.
pub(crate) fn read(pid: u32) -> Result<ProcStats> {
    let proc_dir = format!("/proc/{pid}");
    let taken = Instant::now();
    let stat = std::fs::read_to_string(format!("{proc_dir}/stat"))
        .with_context(|| format!("reading {proc_dir}/stat (has process {pid} exited?)"))?;
    let (utime, stime) = cpu_ticks(&stat).with_context(|| format!("parsing {proc_dir}/stat"))?;
    let status = std::fs::read_to_string(format!("{proc_dir}/status"))
        .with_context(|| format!("reading {proc_dir}/status"))?;
    let field = |name: &str| {
        status_field(&status, name).with_context(|| format!("no {name} in {proc_dir}/status"))
    };
    let rss_kib = field("VmRSS")?;
    let hwm_kib = field("VmHWM")?;
    let rss_anon_kib = field("RssAnon")?;
    let threads = field("Threads")?;
    let (voluntary, nonvoluntary) = thread_switches(Path::new(&proc_dir))?;
    // Exact for any tick count a benchmark can produce.
    #[allow(clippy::cast_precision_loss)]
    let cpu_ms = (utime + stime) as f64 * 1000.0 / clock_ticks_per_sec();
    Ok(ProcStats {
        taken,
        rss_kib,
        hwm_kib,
        rss_anon_kib,
        cpu_ms,
        voluntary_ctxt_switches: voluntary,
        nonvoluntary_ctxt_switches: nonvoluntary,
        threads,
    })
}

/// `utime` and `stime` (fields 14 and 15, in clock ticks) of a
/// `/proc/PID/stat` line.
fn cpu_ticks(stat: &str) -> Result<(u64, u64)> {
    // The command name (field 2) is in parentheses and may itself contain
    // spaces and parentheses; the fields are counted after its last ')'.
    let after = stat
        .rfind(')')
        .map(|at| &stat[at + 1..])
        .context("no ')' after the command name")?;
    // `after` starts at field 3 (the state).
    let fields: Vec<&str> = after.split_whitespace().collect();
    let get = |n: usize| -> Result<u64> {
        let raw = fields.get(n - 3).with_context(|| format!("no field {n}"))?;
        raw.parse()
            .with_context(|| format!("field {n} is not a number: {raw:?}"))
    };
    Ok((get(14)?, get(15)?))
}

/// The number at the start of a `Name:  value [kB]` line of a status file.
fn status_field(status: &str, name: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        if key != name {
            return None;
        }
        value.split_whitespace().next()?.parse().ok()
    })
}

/// Voluntary and involuntary context switches summed over every thread
/// alive now.
fn thread_switches(proc_dir: &Path) -> Result<(u64, u64)> {
    let task_dir = proc_dir.join("task");
    let entries =
        std::fs::read_dir(&task_dir).with_context(|| format!("listing {}", task_dir.display()))?;
    let (mut voluntary, mut nonvoluntary) = (0, 0);
    let mut seen = 0;
    for entry in entries {
        let entry = entry.with_context(|| format!("listing {}", task_dir.display()))?;
        // A thread may exit between the listing and the read: it no longer
        // counts, like any thread that exited before this sample.
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        let (Some(v), Some(n)) = (
            status_field(&status, "voluntary_ctxt_switches"),
            status_field(&status, "nonvoluntary_ctxt_switches"),
        ) else {
            continue;
        };
        voluntary += v;
        nonvoluntary += n;
        seen += 1;
    }
    if seen == 0 {
        bail!(
            "no thread of {} could be read (has the process exited?)",
            proc_dir.display()
        );
    }
    Ok((voluntary, nonvoluntary))
}

/// `sysconf(_SC_CLK_TCK)`, asked of `getconf` once (no libc binding here);
/// 100, the value on every common Linux, if that fails.
fn clock_ticks_per_sec() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .filter(|out| out.status.success())
            .and_then(|out| {
                String::from_utf8_lossy(&out.stdout)
                    .trim()
                    .parse::<u32>()
                    .ok()
            })
            .filter(|&ticks| ticks > 0)
            .map_or(100.0, f64::from)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_found_after_an_awkward_command_name() {
        let stat = "1234 (a) b (c) S 1 1234 1234 0 -1 4194560 100 0 0 0 \
                    17 5 0 0 20 0 3 0 1000 1000000 200 18446744073709551615";
        assert_eq!(cpu_ticks(stat).unwrap(), (17, 5));
        assert!(cpu_ticks("1234 (truncated").is_err());
    }

    #[test]
    fn status_fields_are_parsed() {
        let status = "Name:\tx\nVmHWM:\t    2048 kB\nVmRSS:\t    1024 kB\nRssAnon:\t 512 kB\n\
                      Threads:\t3\nvoluntary_ctxt_switches:\t7\n";
        assert_eq!(status_field(status, "VmRSS"), Some(1024));
        assert_eq!(status_field(status, "VmHWM"), Some(2048));
        assert_eq!(status_field(status, "RssAnon"), Some(512));
        assert_eq!(status_field(status, "Threads"), Some(3));
        assert_eq!(status_field(status, "voluntary_ctxt_switches"), Some(7));
        assert_eq!(status_field(status, "nonvoluntary_ctxt_switches"), None);
    }

    #[test]
    fn the_test_process_itself_is_measured() {
        use std::sync::mpsc::channel;

        let pid = std::process::id();
        // A second thread that sleeps and wakes between the two samples and
        // stays alive across both, so its switches count.
        let (go_tx, go_rx) = channel::<()>();
        let (done_tx, done_rx) = channel::<()>();
        let (quit_tx, quit_rx) = channel::<()>();
        let sleeper = std::thread::spawn(move || {
            go_rx.recv().unwrap();
            for _ in 0..20 {
                std::thread::sleep(Duration::from_millis(1));
            }
            done_tx.send(()).unwrap();
            quit_rx.recv().unwrap();
        });
        let before = read(pid).unwrap();
        assert!(before.threads >= 2, "{before:?}");
        go_tx.send(()).unwrap();
        done_rx.recv().unwrap();
        // CPU work until it shows: a spin of fixed wall time may get
        // little CPU on a busy machine.
        let started = Instant::now();
        let mut x = 0u64;
        while read(pid).unwrap().cpu_ms < before.cpu_ms + 30.0 {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "CPU time stuck"
            );
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(1));
            }
        }
        let after = read(pid).unwrap();
        quit_tx.send(()).unwrap();
        sleeper.join().unwrap();
        eprintln!("{before:?}\n{after:?}");
        assert!(
            after.rss_kib > 0 && after.hwm_kib >= after.rss_kib,
            "{after:?}"
        );
        assert!(after.cpu_ms >= before.cpu_ms);
        let d = after.delta(&before);
        eprintln!("{d:?}");
        assert!(d.elapsed >= Duration::from_millis(20), "{d:?}");
        assert!(d.cpu_ms >= 30.0, "{d:?}");
        assert!(d.cpu_ms_per_min() > 0.0);
        // The sleeper's 20 sleeps, less whatever other test threads that
        // exited meanwhile took with them.
        assert!(d.voluntary_ctxt_switches >= 1, "{d:?}");
        assert!(d.wakeups_per_min() > 0.0);
        assert!(d.preemptions_per_min() >= 0.0);
    }

    #[test]
    fn a_missing_process_is_an_error() {
        // Above the kernel's pid_max (at most 2^22).
        let err = read(u32::MAX).unwrap_err();
        assert!(
            format!("{err:#}").contains("/proc/4294967295/stat"),
            "{err:#}"
        );
    }

    #[test]
    fn deltas_do_not_wrap() {
        let now = Instant::now();
        let earlier = ProcStats {
            taken: now,
            rss_kib: 1,
            hwm_kib: 1,
            rss_anon_kib: 1,
            cpu_ms: 10.0,
            voluntary_ctxt_switches: 100,
            nonvoluntary_ctxt_switches: 5,
            threads: 3,
        };
        let later = ProcStats {
            taken: now + Duration::from_secs(30),
            voluntary_ctxt_switches: 40,
            nonvoluntary_ctxt_switches: 6,
            cpu_ms: 13.0,
            threads: 1,
            ..earlier.clone()
        };
        let d = later.delta(&earlier);
        assert_eq!(d.voluntary_ctxt_switches, 0);
        assert_eq!(d.nonvoluntary_ctxt_switches, 1);
        assert!((d.cpu_ms_per_min() - 6.0).abs() < 1e-9);
        assert!((d.preemptions_per_min() - 2.0).abs() < 1e-9);
    }
}
