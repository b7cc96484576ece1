//! Racing requests on one upload session, sent for real: whatever the interleaving,
//! a blob the registry stores must read back as bytes that hash to its digest
//! (docs/registry.md, "Uploads").

use std::io::{self, Read};
use std::sync::mpsc::{channel, Receiver};
use std::thread;
use std::time::Duration;

use tollgate_e2e::*;

/// How long the slow request's first bytes get to reach the worker, which then has
/// read the session and waits for the rest of the body.
const HEAD_START: Duration = Duration::from_millis(1500);

/// A body that sends its first half, then waits for a signal before the rest: a
/// client on a slow link.
struct Trickle {
    data: Vec<u8>,
    sent: usize,
    release: Receiver<()>,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let half = self.data.len() / 2;
        if self.sent == half {
            // A closed channel releases too: the other side is done either way.
            let _ = self.release.recv();
        }
        let end = if self.sent < half {
            half
        } else {
            self.data.len()
        };
        let n = buf.len().min(end - self.sent);
        buf[..n].copy_from_slice(&self.data[self.sent..self.sent + n]);
        self.sent += n;
        Ok(n)
    }
}

fn patch_at_zero(location: &str, body: impl Read, len: usize) -> Resp {
    registry()
        .patch(location)
        .header("Content-Type", "application/octet-stream")
        .header("Content-Range", &format!("0-{}", len - 1))
        .reader(body, Some(len as u64))
}

/// Two PATCHes at offset 0 of one session: the slow one reads the session first,
/// the fast one completes while the slow one's body trickles. Then the upload is
/// finished with the digest of what the registry accepted.
fn race_once(round: usize) {
    let reg = registry();
    let repo = unique_repo("upload-race");
    let location = reg.post(&uploads_path(&repo)).call().expect(202).location();
    let fast = random_bytes(4096);
    let slow = random_bytes(4096);
    let (release, released) = channel();
    let slow_status = thread::scope(|s| {
        let slow_patch = s.spawn(|| {
            let body = Trickle {
                data: slow.clone(),
                sent: 0,
                release: released,
            };
            patch_at_zero(&location, body, slow.len()).status
        });
        thread::sleep(HEAD_START);
        patch_at_zero(&location, &fast[..], fast.len()).expect(202);
        release.send(()).unwrap();
        slow_patch.join().unwrap()
    });
    let digest = sha256_digest(&fast);
    let finished = reg
        .put(&with_query(&location, &format!("digest={digest}")))
        .call();
    assert_eq!(finished.status, 201, "round {round}: {finished:?}");
    let stored = reg.get(&blob_path(&repo, &digest)).call();
    stored.expect(200);
    assert_eq!(
        sha256_digest(&stored.body),
        digest,
        "round {round}: the blob's bytes do not hash to its digest (the slow PATCH, \
         answered {slow_status}, overwrote what the fast one stored)"
    );
}

#[test]
fn two_patches_at_one_offset_never_corrupt_the_blob() {
    for round in 0..3 {
        race_once(round);
    }
}
