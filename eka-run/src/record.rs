//! Plan records: what `eka-run build --to` writes beside a Nix binary cache so that another
//! machine runs a built atom without evaluating it (`docs/plan-record.md` is the normative
//! specification, with a test vector that the tests below check).
//!
//! A record says, for one evaluation [`Identity`]: the derivation it evaluated to, the derivation's
//! output paths and its main program. It is a short text, one `Name: value` field a line in a
//! fixed order, followed by one or more `Sig:` lines: Ed25519 signatures over every byte before
//! the first `Sig:` line, in the format Nix uses for a binary cache's `.narinfo` (`<key name>:
//! <base64 signature>`), made with a key of the format `nix-store --generate-binary-cache-key`
//! makes, so that one trusted key covers a cache's paths and its records.
//!
//! Parsing is strict (every field once, in order, each value checked), and a record is only
//! believed when its identity is the digest of its parts and a key the user trusts signed it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use data_encoding::BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use crate::identity::Identity;

/// The directory of a binary cache that holds its plan records.
pub const DIR: &str = "atom-plan";

/// The most bytes a record may have; a larger download is not a record.
pub const MAX_SIZE: u64 = 64 * 1024;

/// The first line of a record of this version.
const FIRST_LINE: &str = "PlanRecord: 1";

/// What a record says about an evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The evaluation's identity, by its parts.
    pub identity: Identity,
    /// The derivation the evaluation gave (`/nix/store/...drv`).
    pub derivation: String,
    /// The program `eka-run run` executes from the default output's `bin/`.
    pub main_program: String,
    /// The name of the default output (the derivation's `outPath`), one of `outputs`.
    pub default_output: String,
    /// Every output's path, by output name.
    pub outputs: BTreeMap<String, String>,
}

/// A record read from its bytes, with its signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// What it says.
    pub record: Record,
    /// The bytes the signatures sign: every line before the first `Sig:` line.
    body: String,
    /// The signatures: key name and signature.
    signatures: Vec<(String, [u8; 64])>,
}

