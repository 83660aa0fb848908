//! `https://` remotes: smart HTTP over TLS on loopback (lighttpd with its TLS module, a
//! certificate authority made by the test), trusted the ways git is told to trust one, and
//! refused when it is not trusted.

use atom_tests::{ConnectProxy, HttpOptions, HttpServer};

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

/// `app`, an atom of a new repository, depends on `foo` of `url`: `git atom add` resolves and
/// locks it, and `resolve --locked` finds the lock current.
fn add_and_resolve(f: &Fixture, url: &str) {
    let env = &f.env;
    let repo = env.init("app");
    env.atom(&repo, "app", "app", "0.1.0");
    env.commit_all(&repo, "app");
    let app = repo.join("app");
    env.git(&app, ["atom", "add", &format!("{url}::foo@~1.1")])
        .success();
    let lock = std::fs::read_to_string(app.join("atom.lock")).unwrap();
    assert!(lock.contains(&f.src_ref("refs/atoms/foo/1.1.0")), "{lock}");
    env.git(&app, ["atom", "resolve", "--locked"]).success();
}

/// git (the oracle) lists and pushes over `url`; then everything of ours works over it too:
/// `git clone atom::`, `ls-remote`, fetch and push through the helper, `git atom ls`,
/// `publish`, `add` and `resolve`.
fn works_as_with_git(f: &Fixture, url: &str, name: &str) {
    let env = &f.env;
    let listed = env.git(env.root(), ["ls-remote", url]).success();
    assert!(
        listed.stdout.contains("refs/atoms/foo/1.1.0"),
        "{}",
        listed.stdout
    );
    env.git(&f.src, ["push", "-q", url, "main:refs/heads/oracle"])
        .success();
    exercise(f, url, name);
    list_and_publish(f, url);
    add_and_resolve(f, url);
}

/// git fails on `url`, and so do `git atom ls` and `git clone atom::`, naming the URL.
fn fails_as_with_git(f: &Fixture, url: &str) {
    let env = &f.env;
    let oracle = env.git(env.root(), ["ls-remote", url]);
    assert_ne!(oracle.code, 0, "git accepted {url}: {}", oracle.stdout);
    let ls = env.git(env.root(), ["atom", "ls", url, "foo"]);
    assert_eq!(ls.code, 1, "{}{}", ls.stdout, ls.stderr);
    assert!(ls.stderr.contains(url), "{}", ls.stderr);
    let clone = env.git(
        env.root(),
        ["clone", &format!("atom::{url}::foo"), "refused"],
    );
    assert_ne!(clone.code, 0, "{}", clone.stderr);
    assert!(!env.path("refused").join("atom.toml").exists());
}

fn server(f: &Fixture, options: HttpOptions) -> HttpServer {
    HttpServer::start_with_options(&f.env, &f.env.path("srv"), &options)
}

fn tls() -> HttpOptions {
    HttpOptions {
        tls: true,
        ..HttpOptions::default()
    }
}

#[test]
fn a_self_signed_certificate_trusted_as_its_own_authority() {
    let f = Fixture::new();
    let server = server(
        &f,
        HttpOptions {
            self_signed: true,
            ..tls()
        },
    );
    let url = server.url("remote.git");
    fails_as_with_git(&f, &url);
    let cert = server.ca.as_ref().unwrap();
    f.env
        .append_global_config(&format!("[http]\n\tsslCAInfo = {}\n", cert.display()));
    works_as_with_git(&f, &url, "self-signed");
}

#[test]
fn an_internal_authority_chain_trusted_by_its_root() {
    let f = Fixture::new();
    let server = server(
        &f,
        HttpOptions {
            chain: true,
            ..tls()
        },
    );
    let url = server.url("remote.git");
    fails_as_with_git(&f, &url);
    f.env.set_env("GIT_SSL_CAINFO", server.ca.as_ref().unwrap());
    works_as_with_git(&f, &url, "chain");
}

#[test]
fn an_authority_in_http_ssl_ca_path() {
    let f = Fixture::new();
    let server = server(&f, tls());
    let url = server.url("remote.git");
    let dir = f.env.path("cas");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(server.ca.as_ref().unwrap(), dir.join("test-ca.pem")).unwrap();
    f.env.run(&dir, "openssl", ["rehash", "."]).success();
    f.env
        .append_global_config(&format!("[http]\n\tsslCAPath = {}\n", dir.display()));
    works_as_with_git(&f, &url, "ca-path");
}

