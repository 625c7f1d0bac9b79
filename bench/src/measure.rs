//! What a process has spent, read from `/proc` (Linux).

use std::time::Duration;

/// User plus system CPU time of this process so far.
pub fn cpu_time() -> Duration {
    cpu_time_of("self")
}

/// User plus system CPU time so far of process `pid` (`self`: this one).
pub fn cpu_time_of(pid: &str) -> Duration {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Duration::ZERO;
    };
    // Fields after the command name (which may hold spaces) start at ")".
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line: 12 and 13 after ")".
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    // The kernel reports in USER_HZ, 100 on every Linux this runs on.
    Duration::from_millis(ticks * 10)
}

/// Peak resident set size of this process (`VmHWM`), in bytes.
pub fn peak_rss() -> u64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return 0;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_process_has_spent_something() {
        let spin = std::time::Instant::now();
        let mut x = 0u64;
        while spin.elapsed() < std::time::Duration::from_millis(50) {
            x = x.wrapping_add(1);
        }
        assert!(x > 0);
        assert!(super::cpu_time() > std::time::Duration::ZERO);
        assert!(super::peak_rss() > 1024 * 1024);
    }
}