/// Why a record, or a key, is not believed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The bytes are not a record of this version.
    #[error("it is not a plan record: {0}")]
    Malformed(String),
    /// The identity line is not the digest of the parts.
    #[error("its identity {claimed} is not the digest of its parts ({computed})")]
    Identity {
        /// What the record says.
        claimed: String,
        /// The digest of its parts.
        computed: String,
    },
    /// No signature is by a trusted key.
    #[error("it is signed by no key of `trusted-public-keys` (signed by: {0})")]
    Untrusted(String),
    /// A trusted key's signature does not verify.
    #[error("its signature by `{0}` does not verify")]
    BadSignature(String),
    /// A key cannot be read.
    #[error("`{key}` is not a {what} key of the form `<name>:<base64>`: {problem}")]
    Key {
        /// The key, a secret key shown by its name only.
        key: String,
        /// `secret` or `public`.
        what: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

impl Record {
    /// The record's fields, without signatures: the bytes a signature signs.
    pub fn body(&self) -> String {
        let id = &self.identity;
        let mut text = format!(
            "{FIRST_LINE}\nIdentity: {}\nAtom: {}\nLock: {}\nConfig: {}\nSystem: {}\n",
            id.digest(),
            id.atom,
            id.lock,
            id.config,
            id.system
        );
        if let Some(attribute) = &id.attribute {
            let _ = writeln!(text, "Attribute: {attribute}");
        }
        let _ = write!(
            text,
            "Derivation: {}\nMainProgram: {}\nDefaultOutput: {}\n",
            self.derivation, self.main_program, self.default_output
        );
        for (name, path) in &self.outputs {
            let _ = writeln!(text, "Output: {name} {path}");
        }
        text
    }

    /// The record signed by `key`: its bytes.
    pub fn sign(&self, key: &SecretKey) -> String {
        let body = self.body();
        let signature = key.key.sign(body.as_bytes());
        format!(
            "{body}Sig: {}:{}\n",
            key.name,
            BASE64.encode(&signature.to_bytes())
        )
    }

    /// Checks that every value is one a record may hold (what [`parse`] checks of each field).
    pub fn check(&self) -> Result<(), Error> {
        let id = &self.identity;
        let checks: [Check<'_>; 7] = [
            ("Atom", &id.atom, is_atom_part),
            ("Lock", &id.lock, is_digest),
            ("Config", &id.config, is_digest),
            ("System", &id.system, is_system),
            (
                "Attribute",
                id.attribute.as_deref().unwrap_or("x"),
                is_attribute,
            ),
            ("Derivation", &self.derivation, is_derivation),
            ("MainProgram", &self.main_program, is_program),
        ];
        for (field, value, ok) in checks {
            if !ok(value) {
                return Err(malformed(field, value));
            }
        }
        if !self.outputs.contains_key(&self.default_output) {
            return Err(malformed("DefaultOutput", &self.default_output));
        }
        for (name, path) in &self.outputs {
            if !is_output_name(name) || !is_store_path(path) {
                return Err(malformed("Output", &format!("{name} {path}")));
            }
        }
        Ok(())
    }
}

/// A field, its value and the test the value must pass.
type Check<'a> = (&'static str, &'a str, fn(&str) -> bool);

fn malformed(field: &str, value: &str) -> Error {
    Error::Malformed(format!(
        "`{field}: {}` is not a valid value",
        value.escape_debug()
    ))
}

/// Reads a record from `bytes`: strictly, every field in its place, each value checked, the
/// identity the digest of the parts. Its signatures are not checked yet ([`Signed::verify`]).
pub fn parse(bytes: &[u8]) -> Result<Signed, Error> {
    if bytes.len() as u64 > MAX_SIZE {
        return Err(Error::Malformed(format!(
            "it is larger than {MAX_SIZE} bytes"
        )));
    }
    let text =
        std::str::from_utf8(bytes).map_err(|_| Error::Malformed("it is not UTF-8 text".into()))?;
    let Some(text) = text.strip_suffix('\n') else {
        return Err(Error::Malformed("it does not end with a newline".into()));
    };
    let mut lines = text.split('\n').peekable();
    let first = take(&mut lines, "PlanRecord")?;
    if first != "1" {
        return Err(Error::Malformed(format!(
            "it is of version `{}`; this eka-run reads version 1",
            first.escape_debug()
        )));
    }
    let claimed = take(&mut lines, "Identity")?.to_owned();
    let atom = take(&mut lines, "Atom")?.to_owned();
    let lock = take(&mut lines, "Lock")?.to_owned();
    let config = take(&mut lines, "Config")?.to_owned();
    let system = take(&mut lines, "System")?.to_owned();
    let attribute = match lines.peek().and_then(|l| l.strip_prefix("Attribute: ")) {
        Some(value) => {
            lines.next();
            Some(value.to_owned())
        }
        None => None,
    };
    let derivation = take(&mut lines, "Derivation")?.to_owned();
    let main_program = take(&mut lines, "MainProgram")?.to_owned();
    let default_output = take(&mut lines, "DefaultOutput")?.to_owned();
    let mut outputs: BTreeMap<String, String> = BTreeMap::new();
    let mut signatures = Vec::new();
    for line in lines {
        if let Some(output) = line.strip_prefix("Output: ") {
            if !signatures.is_empty() {
                return Err(Error::Malformed(
                    "an `Output:` line follows a `Sig:` line".into(),
                ));
            }
            let (name, path) = output
                .split_once(' ')
                .ok_or_else(|| malformed("Output", output))?;
            if let Some((last, _)) = outputs.last_key_value() {
                if name <= last.as_str() {
                    return Err(Error::Malformed(
                        "its `Output:` lines are not sorted by output name, each once".into(),
                    ));
                }
            }
            outputs.insert(name.to_owned(), path.to_owned());
        } else if let Some(sig) = line.strip_prefix("Sig: ") {
            signatures.push(parse_signature(sig)?);
        } else {
            return Err(Error::Malformed(format!(
                "`{}` is not a field of a plan record",
                line.escape_debug()
            )));
        }
    }
    if signatures.is_empty() {
        return Err(Error::Malformed("it has no `Sig:` line".into()));
    }
    let record = Record {
        identity: Identity {
            atom,
            lock,
            config,
            system,
            attribute,
        },
        derivation,
        main_program,
        default_output,
        outputs,
    };
    record.check()?;
    if !is_digest(&claimed) {
        return Err(malformed("Identity", &claimed));
    }
    let computed = record.identity.digest();
    if claimed != computed {
        return Err(Error::Identity { claimed, computed });
    }
    let body = record.body();
    if !text.starts_with(&body[..body.len() - 1]) {
        // The fields were read back from the text, so this cannot differ; the check keeps the
        // signed bytes and the bytes received one and the same.
        return Err(Error::Malformed(
            "its fields are not in their canonical form".into(),
        ));
    }
    Ok(Signed {
        record,
        body,
        signatures,
    })
}

/// The value of the next line, which must be the field `name`.
fn take<'a>(lines: &mut impl Iterator<Item = &'a str>, name: &str) -> Result<&'a str, Error> {
    let line = lines
        .next()
        .ok_or_else(|| Error::Malformed(format!("it has no `{name}:` line")))?;
    line.strip_prefix(name)
        .and_then(|rest| rest.strip_prefix(": "))
        .ok_or_else(|| {
            Error::Malformed(format!(
                "`{}` is where its `{name}:` line belongs",
                line.escape_debug()
            ))
        })
}

