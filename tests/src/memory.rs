//! Memory of the test server (scripts/with-server.sh): the peak RSS of its workerd
//! processes (`TOLLGATE_PID`'s process group) while one download streams, the peak
//! reset through `clear_refs` first. Tests that measure it run alone on a server
//! of their own (scripts/test.sh), since a starved reader grows the local runtime.

use std::fs;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use crate::{sha256_stream, Req};

const MIB: u64 = 1024 * 1024;

/// The server's workerd processes: those of `TOLLGATE_PID`'s process group.
fn workerd_pids() -> Vec<u32> {
    let group = std::env::var("TOLLGATE_PID").expect("TOLLGATE_PID: run under with-server.sh");
    let mut pids = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // comm is in parentheses; the process group is the 3rd field after it.
        let Some((comm, rest)) = stat.split_once(") ") else {
            continue;
        };
        let pgrp = rest.split_whitespace().nth(2).unwrap_or_default();
        if comm.ends_with("(workerd") && pgrp == group {
            pids.push(pid);
        }
    }
    assert!(!pids.is_empty(), "no workerd in process group {group}");
    pids
}

fn status_kib(pid: u32, field: &str) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        .unwrap_or(0)
}

/// A measured download.
pub struct Download {
    /// workerd's peak RSS in MiB, summed over its processes.
    pub peak: f64,
    /// What the body hashed to.
    pub digest: String,
}

/// workerd's peak RSS in MiB (summed over its processes) while `req` downloads
/// `size` bytes into `keep`, the peak reset first.
pub fn peak_while_downloading(req: Req<'_>, size: u64, keep: impl Write) -> Download {
    let pids = workerd_pids();
    for &pid in &pids {
        fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();
    }
    let t = Instant::now();
    let s = req.timeout(Duration::from_secs(600)).stream();
    assert_eq!(s.status, 200);
    let (digest, n) = sha256_stream(Tee(s.reader, keep)).unwrap();
    assert_eq!(n, size, "the whole body arrived");
    let peak: u64 = pids.iter().map(|&p| status_kib(p, "VmHWM")).sum();
    let peak = peak as f64 / 1024.0;
    eprintln!(
        "{} MiB downloaded in {:.1?}; workerd peak RSS {peak:.1} MiB",
        size / MIB,
        t.elapsed()
    );
    Download { peak, digest }
}

/// A reader that also writes what it reads: the measured download is the one
/// kept, as a second 1 GiB download right after the first can stall the local
/// runtime for minutes (docs/bundles.md).
struct Tee<R, W>(R, W);

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.read(buf)?;
        self.1.write_all(&buf[..n])?;
        Ok(n)
    }
}
