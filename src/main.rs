//! The `clustergpt` binary: parses flags, runs, maps the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use clustergpt::cli::{self, Cli, Status};

fn main() -> ExitCode {
    // One rustls provider (ring) for kube and octocrab alike, before any client is built.
    clustergpt::cluster::install_crypto_provider();
    let cli = Cli::parse();
    match cli::run(cli) {
        Ok(status) => ExitCode::from(status as u8),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("clustergpt: error: {e:#}");
            ExitCode::from(Status::Error as u8)
        }
    }
}

/// A closed pipe (`clustergpt ... | head`) is not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe))
    })
}