fn parse_signature(text: &str) -> Result<(String, [u8; 64]), Error> {
    let bad = || malformed("Sig", text);
    let (name, b64) = text.split_once(':').ok_or_else(bad)?;
    if !is_key_name(name) {
        return Err(bad());
    }
    let bytes = BASE64.decode(b64.as_bytes()).map_err(|_| bad())?;
    let bytes: [u8; 64] = bytes.try_into().map_err(|_| bad())?;
    Ok((name.to_owned(), bytes))
}

impl Signed {
    /// The name of the first key of `trusted` whose signature on the record verifies; a record
    /// signed by none of them, or whose signature by one of them does not verify, is refused.
    pub fn verify(&self, trusted: &[PublicKey]) -> Result<&str, Error> {
        let mut names = Vec::new();
        for (name, bytes) in &self.signatures {
            names.push(name.as_str());
            let Some(key) = trusted.iter().find(|k| &k.name == name) else {
                continue;
            };
            let signature = Signature::from_bytes(bytes);
            return key
                .key
                .verify_strict(self.body.as_bytes(), &signature)
                .map(|()| name.as_str())
                .map_err(|_| Error::BadSignature(name.clone()));
        }
        Err(Error::Untrusted(names.join(", ")))
    }
}

/// A signing key in Nix's format: `<name>:<base64 of the 64-byte Ed25519 secret key>` (the
/// 32-byte seed, then the public key), as `nix-store --generate-binary-cache-key` writes it.
pub struct SecretKey {
    /// Its name.
    pub name: String,
    key: SigningKey,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKey")
            .field("name", &self.name)
            .finish()
    }
}

impl SecretKey {
    /// Reads a secret key file's text (surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let text = text.trim();
        let name = text.split_once(':').map_or("", |(n, _)| n);
        let err = |problem: &str| Error::Key {
            key: format!("{}:...", name.escape_debug()),
            what: "secret",
            problem: problem.to_owned(),
        };
        let (name, bytes) = key_parts(text).map_err(|p| err(&p))?;
        let bytes: [u8; 64] = bytes
            .try_into()
            .map_err(|_| err("an Ed25519 secret key has 64 bytes"))?;
        let key = SigningKey::from_keypair_bytes(&bytes)
            .map_err(|_| err("its public half is not the seed's public key"))?;
        Ok(SecretKey { name, key })
    }

    /// The public key, in Nix's format.
    pub fn public(&self) -> PublicKey {
        PublicKey {
            name: self.name.clone(),
            key: self.key.verifying_key(),
        }
    }
}

/// A public key in Nix's format: `<name>:<base64 of the 32-byte Ed25519 public key>`, as in
/// Nix's `trusted-public-keys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// Its name.
    pub name: String,
    key: VerifyingKey,
}

impl PublicKey {
    /// Reads a key as `trusted-public-keys` lists it.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let err = |problem: &str| Error::Key {
            key: text.escape_debug().to_string(),
            what: "public",
            problem: problem.to_owned(),
        };
        let (name, bytes) = key_parts(text.trim()).map_err(|p| err(&p))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| err("an Ed25519 public key has 32 bytes"))?;
        let key =
            VerifyingKey::from_bytes(&bytes).map_err(|_| err("it is not a point of the curve"))?;
        Ok(PublicKey { name, key })
    }
}

impl std::fmt::Display for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.name, BASE64.encode(self.key.as_bytes()))
    }
}

fn key_parts(text: &str) -> Result<(String, Vec<u8>), String> {
    let (name, b64) = text
        .split_once(':')
        .ok_or_else(|| "it has no `:`".to_owned())?;
    if !is_key_name(name) {
        return Err("its name is empty or holds a space, a control character or `:`".into());
    }
    let bytes = BASE64
        .decode(b64.as_bytes())
        .map_err(|_| "what follows the name is not base64".to_owned())?;
    Ok((name.to_owned(), bytes))
}

fn is_key_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name
            .chars()
            .any(|c| c == ':' || c.is_whitespace() || c.is_control())
}

