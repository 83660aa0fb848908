//! `eka-run plan`: what `build` would build, and why: the parts of the evaluation's identity,
//! the identity, and the derivation, without building; from a plan record when there is one
//! (then also where it was read).

use std::io::Write as _;

use super::target::Target;
use crate::backend::Evaluator as _;
use crate::canonical::Value;
use crate::jail::SandboxOptions;
use crate::nix::command::Program;

/// Arguments of `eka-run plan`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: Target,
    /// Print one canonical JSON object (RFC 8785) instead of `name value` lines
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub sandbox: SandboxOptions,
}

/// `eka-run plan`: print the plan.
pub fn run(args: &Args) -> anyhow::Result<u8> {
    let opened = args
        .target
        .open(&args.sandbox, Program::Nix.find_on_path())?;
    let identity = opened.identity.clone();
    let (derivation, record) = match &opened.record {
        Some(found) => (found.derivation(), Some(found.url.clone())),
        None => {
            let request = opened.request()?;
            let derivation = args.target.evaluator(&args.sandbox).derivation(&request)?;
            (derivation, None)
        }
    };
    let id = &identity;
    let s = |v: &str| Value::String(v.to_owned());
    let outputs = Value::Object(
        derivation
            .outputs
            .iter()
            .map(|(name, path)| (name.clone(), s(path)))
            .collect(),
    );
    let text = if args.json {
        let Value::Object(mut members) = id.parts() else {
            unreachable!("the parts are an object");
        };
        members.extend([
            ("identity".into(), s(&id.digest())),
            ("drvPath".into(), s(&derivation.drv_path)),
            ("outputs".into(), outputs),
        ]);
        if let Some(url) = &record {
            members.push(("record".into(), s(url)));
        }
        members.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
        format!("{}\n", Value::Object(members))
    } else {
        let mut lines = vec![
            format!("atom {}", id.atom),
            format!("lock {}", id.lock),
            format!("config {}", id.config),
            format!("system {}", id.system),
            format!("attribute {}", id.attribute.as_deref().unwrap_or("")),
            format!("identity {}", id.digest()),
            format!("derivation {}", derivation.drv_path),
        ];
        lines.extend(
            derivation
                .outputs
                .iter()
                .map(|(name, path)| format!("output {name} {path}")),
        );
        lines.extend(record.iter().map(|url| format!("record {url}")));
        lines.join("\n") + "\n"
    };
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    Ok(0)
}
