//! The `ai-dialer` command line: `serve` (the default), `migrate`, `user`, `token`, `import`.

use std::{io::IsTerminal, path::PathBuf};

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::{
    app,
    auth::{check_new_password, hash_password, new_api_token, random_password, token_digest},
    config::{DatabaseArgs, ServeArgs, redact_url},
    domain::{email::Email, user::Role},
    import::{ImportOptions, import_csv},
    store::{ConnectOptions, Store},
};

#[derive(Debug, Parser)]
#[command(name = "ai-dialer", version, about = "Self-hosted AI outbound dialer", long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub db: DatabaseArgs,

    /// Settings for the default `serve` command.
    #[command(flatten)]
    pub serve: ServeArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server and dialer (the default).
    Serve(Box<ServeArgs>),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage the VAPI assistant and tools.
    #[command(subcommand)]
    Vapi(VapiCommand),
    /// Import leads from a CSV file.
    Import {
        /// The CSV file (header row required).
        file: PathBuf,
        /// Validate and report without writing anything.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from standard input when it is piped,
    /// otherwise one is generated and printed.
    Create {
        #[arg(long)]
        email: String,
        /// admin or member.
        #[arg(long, default_value = "member", value_parser = ["admin", "member"])]
        role: String,
    },
    /// List users.
    List,
}

