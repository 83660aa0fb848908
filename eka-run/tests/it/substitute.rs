//! Binary caches through Nix's own machinery: the user's `substituters` and
//! `trusted-public-keys` reach `eka-run build`'s realisation step (never the evaluation). Store
//! A builds an atom's derivation and `nix copy` puts the result, signed, into a binary cache
//! that a small HTTP server serves on loopback; a second, empty user store then builds the same
//! atom by substituting it, and a third, that trusts another key, refuses the cache and builds it
//! itself.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::build::{Fixture, ATOM};
use atom_tests::sandbox::*;

/// A static file server on loopback (HTTP/1.1, `GET` and `HEAD`, one request per connection),
/// recording every request path: what Nix asks a binary cache for.
struct FileServer {
    port: u16,
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FileServer {
    fn start(root: PathBuf) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (requests, stop) = (requests.clone(), stop.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(conn) = conn {
                        serve(conn, &root, &requests);
                    }
                }
            })
        };
        FileServer {
            port,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The request paths so far, emptying the record.
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.requests.lock().unwrap())
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(conn: TcpStream, root: &Path, requests: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(&conn);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    // The rest of the head: nothing in it matters here.
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => break,
            Ok(_) if header == "\r\n" || header == "\n" => break,
            Ok(_) => {}
        }
    }
    let mut words = line.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    requests.lock().unwrap().push(path.to_owned());
    let file = path
        .strip_prefix('/')
        .filter(|rel| !rel.split('/').any(|c| c == ".." || c.is_empty()))
        .map(|rel| root.join(rel))
        .and_then(|p| std::fs::read(p).ok());
    let mut conn = &conn;
    let _ = match file {
        Some(body) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            conn.write_all(head.as_bytes()).and_then(|()| match method {
                "HEAD" => Ok(()),
                _ => conn.write_all(&body),
            })
        }
        None => conn
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
    };
}

/// The build log Nix writes when it builds `drv` in the fixture's store (it writes none for a
/// substituted output).
fn build_log(f: &Fixture, drv: &str) -> PathBuf {
    let name = drv.strip_prefix("/nix/store/").expect("a store path");
    f.sb.path("home/.local/share/eka-run/nix/var/nix/log/drvs")
        .join(&name[..2])
        .join(format!("{}.bz2", &name[2..]))
}

fn plan_drv(f: &Fixture) -> (String, String) {
    let out = output(f.eka("plan", "hello").arg("--json"));
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let p: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    (
        p["drvPath"].as_str().unwrap().to_owned(),
        p["outputs"]["out"].as_str().unwrap().to_owned(),
    )
}

/// Generate a signing key pair named `name` in `f`'s directory: (secret file, public key).
fn key_pair(f: &Fixture, name: &str) -> (PathBuf, String) {
    let (secret, public) = (
        f.sb.path(&format!("{name}.sec")),
        f.sb.path(&format!("{name}.pub")),
    );
    let out = output(
        f.sb.eka_run()
            .args(["nix-store", "--generate-binary-cache-key", name])
            .args([&secret, &public]),
    );
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let public = std::fs::read_to_string(&public).unwrap().trim().to_owned();
    assert!(public.starts_with(&format!("{name}:")), "{public}");
    (secret, public)
}

#[test]
fn a_second_store_substitutes_the_build_from_a_signed_binary_cache() {
    // Store A builds the atom's derivation, signs the result and copies it into a binary cache.
    let a = Fixture::new(ATOM);
    let (drv, out_path) = plan_drv(&a);
    let out = output(&mut a.eka("build", "hello"));
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert_eq!(stdout(&out), format!("{out_path}\n"));
    assert!(
        build_log(&a, &drv).is_file(),
        "store A built it, so it has the build log: {}",
        build_log(&a, &drv).display()
    );
    let (secret, public) = key_pair(&a, "test-cache-1");
    let cache = a.sb.path("cache");
    let to = format!(
        "file://{}?secret-key={}&compression=none",
        cache.display(),
        secret.display()
    );
    let out = output(a.sb.eka_run().args([
        "nix",
        "--extra-experimental-features",
        "nix-command",
        "copy",
        "--to",
        &to,
        &out_path,
    ]));
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let narinfo = |p: &str| format!("{}.narinfo", &p["/nix/store/".len()..][..32]);
    let signed = std::fs::read_to_string(cache.join(narinfo(&out_path))).unwrap();
    assert!(
        signed.contains("Sig: test-cache-1:"),
        "the cache's narinfo is signed: {signed}"
    );
    let server = FileServer::start(cache);

    // Store B: empty but for busybox (the evaluation reads it), configured with the cache and
    // its key in the user's own Nix configuration.
    let b = Fixture::new(ATOM);
    b.sb.write(
        "nix-conf/user.conf",
        &format!(
            "substituters = {}\ntrusted-public-keys = {public}\n",
            server.url()
        ),
        0o644,
    );
    b.sb.chown();
    assert_eq!(
        plan_drv(&b),
        (drv.clone(), out_path.clone()),
        "the same derivation"
    );
    // The evaluation never asks a substituter; plan only looks for a plan record (there is
    // none: this cache has only Nix's files).
    let asked = server.take();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(
        asked[0].starts_with("/atom-plan/") && asked[0].ends_with(".plan"),
        "{asked:?}"
    );
    assert!(!b.in_store(&out_path).exists());
    let out = output(&mut b.eka("build", "hello"));
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert_eq!(stdout(&out), format!("{out_path}\n"));
    assert!(
        stderr(&out).contains(&format!(
            "copying path '{out_path}' from '{}'",
            server.url()
        )),
        "substituted from the cache: {}",
        stderr(&out)
    );
    let asked = server.take();
    assert!(
        asked.contains(&format!("/{}", narinfo(&out_path))),
        "{asked:?}"
    );
    assert!(asked.iter().any(|p| p.starts_with("/nar/")), "{asked:?}");
    assert!(
        !asked.iter().any(|p| p.starts_with("/atom-plan/")),
        "plan's evaluation is in the evaluation cache, so no plan record is looked for: {asked:?}"
    );
    assert!(
        !build_log(&b, &drv).exists(),
        "the builder did not run in store B"
    );
    let out = output(&mut b.eka("run", "hello"));
    assert_eq!(stdout(&out), "hello world\n", "stderr: {}", stderr(&out));

    // Store C trusts another key: the cache's signature does not count, so Nix fetches no NAR
    // and builds the derivation itself.
    let c = Fixture::new(ATOM);
    let (_, other) = key_pair(&c, "other-cache-1");
    c.sb.write(
        "nix-conf/user.conf",
        &format!(
            "substituters = {}\ntrusted-public-keys = {other}\n",
            server.url()
        ),
        0o644,
    );
    c.sb.chown();
    let out = output(&mut c.eka("build", "hello"));
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert_eq!(stdout(&out), format!("{out_path}\n"));
    assert!(
        !stderr(&out).contains("copying path"),
        "nothing substituted: {}",
        stderr(&out)
    );
    let asked = server.take();
    assert!(
        asked.contains(&format!("/{}", narinfo(&out_path))),
        "Nix asked the cache: {asked:?}"
    );
    assert!(
        !asked.iter().any(|p| p.starts_with("/nar/")),
        "and fetched no NAR: {asked:?}"
    );
    assert!(build_log(&c, &drv).is_file(), "the builder ran in store C");
}
