//! `fushi-demo`: the project in one command (see [`demo`]).

mod demo;

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// Seed sample Fushi data, run three phones through their stories against
/// a real server on loopback, and print what each sees.
#[derive(Parser)]
#[command(name = "fushi-demo", version, about)]
struct Cli {
    /// Keep the server's data in this file instead of a temporary one.
    #[arg(long)]
    db: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    match demo::run(cli.db) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fushi-demo: {e}");
            ExitCode::FAILURE
        }
    }
}
