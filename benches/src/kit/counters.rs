//! What a phase cost the process beyond its wall time: minor page faults, user and system
//! time, and each thread's time on a core, read from Linux's `/proc/self` before and after.
//!
//! A run that writes fresh memory pays a fault a 4 KiB page in the kernel, which instruction
//! counts do not see; a thread's time on a core against the phase's wall time shows how long
//! it waited for the others (serial steps, an unbalanced tail).

use std::time::Duration;

/// The process's counters at one moment.
#[derive(Clone, Debug, Default)]
pub struct Counters {
    /// Minor page faults of every thread so far.
    minor_faults: u64,
    /// User and system time of every thread so far, in clock ticks of 10 ms.
    user_ticks: u64,
    system_ticks: u64,
    /// Each thread's id, its time on a core and its time waiting for one so far, in
    /// nanoseconds (`schedstat`).
    threads: Vec<(u64, u64, u64)>,
}

/// The fields of a `stat` file after the command name (which may hold spaces), the state
/// first.
fn stat_fields(text: &str) -> Vec<u64> {
    let after = text.rsplit_once(')').map_or("", |(_, rest)| rest);
    after
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect()
}

impl Counters {
    /// The counters now; zeros where /proc is not there.
    pub fn now() -> Self {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        let fields = stat_fields(&stat);
        let field = |i: usize| fields.get(i).copied().unwrap_or(0);
        let mut threads = Vec::new();
        if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
            for task in tasks.flatten() {
                let tid = task.file_name().to_string_lossy().parse().unwrap_or(0);
                let sched =
                    std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
                let mut times = sched.split_whitespace().map(|t| t.parse().unwrap_or(0));
                let on_core = times.next().unwrap_or(0);
                let waiting = times.next().unwrap_or(0);
                threads.push((tid, on_core, waiting));
            }
        }
        threads.sort_unstable();
        // After the state: ppid, pgrp, session, tty, tpgid, flags, then minflt (7), cminflt,
        // majflt, cmajflt, utime (11), stime (12).
        Counters {
            minor_faults: field(7),
            user_ticks: field(11),
            system_ticks: field(12),
            threads,
        }
    }

    /// What happened between `self` and `later`, over `wall`, as a JSON object: faults,
    /// user and system seconds, and the busy threads' seconds on a core and waiting for one
    /// (the rest of the wall time a thread slept: waiting for other threads).
    pub fn since(&self, later: &Counters, wall: Duration) -> serde_json::Value {
        let ticks = |t: u64| Duration::from_millis(t.saturating_mul(10)).as_secs_f64();
        let seconds = |ns: u64| Duration::from_nanos(ns).as_secs_f64();
        let mut busy: Vec<(u64, u64)> = later
            .threads
            .iter()
            .map(|(tid, on, waiting)| {
                let (on_before, waiting_before) = self
                    .threads
                    .iter()
                    .find(|(t, ..)| t == tid)
                    .map_or((0, 0), |(_, o, w)| (*o, *w));
                (
                    on.saturating_sub(on_before),
                    waiting.saturating_sub(waiting_before),
                )
            })
            .filter(|(on, _)| *on > 0)
            .collect();
        busy.sort_unstable_by(|a, b| b.cmp(a));
        let on_core: Vec<f64> = busy.iter().map(|(on, _)| seconds(*on)).collect();
        let waiting: Vec<f64> = busy.iter().map(|(_, w)| seconds(*w)).collect();
        serde_json::json!({
            "wall_s": wall.as_secs_f64(),
            "minor_faults": later.minor_faults.saturating_sub(self.minor_faults),
            "user_s": ticks(later.user_ticks.saturating_sub(self.user_ticks)),
            "system_s": ticks(later.system_ticks.saturating_sub(self.system_ticks)),
            "threads_on_core_s": on_core,
            "threads_waiting_for_core_s": waiting,
        })
    }
}
