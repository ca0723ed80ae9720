use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // A `.env` beside the working directory is honoured, as in the original product.
    let _ = dotenvy::dotenv();
    ai_dialer::telemetry::init();
    let cli = ai_dialer::cli::Cli::parse();
    match ai_dialer::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
