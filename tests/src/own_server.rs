//! A Tollgate of a test's own, started by `scripts/serve-test.sh` with extra
//! environment (no Queue binding, another cache TTL), for the tests that need a
//! server configured unlike the suite's; dropping it (also when the test panics)
//! kills its process group.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::sleep;
use std::time::Duration;

use crate::{Registry, TempDir};

pub struct OwnServer {
    /// The server, as its admin's token.
    pub registry: Registry,
    pid: String,
    state: TempDir,
}

impl OwnServer {
    pub fn start(env: &[(&str, &str)]) -> OwnServer {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let state = TempDir::new("own-server");
        let out = Command::new(root.join("scripts/serve-test.sh"))
            .arg(state.path())
            .envs(env.iter().copied())
            .current_dir(&root)
            .output()
            .expect("scripts/serve-test.sh runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "scripts/serve-test.sh failed ({}; build the workers first with \
             scripts/build-worker.sh):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let vars: HashMap<&str, &str> = stdout
            .lines()
            .filter_map(|l| l.strip_prefix("export "))
            .flat_map(str::split_whitespace)
            .filter_map(|kv| kv.split_once('='))
            .collect();
        let var = |k: &str| {
            vars.get(k)
                .unwrap_or_else(|| panic!("serve-test.sh exported no {k}: {stdout}"))
                .to_string()
        };
        let registry = Registry::new(
            &var("TOLLGATE_URL"),
            &var("TOLLGATE_USER"),
            &var("TOLLGATE_PASSWORD"),
        );
        OwnServer {
            registry,
            pid: var("TOLLGATE_PID"),
            state,
        }
    }

    /// The server's wrangler dev log.
    pub fn log_path(&self) -> PathBuf {
        self.state.join("wrangler.log")
    }

    /// The server's state directory (its local D1 database and R2 bucket).
    pub fn state(&self) -> &Path {
        self.state.path()
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let group = format!("-{}", self.pid);
        let _ = Command::new("kill").args(["--", &group]).status();
        // Gone before its state directory is removed.
        for _ in 0..50 {
            let alive = Command::new("kill")
                .args(["-0", "--", &group])
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !alive {
                return;
            }
            sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill").args(["-9", "--", &group]).status();
    }
}
