//! `fushi-server`: serve, manage tokens, or import stations. (The demo is
//! its own program, `fushi-demo`: it runs phones, and the server is built
//! without the phones' HTTP client.)

use clap::{Parser, Subcommand};
use fushi_core::policy::{Actor, Role};
use fushi_server::postgres::PgStorage;
use fushi_server::storage::SyncStorage;
use fushi_server::{import, tokens, SqliteStorage};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use uuid::Uuid;

#[derive(Parser)]
#[command(name = "fushi-server", version, about = "Fushi Share sync server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the sync protocol until ctrl-c or SIGTERM.
    Serve {
        /// The SQLite file (created on first run); tokens go to `<db>.tokens`.
        #[arg(long, default_value = "fushi-server.db")]
        db: PathBuf,
        /// Keep everything in this PostgreSQL database instead of --db
        /// (`postgres://user@host/db`, or libpq's `host=/run/postgresql
        /// dbname=fushi`); several processes may serve one database.
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// The city this server serves (shown in logs only).
        #[arg(long, default_value = "zhuhai")]
        city: String,
        /// Station reports and check-ins are published in shuffled batches
        /// per window of this many seconds (0: as they come).
        #[arg(long, default_value_t = 600)]
        record_window_secs: u32,
        /// Requests a second per token (bursts of 10 times as many).
        #[arg(long, default_value_t = 10)]
        rate: u32,
        /// Most connections open at once.
        #[arg(long, default_value_t = 512)]
        max_connections: usize,
        /// Most pull pages read and encoded at once (default: the cores);
        /// more wait their turn, so pushes keep a share of the cores.
        #[arg(long)]
        max_concurrent_pulls: Option<usize>,
        /// The oldest app schema served (`Fushi-Schema`); older apps are
        /// told to update (426). Default: the oldest this build can serve.
        #[arg(long, default_value_t = fushi_core::store::MIN_SCHEMA_VERSION)]
        min_schema: i64,
        /// How long a device's token lives unless a sync renews it (a sync
        /// renews it two thirds into its life).
        #[arg(long, default_value_t = 90)]
        token_ttl_days: u32,
        /// Serve HTTPS with this certificate chain (PEM: the server's
        /// certificate first, then intermediates). Without it the server
        /// speaks plain HTTP, for a reverse proxy that terminates TLS.
        #[arg(long, requires = "tls_key", value_name = "FILE")]
        tls_cert: Option<PathBuf>,
        /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
        #[arg(long, requires = "tls_cert", value_name = "FILE")]
        tls_key: Option<PathBuf>,
        /// Also accept the community platform's JWTs, checked against this
        /// JWKS (a file, or an https:// URL): see docs/JWT.md.
        #[arg(long, requires_all = ["jwt_issuer", "jwt_audience"], value_name = "FILE|URL")]
        jwt_jwks: Option<String>,
        /// The platform tokens' exact `iss`.
        #[arg(long, requires = "jwt_jwks")]
        jwt_issuer: Option<String>,
        /// This server's audience at the platform (`aud`).
        #[arg(long, requires = "jwt_jwks")]
        jwt_audience: Option<String>,
        /// The claim holding the role (a dotted path reads nested claims).
        #[arg(long, default_value = "role")]
        jwt_role_claim: String,
        /// The claim holding the community code.
        #[arg(long, default_value = "community")]
        jwt_community_claim: String,
    },
    /// Bearer tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Publish a year's public holidays and make-up working days for the
    /// whole city (the State Council's notice, one date a line:
    /// `2027-10-01 holiday`, `2027-10-09 workday`): phones learn them at
    /// their next sync. Safe while a server serves the same file.
    PublishHolidays {
        /// The SQLite file.
        #[arg(long, default_value = "fushi-server.db")]
        db: PathBuf,
        /// The PostgreSQL database instead of --db (as `serve`).
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
        /// The year; every date in the file must be in it.
        #[arg(long)]
        year: i32,
        /// The calendar text file.
        file: PathBuf,
    },
    /// Load stations from a GeoJSON FeatureCollection or a CSV (safe while
    /// a server serves the same file: numbers come from the database).
    ImportStations {
        /// The SQLite file.
        #[arg(long, default_value = "fushi-server.db")]
        db: PathBuf,
        /// The PostgreSQL database instead of --db (as `serve`).
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
        /// Community of stations that do not name one.
        #[arg(long, default_value = "fushi")]
        community: String,
        /// The file (`.csv` is read as CSV, anything else as GeoJSON).
        file: PathBuf,
    },
    /// Moved: the demo is `fushi-demo` (`cargo run --release -p fushi-demo`).
    #[command(hide = true)]
    Demo {
        /// Whatever was given; only the pointer to `fushi-demo` is printed.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Issue a token and print it once (only its hash is stored).
    Issue {
        /// The SQLite file.
        #[arg(long, default_value = "fushi-server.db")]
        db: PathBuf,
        /// The PostgreSQL database instead of --db (as `serve`).
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
        /// The user's pseudonymous account id (a fresh one if not given).
        #[arg(long)]
        user: Option<Uuid>,
        /// resident, grid_staff or admin.
        #[arg(long)]
        role: String,
        /// The user's community code.
        #[arg(long)]
        community: String,
    },
    /// Revoke one token, or every token of a user.
    Revoke {
        /// The SQLite file.
        #[arg(long, default_value = "fushi-server.db")]
        db: PathBuf,
        /// The PostgreSQL database instead of --db (as `serve`).
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
        /// The token to revoke.
        #[arg(long, conflicts_with = "user", required_unless_present = "user")]
        token: Option<String>,
        /// Revoke every token of this user.
        #[arg(long)]
        user: Option<Uuid>,
    },
}

