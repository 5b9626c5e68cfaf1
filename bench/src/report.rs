//! Figures, targets, the machine, and the JSON file.

use crate::Sizes;
use serde_json::{json, Map, Value};
use std::path::Path;
use std::time::Instant;

/// A target: a figure compared with a bound.
pub struct Target {
    /// Short name.
    pub name: &'static str,
    /// The figure's key.
    pub key: &'static str,
    /// `true`: the figure must be at least `bound`; `false`: at most.
    pub at_least: bool,
    /// The bound.
    pub bound: f64,
}

/// The targets of issues 6 and 16.
pub const TARGETS: &[Target] = &[
    Target {
        name: "posts vs plain SQLite (throughput ratio)",
        key: "ratio_posts_vs_plain",
        at_least: true,
        bound: 0.6,
    },
    Target {
        name: "full-replica apply vs plain bulk insert",
        key: "ratio_replica_vs_plain_bulk",
        at_least: true,
        bound: 0.5,
    },
    Target {
        name: "10k-edit apply vs plain one-transaction updates",
        key: "ratio_edit_apply_vs_plain_updates",
        at_least: true,
        bound: 0.5,
    },
    Target {
        name: "full-replica apply vs Loro import (speed ratio)",
        key: "ratio_replica_vs_loro",
        at_least: true,
        bound: 2.0,
    },
    Target {
        name: "full replica searchable (apply + index) vs Loro import",
        key: "ratio_replica_searchable_vs_loro",
        at_least: true,
        bound: 1.0,
    },
    Target {
        name: "writes held by the background index, longest (ms)",
        key: "index_write_stall_max_ms",
        at_least: false,
        bound: 50.0,
    },
    Target {
        name: "store files with the search index (MB; 175.0 before issue 16)",
        key: "storage_replica_total_mb",
        at_least: false,
        bound: 175.0,
    },
    Target {
        name: "first sync of the community usable (s)",
        key: "sync_first_s",
        at_least: false,
        bound: 1.5,
    },
    Target {
        name: "first sync of the community searchable (s)",
        key: "sync_first_searchable_s",
        at_least: false,
        bound: 3.0,
    },
    Target {
        name: "open the store and answer the nearest stations, median (ms)",
        key: "cold_open_nearest_median_ms",
        at_least: false,
        bound: 50.0,
    },
    Target {
        name: "10k-edit apply vs Loro import (speed ratio)",
        key: "ratio_edit_apply_vs_loro",
        at_least: true,
        bound: 2.0,
    },
    Target {
        name: "database file vs plain (size ratio)",
        key: "ratio_file_vs_plain",
        at_least: false,
        bound: 1.3,
    },
    Target {
        name: "bytes per single-field change on the wire (as sent)",
        key: "wire_edit_bytes_per_change_sent",
        at_least: false,
        bound: 24.0,
    },
    Target {
        name: "peak RSS delta applying the full replica, then indexing it (MiB)",
        key: "mem_replica_apply_rss_delta_mib",
        at_least: false,
        bound: 64.0,
    },
    Target {
        name: "nearest 10 among the most stations, median (ms)",
        key: "nearest_large_median_ms",
        at_least: false,
        bound: 0.3,
    },
    Target {
        name: "2-character search among the items, median (ms)",
        key: "search_median_ms",
        at_least: false,
        bound: 5.0,
    },
];

/// Collected figures.
pub struct Report {
    figures: Map<String, Value>,
    started: Instant,
    quick: bool,
}

fn cmd(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kb = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0);
    json!({
        "nproc": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu": model,
        "mem_gib": (mem_kb as f64 / 1024.0 / 1024.0 * 10.0).round() / 10.0,
        "rustc": cmd("rustc", &["--version"]),
        "kernel": cmd("uname", &["-r"]),
        "sqlite": rusqlite::version(),
    })
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

impl Report {
    /// A new report.
    pub fn new(quick: bool, sizes: &Sizes) -> Report {
        let mut figures = Map::new();
        figures.insert("meta_quick".into(), json!(quick));
        figures.insert("meta_machine".into(), machine());
        figures.insert("meta_sizes".into(), json!(format!("{sizes:?}")));
        figures.insert("meta_load_at_start".into(), json!(loadavg()));
        eprintln!("load average at start: {}", loadavg());
        Report {
            figures,
            started: Instant::now(),
            quick,
        }
    }

    /// Record a figure (printed as it comes).
    pub fn put(&mut self, key: &str, v: f64) {
        eprintln!("  {key:<48} {}", fmt(v));
        self.figures.insert(key.into(), json!(v));
    }

    /// Record a note.
    pub fn note(&mut self, key: &str, v: impl Into<String>) {
        let v = v.into();
        eprintln!("  {key:<48} {v}");
        self.figures.insert(key.into(), json!(v));
    }

    /// A figure recorded earlier.
    pub fn get(&self, key: &str) -> Option<f64> {
        self.figures.get(key).and_then(Value::as_f64)
    }

    /// `a / b` as a figure, when both are there.
    pub fn ratio(&mut self, key: &str, a: &str, b: &str) {
        if let (Some(x), Some(y)) = (self.get(a), self.get(b)) {
            if y > 0.0 {
                self.put(key, x / y);
            }
        }
    }

    /// Write the JSON and print the table of targets.
    pub fn finish(mut self, out: &Path) -> crate::BoxResult<()> {
        self.figures
            .insert("meta_load_at_end".into(), json!(loadavg()));
        self.figures.insert(
            "meta_total_s".into(),
            json!(self.started.elapsed().as_secs_f64()),
        );
        let mut targets = Vec::new();
        println!();
        println!("{:<58} {:>12} {:>10}  result", "target", "figure", "bound");
        for t in TARGETS {
            let v = self.get(t.key);
            let met = v.map(|v| {
                if t.at_least {
                    v >= t.bound
                } else {
                    v <= t.bound
                }
            });
            let shown = v.map_or("—".to_owned(), fmt);
            let res = match met {
                Some(true) => "met",
                Some(false) => "MISSED",
                None => "not measured",
            };
            println!(
                "{:<58} {:>12} {:>2}{:>8}  {res}",
                t.name,
                shown,
                if t.at_least { ">=" } else { "<=" },
                t.bound
            );
            targets.push(json!({
                "name": t.name, "key": t.key, "bound": t.bound,
                "at_least": t.at_least, "value": v, "met": met,
            }));
        }
        self.figures.insert("targets".into(), Value::Array(targets));
        if let Some(dir) = out.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)?;
            }
        }
        std::fs::write(out, serde_json::to_string_pretty(&self.figures)?)?;
        println!(
            "\n{} run in {:.0} s; figures in {}",
            if self.quick { "quick" } else { "full" },
            self.started.elapsed().as_secs_f64(),
            out.display()
        );
        Ok(())
    }
}

/// A figure for people.
pub fn fmt(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 1000.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else if v.abs() >= 0.1 {
        format!("{v:.3}")
    } else {
        format!("{v:.4}")
    }
}

/// The median of some samples.
pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}
