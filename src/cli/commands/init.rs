//! `aftersight init`: the commented starter settings file.

use crate::cli::args::InitArgs;

/// Writes the starter configuration.
pub fn run(args: InitArgs) -> anyhow::Result<()> {
    aftersight::config::init(&args.path, args.force)?;
    eprintln!(
        "wrote {}; edit it, then run `aftersight run`",
        args.path.display()
    );
    Ok(())
}