fn init_logs(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The storage at `database_url` if given (PostgreSQL), else the SQLite
/// file `db`.
fn open_storage(
    db: &std::path::Path,
    database_url: Option<&str>,
) -> Result<Arc<dyn SyncStorage>, String> {
    Ok(match database_url {
        Some(url) => Arc::new(PgStorage::open(url).map_err(|e| format!("--database-url: {e}"))?),
        None => Arc::new(SqliteStorage::open(db).map_err(|e| e.to_string())?),
    })
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve {
            db,
            database_url,
            listen,
            city,
            record_window_secs,
            rate,
            max_connections,
            max_concurrent_pulls,
            min_schema,
            token_ttl_days,
            tls_cert,
            tls_key,
            jwt_jwks,
            jwt_issuer,
            jwt_audience,
            jwt_role_claim,
            jwt_community_claim,
        } => {
            let newest = fushi_core::store::SCHEMA_VERSION;
            if !(fushi_core::store::MIN_SCHEMA_VERSION..=newest).contains(&min_schema) {
                return Err(format!(
                    "--min-schema must be from {} to {newest}",
                    fushi_core::store::MIN_SCHEMA_VERSION
                ));
            }
            init_logs("info");
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(
                    fushi_server::ServerTls::from_files(&cert, &key).map_err(|e| e.to_string())?,
                ),
                _ => None,
            };
            let scheme = if tls.is_some() { "https" } else { "http" };
            let tweak = |c| fushi_core::StoreConfig {
                record_window_ms: i64::from(record_window_secs) * 1000,
                ..c
            };
            let clock = fushi_core::crdt::SystemClock::new();
            let ttl = i64::from(token_ttl_days.max(1)) * 86_400_000;
            let storage: Arc<dyn SyncStorage> = match &database_url {
                Some(url) => Arc::new(
                    PgStorage::open_with_config(url, clock, tweak)
                        .map_err(|e| format!("--database-url: {e}"))?
                        .with_token_ttl(ttl),
                ),
                None => Arc::new(
                    SqliteStorage::open_with_config(&db, clock, tweak)
                        .map_err(|e| e.to_string())?
                        .with_token_ttl(ttl),
                ),
            };
            let limits = fushi_server::Limits {
                rate_per_second: rate,
                rate_burst: rate.saturating_mul(10),
                max_connections,
                min_schema,
                ..fushi_server::Limits::default()
            };
            let limits = fushi_server::Limits {
                max_concurrent_pulls: max_concurrent_pulls
                    .unwrap_or(limits.max_concurrent_pulls)
                    .max(1),
                ..limits
            };
            let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
            let jwt = match (jwt_jwks, jwt_issuer, jwt_audience) {
                (Some(jwks), Some(issuer), Some(audience)) => {
                    let source = if jwks.starts_with("https://") || jwks.starts_with("http://") {
                        fushi_server::jwt::JwksSource::Url(jwks)
                    } else {
                        fushi_server::jwt::JwksSource::File(PathBuf::from(jwks))
                    };
                    let mut config = fushi_server::jwt::JwtConfig::new(source, issuer, audience);
                    config.role_claim = jwt_role_claim;
                    config.community_claim = jwt_community_claim;
                    let verifier = rt
                        .block_on(fushi_server::jwt::JwtVerifier::new(config))
                        .map_err(|e| format!("--jwt-jwks: {e}"))?;
                    Some(Arc::new(verifier))
                }
                _ => None,
            };
            let limits = fushi_server::Limits { jwt, ..limits };
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(listen)
                    .await
                    .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
                let bound = listener
                    .local_addr()
                    .map_err(|e| format!("cannot read the bound address: {e}"))?;
                // On stdout, one line, so a script (or a test) that asked for
                // port 0 learns the port.
                println!("listening on {bound}");
                tracing::info!(listen = %bound, city = %city, scheme, "serving");
                fushi_server::serve_tls(
                    listener,
                    storage,
                    fushi_server::app::shutdown_signal(),
                    limits,
                    tls,
                )
                .await
                .map_err(|e| e.to_string())
            })?;
            // A push still being applied on a blocking thread gets a moment
            // to commit; the process does not wait for more.
            rt.shutdown_timeout(std::time::Duration::from_secs(1));
            tracing::info!("stopped");
            Ok(())
        }
        Command::Token { command } => {
            init_logs("warn");
            match command {
                TokenCommand::Issue {
                    db,
                    database_url,
                    user,
                    role,
                    community,
                } => {
                    let role =
                        Role::parse(&role).ok_or("role must be resident, grid_staff or admin")?;
                    let storage = open_storage(&db, database_url.as_deref())?;
                    let actor = Actor {
                        user: user.unwrap_or_else(Uuid::now_v7),
                        role,
                        community,
                    };
                    // Checked like a listing's community field.
                    fushi_core::model::tables::check_value(
                        &fushi_core::model::tables::ITEM.columns[1],
                        &actor.community.as_str().into(),
                    )
                    .map_err(|r| format!("invalid community: {r}"))?;
                    let token = tokens::generate().map_err(|e| e.to_string())?;
                    let grant = storage
                        .add_token(&tokens::hash(&token), &actor)
                        .map_err(|e| e.to_string())?;
                    println!("user:   {}", actor.user);
                    println!("role:   {}", actor.role.as_str());
                    println!("device: {}", grant.device);
                    println!("token: {token}");
                    eprintln!("(the token is shown once; only its hash is kept)");
                    Ok(())
                }
                TokenCommand::Revoke {
                    db,
                    database_url,
                    token,
                    user,
                } => {
                    let storage = open_storage(&db, database_url.as_deref())?;
                    let n = match (token, user) {
                        (Some(t), _) => usize::from(
                            storage
                                .revoke_token(&tokens::hash(&t))
                                .map_err(|e| e.to_string())?,
                        ),
                        (None, Some(u)) => storage.revoke_user(u).map_err(|e| e.to_string())?,
                        (None, None) => return Err("give --token or --user".into()),
                    };
                    println!("revoked {n} token(s)");
                    Ok(())
                }
            }
        }
        Command::ImportStations {
            db,
            database_url,
            community,
            file,
        } => {
            init_logs("info");
            let storage = open_storage(&db, database_url.as_deref())?;
            let stations = import::parse_file(&file, &community).map_err(|e| e.to_string())?;
            let report = import::import(&*storage, &stations).map_err(|e| e.to_string())?;
            println!(
                "imported {} station(s), skipped {} already present",
                report.added.len(),
                report.skipped
            );
            Ok(())
        }
        Command::PublishHolidays {
            db,
            database_url,
            year,
            file,
        } => {
            init_logs("warn");
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let storage = open_storage(&db, database_url.as_deref())?;
            let id = import::publish_holidays(&*storage, year, &text).map_err(|e| e.to_string())?;
            println!("published the holidays of {year} ({id})");
            Ok(())
        }
        Command::Demo { .. } => Err(
            "the demo is its own program now: cargo run --release -p fushi-demo [-- --db FILE]"
                .into(),
        ),
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fushi-server: {e}");
            ExitCode::FAILURE
        }
    }
}
