//! The `aftersight` command line: parse, run the command with the settings
//! resolved once, and map a failure to its documented exit code.

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// Stack of each runtime thread: DataFusion and Ballista recurse over plan
/// trees (planning, serialising a plan for the cluster), deeper than the
/// default 2 MiB allows in a debug build; Ballista's own binaries use 32 MiB.
const THREAD_STACK: usize = 32 << 20;

fn main() -> ExitCode {
    let args = cli::args::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(THREAD_STACK)
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            return cli::exit::report(&anyhow::Error::new(err).context("starting the runtime"));
        }
    };
    // The command runs on a runtime thread, not on the main thread's smaller stack.
    let result = runtime.block_on(async {
        match tokio::spawn(cli::execute(args)).await {
            Ok(result) => result,
            Err(join) => Err(anyhow::anyhow!("the command stopped unexpectedly: {join}")),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => cli::exit::report(&err),
    }
}
