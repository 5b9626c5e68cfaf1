//! fushi-bench: the core's writes, merges, wire size, storage and offline
//! queries, side by side with plain SQLite and Loro on the same generated
//! data in one run, with repeated runs and medians, checked against targets.
//!
//! ```text
//! cargo run --release -p fushi-bench -- [--quick] [--out FILE]
//! cargo run --release -p fushi-bench -- load [--help]   # many phones at once (load.rs)
//! ```
//!
//! Every figure goes to a JSON file (default `target/bench-results.json`),
//! one key per figure; a table of the targets is printed at the end.

mod data;
mod hostile;
mod load;
mod loro_side;
mod mem;
mod photos;
mod plain;
mod report;
mod sections;

use std::path::PathBuf;

#[global_allocator]
static ALLOC: mem::Counting = mem::Counting;

/// Sizes and repeats of one run.
#[derive(Clone, Debug)]
pub struct Sizes {
    /// Posts, one transaction each.
    pub posts: usize,
    /// Items in the bulk insert and the full replica.
    pub bulk: usize,
    /// Single-field edits.
    pub edits: usize,
    /// Rows per `apply_remote` call.
    pub page: usize,
    /// Station counts for the nearest-station query.
    pub stations: Vec<usize>,
    /// Repeats of every timed section.
    pub repeats: usize,
    /// Queries timed per query figure.
    pub queries: usize,
    /// Listings of the community for the first end-to-end sync.
    pub sync_community: usize,
    /// Phones syncing at once.
    pub sync_phones: usize,
    /// Changes each of those phones pushes.
    pub sync_changes: usize,
}

impl Sizes {
    fn full() -> Sizes {
        Sizes {
            posts: 10_000,
            bulk: 100_000,
            edits: 10_000,
            page: 1000,
            stations: vec![10_000, 100_000],
            repeats: 3,
            queries: 300,
            sync_community: 20_000,
            sync_phones: 100,
            sync_changes: 50,
        }
    }

    fn quick() -> Sizes {
        Sizes {
            posts: 1000,
            bulk: 10_000,
            edits: 1000,
            page: 1000,
            stations: vec![1000, 10_000],
            repeats: 2,
            queries: 60,
            sync_community: 2000,
            sync_phones: 10,
            sync_changes: 20,
        }
    }
}

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() {
    if let Err(e) = run() {
        eprintln!("fushi-bench: {e}");
        std::process::exit(1);
    }
}

fn run() -> BoxResult<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child-apply") {
        return sections::child_apply(&args[1..]);
    }
    if args.first().map(String::as_str) == Some("load") {
        return load::run(&args[1..]);
    }
    let mut quick = false;
    let mut out = PathBuf::from("target/bench-results.json");
    let mut only: Option<String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--out" => out = PathBuf::from(it.next().ok_or("--out needs a file")?),
            "--only" => only = Some(it.next().ok_or("--only needs a section")?.clone()),
            "-h" | "--help" => {
                println!("fushi-bench [--quick] [--out FILE] [--only SECTION]\n  sections: store (writes, merge, storage, memory, wire; with loro) loro queries sync serverstore hostile photos\n  profiling aids: posts plain editapply replica\nfushi-bench load --help: many phones at once against the release fushi-server");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let sizes = if quick { Sizes::quick() } else { Sizes::full() };
    let mut rep = report::Report::new(quick, &sizes);
    sections::run_all(&sizes, &mut rep, only.as_deref())?;
    rep.finish(&out)?;
    Ok(())
}
