//! An upstream for pull-through tests (docs/pull-through.md): the reference
//! registry, CNCF distribution with htpasswd auth and its access log on, started
//! on a free loopback port (scripts/start-reference-registry.sh).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use crate::{free_port, random_hex, start_reference_registry, Registry};

/// The reference registry (CNCF distribution, htpasswd auth, its access log on)
/// on a free loopback port, stopped when dropped.
pub struct Upstream {
    pub registry: Registry,
    pid: String,
    data: PathBuf,
    port: u16,
    pub password: String,
}

impl Upstream {
    pub fn start(data: &Path) -> Upstream {
        let port = free_port();
        let password = random_hex(12);
        let mut upstream = Upstream {
            registry: Registry::new(&format!("http://127.0.0.1:{port}"), "up", &password),
            pid: String::new(),
            data: data.to_path_buf(),
            port,
            password,
        };
        upstream.run();
        upstream
    }

    pub fn run(&mut self) {
        self.pid = start_reference_registry(self.port, "up", &self.password, &self.data);
    }

    pub fn stop(&self) {
        Command::new("kill").arg(&self.pid).status().unwrap();
        std::thread::sleep(Duration::from_millis(300));
    }

    /// How many requests the access log shows for paths containing `part`.
    pub fn requests_for(&self, part: &str) -> usize {
        let log = std::fs::read_to_string(self.data.join("registry.log")).unwrap_or_default();
        log.lines().filter(|l| l.contains(part)).count()
    }

    pub fn setting(&self, repository: &str) -> Value {
        json!({"url": self.registry.url, "repository": repository, "auth": "basic",
            "username": "up", "password": self.password})
    }

    /// The blob file of `digest` in distribution's storage.
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.data.join(format!(
            "storage/docker/registry/v2/blobs/sha256/{}/{hex}/data",
            &hex[..2]
        ))
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop();
    }
}
