//! What the process uses, from /proc: CPU time, memory, and the CPUs it may run on.

use std::time::Duration;

/// CPU time (user + system) of this process, all threads, so far.
pub fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at field 3.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15, in USER_HZ ticks (100 per second on Linux).
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// A `kB` line of /proc/self/status in MiB (`VmRSS`, `VmHWM`).
pub fn memory_mib(key: &str) -> f64 {
    status_value(key)
        .and_then(|v| v.trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn status_value(key: &str) -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| {
        l.strip_prefix(key)?
            .strip_prefix(':')
            .map(|v| v.trim().to_string())
    })
}

/// The CPUs this process may run on (e.g. `0` under `taskset -c 0`).
pub fn allowed_cpus() -> Vec<u32> {
    parse_list(&status_value("Cpus_allowed_list").unwrap_or_default())
}

/// The CPUs of the machine.
pub fn online_cpus() -> Vec<u32> {
    parse_list(&std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap_or_default())
}

fn parse_list(list: &str) -> Vec<u32> {
    list.trim()
        .split(',')
        .filter(|p| !p.is_empty())
        .flat_map(|part| match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (a.parse().unwrap_or(0), b.parse().unwrap_or(0));
                (a..=b).collect::<Vec<u32>>()
            }
            None => part.parse().into_iter().collect(),
        })
        .collect()
}

/// `0,2-3` style list.
pub fn format_list(cpus: &[u32]) -> String {
    cpus.iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// CPU time and run-queue wait of a group of this process's threads (from
/// `/proc/self/task/*/schedstat`, nanoseconds).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ThreadTimes {
    /// On a CPU.
    pub running: Duration,
    /// Runnable but waiting for a CPU.
    pub waiting: Duration,
}

/// [`ThreadTimes`] of the inference workers (threads named `inference-*`) and of all the other
/// threads (GStreamer's streaming threads decode, thin and convert; the camera threads hand
/// frames on). Threads that ended are not counted.
pub fn thread_times() -> (ThreadTimes, ThreadTimes) {
    let (mut workers, mut others) = (ThreadTimes::default(), ThreadTimes::default());
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return (workers, others);
    };
    for task in tasks.flatten() {
        let path = task.path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let stat = std::fs::read_to_string(path.join("schedstat")).unwrap_or_default();
        let mut fields = stat
            .split_whitespace()
            .map(|v| v.parse::<u64>().unwrap_or(0));
        let (running, waiting) = (fields.next().unwrap_or(0), fields.next().unwrap_or(0));
        let group = if name.starts_with("inference-") {
            &mut workers
        } else {
            &mut others
        };
        group.running += Duration::from_nanos(running);
        group.waiting += Duration::from_nanos(waiting);
    }
    (workers, others)
}