fn is_digest(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A directory's content digest (64 hex digits) or an atom commit (40 or 64 hex digits).
fn is_atom_part(s: &str) -> bool {
    matches!(s.len(), 40 | 64) && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn is_system(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

fn is_attribute(s: &str) -> bool {
    !s.is_empty() && s.len() <= 4096 && !s.chars().any(char::is_control)
}

fn is_program(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s != "."
        && s != ".."
        && !s.chars().any(|c| c == '/' || c.is_control())
}

fn is_output_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
}

/// `/nix/store/<32 characters of Nix's base-32>-<name>`, the name as Nix allows it.
pub fn is_store_path(s: &str) -> bool {
    let Some(base) = s.strip_prefix("/nix/store/") else {
        return false;
    };
    let (hash, name) = base.split_at_checked(32).unwrap_or(("", ""));
    hash.len() == 32
        && hash
            .bytes()
            .all(|b| b"0123456789abcdfghijklmnpqrsvwxyz".contains(&b))
        && name.strip_prefix('-').is_some_and(|name| {
            !name.is_empty()
                && name.len() <= 211
                && !name.starts_with('.')
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-._?=".contains(&b))
        })
}

fn is_derivation(s: &str) -> bool {
    is_store_path(s) && s.ends_with(".drv")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification's test vector: its key, its record, its signature.
    fn spec() -> String {
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docs/plan-record.md"
        ))
        .expect("docs/plan-record.md")
    }

    /// The text of the fenced block after the line `marker` in the specification.
    fn block(spec: &str, marker: &str) -> String {
        let after = spec
            .split_once(marker)
            .unwrap_or_else(|| panic!("{marker} in docs/plan-record.md"))
            .1;
        let start = after.find("```text\n").expect("a text block") + "```text\n".len();
        let len = after[start..].find("```").expect("the end of the block");
        after[start..start + len].to_owned()
    }

    fn sample() -> Record {
        Record {
            identity: Identity {
                atom: "3f1c9e0b6a7d2e4f8091a2b3c4d5e6f708192a3b".into(),
                lock: "0".repeat(64),
                config: "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a".into(),
                system: "x86_64-linux".into(),
                attribute: Some("hello".into()),
            },
            derivation: "/nix/store/0c6kzph7l0dcbfmjap64f0czdafn3b7x-hello-1.0.drv".into(),
            main_program: "hello".into(),
            default_output: "out".into(),
            outputs: [(
                "out".to_owned(),
                "/nix/store/5rkb4a5h6y6n5k6m9xbllcn0y7v2dl9i-hello-1.0".to_owned(),
            )]
            .into(),
        }
    }

    #[test]
    fn the_specifications_test_vector_verifies_and_is_what_signing_writes() {
        let spec = spec();
        let secret = SecretKey::parse(&block(&spec, "<!-- vector: secret key -->")).unwrap();
        let public = PublicKey::parse(&block(&spec, "<!-- vector: public key -->")).unwrap();
        assert_eq!(secret.public(), public);
        assert_eq!(
            public.to_string(),
            block(&spec, "<!-- vector: public key -->").trim()
        );
        let text = block(&spec, "<!-- vector: record -->");
        let signed = parse(text.as_bytes()).unwrap();
        assert_eq!(
            signed.verify(std::slice::from_ref(&public)),
            Ok("example-cache-1")
        );
        assert_eq!(
            signed.record.sign(&secret),
            text,
            "Ed25519 signing is deterministic"
        );
        assert_eq!(
            block(&spec, "<!-- vector: identity -->").trim(),
            signed.record.identity.digest()
        );
    }

    #[test]
    fn a_signed_record_reads_back_and_verifies_only_with_its_key() {
        let secret = SecretKey::parse(&format!(
            "k-1:{}",
            BASE64.encode(&SigningKey::from_bytes(&[7; 32]).to_keypair_bytes())
        ))
        .unwrap();
        let other = SecretKey::parse(&format!(
            "k-2:{}",
            BASE64.encode(&SigningKey::from_bytes(&[8; 32]).to_keypair_bytes())
        ))
        .unwrap();
        let text = sample().sign(&secret);
        let signed = parse(text.as_bytes()).unwrap();
        assert_eq!(signed.record, sample());
        assert_eq!(signed.verify(&[other.public(), secret.public()]), Ok("k-1"));
        assert_eq!(
            signed.verify(&[other.public()]),
            Err(Error::Untrusted("k-1".into()))
        );
        // The other key under the trusted name: the signature does not verify.
        let impostor = PublicKey {
            name: "k-1".into(),
            key: other.public().key,
        };
        assert_eq!(
            signed.verify(&[impostor]),
            Err(Error::BadSignature("k-1".into()))
        );
        // Any change to a signed byte breaks the signature.
        let changed = text.replace("MainProgram: hello", "MainProgram: hellp");
        assert_eq!(
            parse(changed.as_bytes())
                .unwrap()
                .verify(&[secret.public()]),
            Err(Error::BadSignature("k-1".into()))
        );
    }

    #[test]
    fn a_record_is_refused_unless_every_field_is_in_place_and_valid() {
        let secret = SecretKey::parse(&format!(
            "k-1:{}",
            BASE64.encode(&SigningKey::from_bytes(&[7; 32]).to_keypair_bytes())
        ))
        .unwrap();
        let text = sample().sign(&secret);
        let cases: Vec<(String, &str)> = vec![
            (
                text.replace("PlanRecord: 1", "PlanRecord: 2"),
                "version `2`",
            ),
            (text.trim_end().to_owned(), "newline"),
            (text.replace("Atom: 3f", "Atom: 3F"), "Atom"),
            (
                text.replace("System: x86_64-linux", "System: x86 64"),
                "System",
            ),
            (
                text.replace("MainProgram: hello", "MainProgram: ../../bin/sh"),
                "MainProgram",
            ),
            (text.replace("/nix/store/5rkb", "/nix/stor/5rkb"), "Output"),
            (text.replace("-hello-1.0.drv", "-hello-1.0"), "Derivation"),
            (
                text.replace("Output: out", "Output: out /nix/store/x\nOutput: out"),
                "Output",
            ),
            (text.replace("Derivation:", "Deriver:"), "`Derivation:`"),
            (
                text.replace("DefaultOutput: out", "DefaultOutput: dev"),
                "DefaultOutput",
            ),
            (format!("{text}Extra: 1\n"), "not a field"),
            (
                text.split("Sig: ").next().unwrap().to_owned(),
                "no `Sig:` line",
            ),
            (text.replace("Sig: k-1:", "Sig: k-1:!!"), "Sig"),
            ("x".repeat(MAX_SIZE as usize + 1), "larger than"),
        ];
        for (bad, says) in cases {
            let err = parse(bad.as_bytes()).expect_err(&bad).to_string();
            assert!(err.contains(says), "{err} should say {says}: {bad}");
        }
        // A part changed without the identity: the identity line no longer matches.
        let moved = text.replace("System: x86_64-linux", "System: aarch64-linux");
        assert!(matches!(
            parse(moved.as_bytes()),
            Err(Error::Identity { .. })
        ));
    }

    #[test]
    fn keys_are_read_as_nix_writes_them() {
        let pair = SigningKey::from_bytes(&[9; 32]).to_keypair_bytes();
        let secret = SecretKey::parse(&format!("cache-1:{}\n", BASE64.encode(&pair))).unwrap();
        assert_eq!(secret.name, "cache-1");
        let mut wrong = pair;
        wrong[40] ^= 1;
        let err = SecretKey::parse(&format!("cache-1:{}", BASE64.encode(&wrong))).unwrap_err();
        assert!(err.to_string().contains("public half"), "{err}");
        assert!(!err.to_string().contains(&BASE64.encode(&wrong)), "{err}");
        for bad in ["nocolon", ":AAAA", "a b:AAAA", "k:not base64!"] {
            assert!(PublicKey::parse(bad).is_err(), "{bad}");
        }
        let err = PublicKey::parse(&format!("k:{}", BASE64.encode(&[1; 31]))).unwrap_err();
        assert!(err.to_string().contains("32 bytes"), "{err}");
    }

    #[test]
    fn store_paths_are_nixs() {
        assert!(is_store_path(
            "/nix/store/5rkb4a5h6y6n5k6m9xbllcn0y7v2dl9i-hello-1.0"
        ));
        for bad in [
            "/nix/store/5rkb4a5h6y6n5k6m9xbllcn0y7v2dl9i",
            "/nix/store/5rkb4a5h6y6n5k6m9xbllcn0y7v2dl9e-hello",
            "/nix/store/5rkb4a5h6y6n5k6m9xbllcn0y7v2dl9i-.hidden",
            "/nix/store/5rkb4a5h6y6n5k6m9xbllcn0y7v2dl9i-a/b",
            "/nix/store/5rkb4a5h6y6n5k6m9xbllcn0y7v2dl9-hello",
        ] {
            assert!(!is_store_path(bad), "{bad}");
        }
    }
}
