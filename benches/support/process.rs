//! Timing the real `cohort` binary: wall time, CPU time (user + system) and
//! peak resident memory of one run (from `wait4`'s rusage), and the median
//! of several. On a machine shared with other work the CPU time is the
//! steadier figure.

// Each bench uses part of this module.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

/// One timed run of the `cohort` binary.
pub struct Measured {
    pub elapsed: Duration,
    /// User + system CPU time of the process.
    pub cpu: Duration,
    /// Peak resident memory of the process, in MiB.
    pub peak_mib: f64,
}

/// Run `cohort args... --quiet` in `project`, output discarded (errors go
/// to this process's stderr); fails when it fails.
pub fn cohort(project: &Path, args: &[&str]) -> BenchResult<Measured> {
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cohort"))
        .args(args)
        .arg("--quiet")
        .current_dir(project)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .spawn()?;
    let (ok, usage) = wait_with_usage(&mut child)?;
    let elapsed = start.elapsed();
    if !ok {
        return Err(format!(
            "`cohort {}` failed in {}",
            args.join(" "),
            project.display()
        )
        .into());
    }
    let seconds = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Ok(Measured {
        elapsed,
        cpu: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        peak_mib: usage.ru_maxrss as f64 / 1024.0,
    })
}

/// Wait for `child`: whether it succeeded, and its resource usage from `wait4`.
fn wait_with_usage(child: &mut std::process::Child) -> BenchResult<(bool, libc::rusage)> {
    let pid = i32::try_from(child.id())?;
    let mut status = 0;
    // SAFETY: `rusage` is plain data that wait4 fills in; `pid` is our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if waited != pid {
        return Err(std::io::Error::last_os_error().into());
    }
    Ok((
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        usage,
    ))
}

/// `runs` timed runs of `cohort args...`: the median wall and CPU times,
/// and the highest peak memory.
pub fn median_of(project: &Path, args: &[&str], runs: usize) -> BenchResult<Measured> {
    let mut times = Vec::with_capacity(runs);
    let mut cpu = Vec::with_capacity(runs);
    let mut peak: f64 = 0.0;
    for _ in 0..runs.max(1) {
        let measured = cohort(project, args)?;
        times.push(measured.elapsed);
        cpu.push(measured.cpu);
        peak = peak.max(measured.peak_mib);
    }
    times.sort();
    cpu.sort();
    Ok(Measured {
        elapsed: times[times.len() / 2],
        cpu: cpu[cpu.len() / 2],
        peak_mib: peak,
    })
}