#[derive(Debug, Subcommand)]
pub enum VapiCommand {
    /// Create or update the tools and the assistant in VAPI from `vapi/`, with the server URL
    /// (`PUBLIC_URL` + /api/integrations/vapi) and `VAPI_SECRET_KEY` filled in. The ids are
    /// stored, so publishing again updates in place, and `serve` uses the published assistant
    /// when `VAPI_ASSISTANT_ID` is unset.
    Publish {
        /// Print what would be sent (secret hidden) without calling VAPI.
        #[arg(long)]
        dry_run: bool,
        /// Read the files from this directory instead of the copies built into the binary.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user and print it (shown only once).
    Create {
        #[arg(long)]
        email: String,
        /// What the token is for.
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

async fn open_store(db: &DatabaseArgs) -> anyhow::Result<Store> {
    let mut opts = ConnectOptions::new(&db.database_url);
    opts.max_connections = db.database_max_connections;
    let store = Store::connect(&opts)
        .await
        .with_context(|| format!("opening database {}", redact_url(&db.database_url)))?;
    store.migrate().await.context("migrating database")?;
    Ok(store)
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => serve(&cli.db, cli.serve).await,
        Some(Command::Serve(args)) => serve(&cli.db, *args).await,
        Some(Command::Migrate) => {
            open_store(&cli.db).await?;
            println!("database is up to date");
            Ok(())
        }
        Some(Command::User(UserCommand::Create { email, role })) => {
            let store = open_store(&cli.db).await?;
            let email =
                Email::parse(&email).map_err(|e| anyhow::anyhow!("--email {}", e.message))?;
            let role = Role::parse(&role).context("--role must be admin or member")?;
            let mut piped = String::new();
            if !std::io::stdin().is_terminal() {
                std::io::stdin()
                    .read_line(&mut piped)
                    .context("reading password from stdin")?;
            }
            let piped = piped.trim_end_matches(['\r', '\n']);
            // Nothing piped (a terminal, or an empty stdin under cron): generate one.
            let (password, generated) = if piped.is_empty() {
                (random_password(), true)
            } else {
                (piped.to_owned(), false)
            };
            check_new_password(&password).map_err(|m| anyhow::anyhow!("password {m}"))?;
            let user = store
                .create_user(
                    email.as_str(),
                    &hash_password(password.clone()).await?,
                    role,
                )
                .await
                .map_err(|e| {
                    if e.is_conflict_on("email") {
                        anyhow::anyhow!("a user with this email already exists")
                    } else {
                        e.into()
                    }
                })?;
            println!("created {} {}", user.role.as_str(), user.email);
            if generated {
                println!("password: {password}");
            }
            Ok(())
        }
        Some(Command::User(UserCommand::List)) => {
            let store = open_store(&cli.db).await?;
            for u in store.list_users().await? {
                println!("{}\t{}\t{}", u.id, u.role.as_str(), u.email);
            }
            Ok(())
        }
        Some(Command::Token(TokenCommand::Create { email, name })) => {
            let store = open_store(&cli.db).await?;
            let creds = store
                .user_credentials(&email)
                .await?
                .with_context(|| format!("no user with email {email}"))?;
            let secret = new_api_token();
            store
                .create_api_token(creds.user.id, &name, &token_digest(&secret))
                .await?;
            println!("{secret}");
            Ok(())
        }
        Some(Command::Import { file, dry_run }) => import(&cli.db, &file, dry_run).await,
        Some(Command::Vapi(VapiCommand::Publish { dry_run, dir })) => {
            publish(&cli.db, &cli.serve, dry_run, dir.as_deref()).await
        }
    }
}

async fn publish(
    db: &DatabaseArgs,
    args: &ServeArgs,
    dry_run: bool,
    dir: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    use crate::integrations::vapi_publish::{
        AssistantFiles, ServerTarget, assistant_body, tool_bodies,
    };
    let files = match dir {
        Some(d) => {
            AssistantFiles::from_dir(d).with_context(|| format!("reading {}", d.display()))?
        }
        None => AssistantFiles::embedded(),
    };
    let public = args
        .public_url
        .as_deref()
        .context("set PUBLIC_URL to the address VAPI can reach this server at")?;
    let secret = args
        .dialer
        .vapi_secret_key
        .as_ref()
        .context("set VAPI_SECRET_KEY: VAPI sends it with every webhook")?;
    let server = ServerTarget {
        url: format!("{}/api/integrations/vapi", public.trim_end_matches('/')),
        secret: secret.expose().to_owned(),
    };
    if dry_run {
        let hidden = ServerTarget {
            secret: "********".into(),
            ..server
        };
        let tools = tool_bodies(&files, &hidden)?;
        let ids: Vec<String> = tools.iter().map(|(n, _)| format!("<id of {n}>")).collect();
        let plan = serde_json::json!({
            "tools": tools.into_iter().map(|(_, t)| t).collect::<Vec<_>>(),
            "assistant": assistant_body(&files, &hidden, &ids)?,
        });
        println!("{}", serde_json::to_string_pretty(&plan)?);
        return Ok(());
    }
    let key = args
        .dialer
        .vapi_api_key
        .clone()
        .context("set VAPI_API_KEY to publish")?;
    let store = open_store(db).await?;
    let client =
        crate::integrations::vapi::VapiClient::for_management(&args.dialer.vapi_base_url, key);
    let report =
        crate::integrations::vapi_publish::publish(&client, &store, &files, &server).await?;
    for (name, id, how) in &report.resources {
        println!("{how} {name}: {id}");
    }
    if args.dialer.vapi_assistant_id.is_none() {
        println!("serve will use this assistant (set VAPI_ASSISTANT_ID to use another)");
    }
    Ok(())
}

async fn import(db: &DatabaseArgs, file: &PathBuf, dry_run: bool) -> anyhow::Result<()> {
    let store = open_store(db).await?;
    let settings = store.settings().await?;
    let source =
        std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let opts = ImportOptions::from_settings(&settings, dry_run)?;
    let report = import_csv(
        &store,
        std::io::BufReader::with_capacity(256 * 1024, source),
        opts,
    )
    .await
    .map_err(|e| anyhow::anyhow!("import refused: {e}"))?;
    println!(
        "{}{} imported, {} duplicates skipped, {} invalid rows (of {} rows)",
        if dry_run { "dry run: " } else { "" },
        report.imported,
        report.duplicates,
        report.invalid_count,
        report.rows
    );
    for row in report.invalid.iter().take(50) {
        println!(
            "  line {}: {} ({:?}): {}",
            row.row, row.column, row.value, row.message
        );
    }
    if report.invalid.len() > 50 {
        println!("  … and {} more problems", report.invalid.len() - 50);
    }
    Ok(())
}

async fn serve(db: &DatabaseArgs, args: ServeArgs) -> anyhow::Result<()> {
    let store = open_store(db).await?;
    if let Some(admin) = app::ensure_admin(
        &store,
        &args.admin_email,
        args.admin_password.as_ref().map(|s| s.expose()),
    )
    .await?
    {
        // Printed, not logged: shown once to the person starting the server.
        println!("Created the first admin account.");
        println!("  email:    {}", admin.email);
        match admin.generated_password {
            Some(p) => println!("  password: {p}\n  (shown only now; change it after signing in)"),
            None => println!("  password: the one in DIALER_ADMIN_PASSWORD"),
        }
    }
    let listener = tokio::net::TcpListener::bind(&args.bind)
        .await
        .with_context(|| format!("binding {}", args.bind))?;
    let addr = listener.local_addr()?;
    let mut dialer_args = args.dialer.clone();
    if dialer_args.vapi_assistant_id.is_none() {
        // The assistant `ai-dialer vapi publish` created, if any.
        dialer_args.vapi_assistant_id = store.integration_id("vapi.assistant").await?;
    }
    let mut options = app::BuildOptions {
        public_url: args.public_url.clone(),
        vapi: dialer_args.vapi(),
        calcom: args.dialer.calcom(),
        resend: args.dialer.resend(),
        secrets: args.dialer.secrets(),
        sandbox: None,
        clock: crate::dialer::clock::Clock::system(),
        dialer: crate::dialer::DialerOptions {
            max_call: std::time::Duration::from_secs(args.dialer.max_call_seconds),
            dial_grace: std::time::Duration::from_secs(args.dialer.dial_grace_seconds),
            retry_base: std::time::Duration::from_secs(args.dialer.retry_seconds),
            booking_link: args.dialer.calcom_booking_link.clone(),
            ..Default::default()
        },
    };
    if args.sandbox {
        anyhow::ensure!(
            !args.dialer.has_real_keys(),
            "--sandbox simulates VAPI, Cal.com and Resend; unset VAPI_API_KEY, CALCOM_API_KEY and RESEND_API_KEY to use it"
        );
        let mix = args
            .sandbox_outcomes
            .parse()
            .map_err(|e| anyhow::anyhow!("SANDBOX_OUTCOMES: {e}"))?;
        let webhook_port = addr.port();
        let sandbox = crate::sandbox::Sandbox::start(crate::sandbox::SandboxOptions {
            webhook_url: format!("http://127.0.0.1:{webhook_port}/api/integrations/vapi"),
            mix,
            call_length: std::time::Duration::from_secs(args.sandbox_call_seconds),
        })
        .await?;
        options.vapi = Some(sandbox.vapi_config());
        options.calcom = Some(sandbox.calcom_config());
        options.resend = Some(sandbox.resend_config());
        options.secrets.vapi_secret = Some(sandbox.webhook_secret.clone());
        if options.dialer.booking_link.is_empty() {
            options.dialer.booking_link = format!("http://{addr}/");
        }
        options.sandbox = Some(sandbox);
        tracing::warn!(
            "SANDBOX MODE: calls, bookings and emails are simulated; nobody is really called"
        );
        println!(
            "Sandbox mode: VAPI, Cal.com and Resend are simulated; nobody is really called or emailed."
        );
    } else if options.vapi.is_none() {
        tracing::warn!(
            "VAPI is not configured (VAPI_API_KEY, VAPI_ASSISTANT_ID, VAPI_PHONE_NUMBER_ID): no calls will be placed"
        );
    }
    tracing::info!(
        database = store.engine().name(),
        "listening on http://{addr}"
    );
    println!(
        "AI Dialer is running at http://{addr} ({} database)",
        store.engine().name()
    );
    let built = app::build(store.clone(), options);
    let relay = store.spawn_change_relay();
    let scheduler = crate::dialer::scheduler::Scheduler::spawn(
        built.state.dialer.clone(),
        std::time::Duration::from_secs(args.dialer.tick_seconds),
    );
    // On SIGTERM: no new claims, the calls being placed finish and are recorded while the
    // server still takes their webhooks, then the server drains and stops.
    let stopping = async move {
        app::shutdown_signal().await;
        tracing::info!("stopping: no new calls; finishing the calls being placed");
        scheduler.stop().await;
    };
    app::serve(listener, built.router, stopping).await?;
    if let Some(relay) = relay {
        relay.abort();
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}
