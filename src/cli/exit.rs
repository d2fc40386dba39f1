//! Exit codes, in one place: each error's category decides its code.

use std::process::ExitCode;

use aftersight::error::Category;

use super::UsageError;

/// The documented exit code of a category (the top-level `--help` lists them).
pub fn code(category: Category) -> u8 {
    match category {
        Category::Usage => 2,
        Category::InputRejected => 3,
        Category::NoData => 4,
        Category::Data | Category::Io | Category::Internal => 1,
    }
}

/// Prints the error, each cause once, and returns its exit code. A reader
/// that stops early (`| head`) is not a failure.
pub fn report(err: &anyhow::Error) -> ExitCode {
    let broken_pipe = err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    });
    if broken_pipe {
        return ExitCode::SUCCESS;
    }
    let root: &(dyn std::error::Error + 'static) = err.as_ref();
    eprintln!("error: {}", aftersight::error::chain_message(root));
    let usage =
        err.downcast_ref::<UsageError>().is_some() || err.chain().any(|e| e.is::<UsageError>());
    let category = if usage {
        Category::Usage
    } else {
        err.chain().find_map(Category::of).unwrap_or(Category::Data)
    };
    ExitCode::from(code(category))
}