#[test]
fn http_ssl_verify_false_trusts_any_certificate() {
    let f = Fixture::new();
    let server = server(&f, tls());
    let url = server.url("remote.git");
    f.env.append_global_config("[http]\n\tsslVerify = false\n");
    works_as_with_git(&f, &url, "no-verify");
}

#[test]
fn a_client_certificate_from_http_ssl_cert_and_key() {
    let f = Fixture::new();
    let server = server(
        &f,
        HttpOptions {
            client_certificate: true,
            ..tls()
        },
    );
    let url = server.url("remote.git");
    let certs = server.certs.as_ref().unwrap();
    f.env
        .append_global_config(&format!("[http]\n\tsslCAInfo = {}\n", certs.ca.display()));
    fails_as_with_git(&f, &url);
    f.env.append_global_config(&format!(
        "[http]\n\tsslCert = {}\n\tsslKey = {}\n",
        certs.client.0.display(),
        certs.client.1.display()
    ));
    works_as_with_git(&f, &url, "client-cert");
}

#[test]
fn through_a_proxy_in_http_proxy() {
    let f = Fixture::new();
    let server = server(&f, tls());
    let url = server.url("remote.git");
    f.env.append_global_config(&format!(
        "[http]\n\tsslCAInfo = {}\n",
        server.ca.as_ref().unwrap().display()
    ));
    // A proxy that is not there: git fails, and so do we.
    let closed = atom_tests::free_port();
    f.env
        .append_global_config(&format!("[http]\n\tproxy = http://127.0.0.1:{closed}\n"));
    fails_as_with_git(&f, &url);
    let proxy = ConnectProxy::start();
    f.env
        .append_global_config(&format!("[http]\n\tproxy = {}\n", proxy.url()));
    let before = proxy.tunnels();
    f.env
        .git(f.env.root(), ["atom", "ls", &url, "foo"])
        .success();
    assert!(
        proxy.tunnels() > before,
        "the listing did not go through the proxy"
    );
    works_as_with_git(&f, &url, "proxy");
}

const USER: &str = "atom";
const PASSWORD: &str = "s3cret";

fn basic_auth() -> HttpOptions {
    HttpOptions {
        basic_auth: Some((USER.to_owned(), PASSWORD.to_owned())),
        ..tls()
    }
}

#[test]
fn a_token_in_http_extra_header() {
    let f = Fixture::new();
    let server = server(&f, basic_auth());
    let url = server.url("remote.git");
    f.env.append_global_config(&format!(
        "[http]\n\tsslCAInfo = {}\n",
        server.ca.as_ref().unwrap().display()
    ));
    fails_as_with_git(&f, &url);
    // base64 of `atom:s3cret`.
    f.env
        .append_global_config("[http]\n\textraHeader = Authorization: Basic YXRvbTpzM2NyZXQ=\n");
    works_as_with_git(&f, &url, "extra-header");
}

#[test]
fn a_password_from_a_credential_helper() {
    let f = Fixture::new();
    let server = server(&f, basic_auth());
    let url = server.url("remote.git");
    f.env.append_global_config(&format!(
        "[http]\n\tsslCAInfo = {}\n",
        server.ca.as_ref().unwrap().display()
    ));
    fails_as_with_git(&f, &url);
    std::fs::write(
        f.env.home().join(".git-credentials"),
        format!("https://{USER}:{PASSWORD}@127.0.0.1:{}\n", server.port),
    )
    .unwrap();
    f.env
        .append_global_config("[credential]\n\thelper = store\n");
    works_as_with_git(&f, &url, "credential-helper");
}

/// git sends a credential helper's password over plain `http://` when the server asks for
/// one; so do we.
#[test]
fn a_password_from_a_credential_helper_over_plain_http() {
    let f = Fixture::new();
    let server = server(
        &f,
        HttpOptions {
            basic_auth: Some((USER.to_owned(), PASSWORD.to_owned())),
            ..HttpOptions::default()
        },
    );
    let url = server.url("remote.git");
    assert!(url.starts_with("http://"), "{url}");
    fails_as_with_git(&f, &url);
    std::fs::write(
        f.env.home().join(".git-credentials"),
        format!("http://{USER}:{PASSWORD}@127.0.0.1:{}\n", server.port),
    )
    .unwrap();
    f.env
        .append_global_config("[credential]\n\thelper = store\n");
    works_as_with_git(&f, &url, "credential-helper-http");
}
