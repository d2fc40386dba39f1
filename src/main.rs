//! The `aftersight` command line: parse, run the command with the settings
//! resolved once, and map a failure to its documented exit code.

mod cli;

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let args = cli::args::Cli::parse();
    match cli::execute(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => cli::exit::report(&err),
    }
}
