//! The process's limit on open files: read by first builds of incremental
//! tables (one file open per partition being written), raised by the
//! `cohort` command at start. The only `unsafe` of the crate: the two libc
//! calls, each given a struct it owns.

/// The process's soft limit on open files, if it can be read.
pub fn soft_limit() -> Option<usize> {
    let limit = read()?;
    Some(usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX))
}

/// Raise the soft limit to the hard limit, at most `ceiling`, as databases
/// do. Where it cannot be raised, it stays as it was.
pub fn raise_soft_limit(ceiling: u64) {
    let Some(mut limit) = read() else {
        return;
    };
    let wanted = limit.rlim_max.min(ceiling as libc::rlim_t);
    if limit.rlim_cur < wanted {
        limit.rlim_cur = wanted;
        // SAFETY: setrlimit only reads the struct it is given, owned here.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    }
}

fn read() -> Option<libc::rlimit> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given, owned here.
    let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    read.then_some(limit)
}
