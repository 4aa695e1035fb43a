//! `quarry serve` and `quarry tokens`.

use std::io::Write;

use anyhow::bail;
use clap::{Args, Subcommand};

use crate::ask::store::Store;
use crate::config::Config;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: server.host, 127.0.0.1]; 0.0.0.0 to
    /// accept other machines.
    #[arg(long)]
    pub host: Option<String>,
    /// Port [default: server.port, 8080]; 0 picks a free one.
    #[arg(long)]
    pub port: Option<u16>,
    /// Require a bearer token on the API (tokens: `quarry tokens create`).
    #[arg(long)]
    pub auth: bool,
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Make a new API token; it is printed once and stored only as a hash.
    Create {
        /// Who or what the token is for, e.g. "slack-bot".
        name: String,
    },
    /// Tokens by id and name (never the tokens themselves).
    List,
    /// Revoke a token by its id; requests using it are refused at once.
    Revoke { id: i64 },
}

pub async fn serve(cfg: &Config, args: &ServeArgs) -> anyhow::Result<()> {
    let mut cfg = cfg.clone();
    if let Some(h) = &args.host {
        cfg.server.host = h.clone();
    }
    if let Some(p) = args.port {
        cfg.server.port = p;
    }
    if args.auth {
        cfg.server.auth = true;
    }
    cfg.validate()?;
    if cfg.server.auth {
        let store = Store::open(&cfg.data_dir.join("quarry.sqlite"))?;
        if !store.tokens()?.iter().any(|t| !t.revoked) {
            bail!(
                "server.auth is on but there is no token yet, so nobody could use the API; make one with `quarry tokens create <name>` first"
            );
        }
    }
    let vendor = cfg
        .data_dir
        .join("web/node_modules/vega-embed/build/vega-embed.min.js");
    if !vendor.exists() {
        eprintln!(
            "warning: the chart libraries are not installed in {}, so the web chat will show tables without charts; run `make setup` (npm ci) to install them",
            cfg.data_dir.join("web").display()
        );
    }
    crate::serve::run(cfg, |addr| {
        let host = if addr.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else {
            addr.ip().to_string()
        };
        // Whoever started the server may stop reading its output; that is
        // no reason to stop serving.
        let mut out = std::io::stdout();
        let _ = writeln!(out, "Quarry is listening on http://{host}:{}/", addr.port());
        let _ = writeln!(
            out,
            "  web chat: open that address in a browser; API: /api/openapi.json; stop with Ctrl-C"
        );
        let _ = out.flush();
    })
    .await
}

pub fn tokens(cfg: &Config, cmd: &TokensCommand) -> anyhow::Result<()> {
    let store = Store::open(&cfg.data_dir.join("quarry.sqlite"))?;
    match cmd {
        TokensCommand::Create { name } => {
            let name = name.trim();
            if name.is_empty() {
                bail!("give the token a name, e.g. `quarry tokens create slack-bot`");
            }
            let token = new_token()?;
            let id = store.add_token(name, &crate::serve::token_hash(&token))?;
            println!("{token}");
            eprintln!(
                "token {id} ({name}) created; it is shown only this once. Send it as `Authorization: Bearer <token>`, and start the server with --auth (or server.auth = true)."
            );
        }
        TokensCommand::List => {
            let list = store.tokens()?;
            if list.is_empty() {
                println!("no tokens; make one with `quarry tokens create <name>`");
            }
            for t in list {
                println!(
                    "{:>4}  {:<24} {}  {}",
                    t.id,
                    t.name,
                    t.created_at,
                    if t.revoked { "revoked" } else { "active" }
                );
            }
        }
        TokensCommand::Revoke { id } => {
            if store.revoke_token(*id)? {
                println!("token {id} revoked");
            } else {
                bail!("there is no active token {id}; `quarry tokens list` shows them");
            }
        }
    }
    Ok(())
}

/// `qk_` and 32 random bytes in hex.
fn new_token() -> anyhow::Result<String> {
    use rand::TryRngCore;
    let mut b = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut b)
        .map_err(|e| anyhow::anyhow!("the system's random source failed: {e}"))?;
    Ok(format!(
        "qk_{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    ))
}
