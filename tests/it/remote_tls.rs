//! `https://` remotes: smart HTTP over TLS on loopback (lighttpd with its TLS module, a
//! certificate authority made by the test), trusted the ways git is told to trust one, and
//! refused when it is not trusted.

use atom_tests::HttpServer;

use crate::remote_transport::{exercise, Fixture};

/// Lists with `git atom ls <url>`, then publishes a new version to the `https://` remote.
fn list_and_publish(f: &Fixture, url: &str) {
    let env = &f.env;
    let ls = env.git(env.root(), ["atom", "ls", url, "foo"]).success();
    assert!(ls.stdout.contains("foo"), "{}", ls.stdout);
    assert!(ls.stdout.contains("1.1.0"), "{}", ls.stdout);

    env.git_ok(&f.src, &["remote", "set-url", "origin", url]);
    env.atom(&f.src, "pkgs/foo", "foo", "3.0.0");
    env.commit_all(&f.src, "foo 3.0.0");
    env.git_ok(&f.src, &["push", "-q", "origin", "main"]);
    env.git(&f.src, ["atom", "publish", "pkgs/foo"]).success();
    assert_eq!(
        f.remote_ref("refs/atoms/foo/3.0.0"),
        Some(f.src_ref("refs/atoms/foo/3.0.0"))
    );
}

#[test]
fn over_https_trusted_by_http_ssl_ca_info() {
    let f = Fixture::new();
    let server = HttpServer::start_tls(&f.env, &f.env.path("srv"));
    let ca = server.ca.as_ref().unwrap();
    f.env
        .append_global_config(&format!("[http]\n\tsslCAInfo = {}\n", ca.display()));
    let url = server.url("remote.git");
    exercise(&f, &url, "https");
    list_and_publish(&f, &url);
}

#[test]
fn over_https_trusted_by_git_ssl_cainfo() {
    let f = Fixture::new();
    let server = HttpServer::start_tls(&f.env, &f.env.path("srv"));
    f.env.set_env("GIT_SSL_CAINFO", server.ca.as_ref().unwrap());
    let url = server.url("remote.git");
    exercise(&f, &url, "https-env");
    list_and_publish(&f, &url);
}

#[test]
fn over_https_trusted_by_git_dash_c() {
    let f = Fixture::new();
    let server = HttpServer::start_tls(&f.env, &f.env.path("srv"));
    let trust = format!("http.sslCAInfo={}", server.ca.as_ref().unwrap().display());
    let url = server.url("remote.git");
    let ls = f
        .env
        .git(f.env.root(), ["-c", &trust, "atom", "ls", &url, "foo"])
        .success();
    assert!(ls.stdout.contains("1.1.0"), "{}", ls.stdout);
}

#[test]
fn an_untrusted_certificate_is_refused() {
    let f = Fixture::new();
    let server = HttpServer::start_tls(&f.env, &f.env.path("srv"));
    let url = server.url("remote.git");
    let env = &f.env;

    let ls = env.git(env.root(), ["atom", "ls", &url, "foo"]);
    assert_ne!(ls.code, 0, "{}", ls.stdout);
    assert!(ls.stderr.contains(&url), "{}", ls.stderr);
    assert!(
        ls.stderr.to_lowercase().contains("certificate"),
        "{}",
        ls.stderr
    );
    assert!(!ls.stdout.contains("1.1.0"), "{}", ls.stdout);

    let clone = env.git(env.root(), ["clone", &format!("atom::{url}::foo")]);
    assert_ne!(clone.code, 0, "{}", clone.stderr);
    assert!(
        clone.stderr.to_lowercase().contains("certificate"),
        "{}",
        clone.stderr
    );
    assert!(!env.path("foo").join("atom.toml").exists());

    // The same server, once trusted, answers: the refusal was about trust alone.
    env.set_env("GIT_SSL_CAINFO", server.ca.as_ref().unwrap());
    env.git(env.root(), ["atom", "ls", &url, "foo"]).success();
}
