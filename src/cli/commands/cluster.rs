//! `aftersight scheduler` and `aftersight executor`: the cluster's processes,
//! logging as Ballista's own binaries do (`RUST_LOG`, else `--log-level-setting`;
//! to stderr, or to rotated files in `--log-dir`).

use ballista_core::config::LogRotationPolicy;

use crate::cli::args::{ExecutorArgs, SchedulerArgs};

/// Starts a scheduler and serves until stopped.
pub async fn scheduler(args: SchedulerArgs) -> anyhow::Result<()> {
    let o = &args.ballista;
    let prefix = format!("scheduler_{}_{}", o.external_host, o.bind_port);
    init_logging(Logging {
        level: &o.log_level_setting,
        thread_info: o.print_thread_info,
        dir: o.log_dir.as_deref(),
        rotation: o.log_rotation_policy,
        prefix: &prefix,
    });
    aftersight::cluster::run_scheduler(args.ballista).await?;
    Ok(())
}

/// Starts an executor and serves until stopped.
pub async fn executor(args: ExecutorArgs) -> anyhow::Result<()> {
    let o = &args.ballista;
    let prefix = format!("executor_{}_{}", o.bind_host, o.bind_port);
    init_logging(Logging {
        level: &o.log_level_setting,
        thread_info: o.print_thread_info,
        dir: o.log_dir.as_deref(),
        rotation: o.log_rotation_policy,
        prefix: &prefix,
    });
    aftersight::cluster::run_executor(args.ballista).await?;
    Ok(())
}

/// With `RUST_LOG` set, any command logs the engines' own lines to stderr
/// (what a session sends to a cluster, and what comes back).
pub fn log_if_asked() {
    if let Ok(level) = std::env::var(tracing_subscriber::EnvFilter::DEFAULT_ENV) {
        init_logging(Logging {
            level: &level,
            thread_info: false,
            dir: None,
            rotation: LogRotationPolicy::Never,
            prefix: "",
        });
    }
}

/// Where and what a cluster process logs.
struct Logging<'a> {
    level: &'a str,
    thread_info: bool,
    dir: Option<&'a str>,
    rotation: LogRotationPolicy,
    prefix: &'a str,
}

fn init_logging(logging: Logging<'_>) {
    use tracing_appender::rolling;
    use tracing_subscriber::EnvFilter;
    let filter = std::env::var(EnvFilter::DEFAULT_ENV).unwrap_or_else(|_| logging.level.to_owned());
    let lines = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_thread_names(logging.thread_info)
        .with_thread_ids(logging.thread_info)
        .with_env_filter(EnvFilter::new(filter));
    match logging.dir {
        None => lines.with_writer(std::io::stderr).init(),
        Some(dir) => {
            let file = match logging.rotation {
                LogRotationPolicy::Minutely => rolling::minutely(dir, logging.prefix),
                LogRotationPolicy::Hourly => rolling::hourly(dir, logging.prefix),
                LogRotationPolicy::Daily => rolling::daily(dir, logging.prefix),
                LogRotationPolicy::Never => rolling::never(dir, logging.prefix),
            };
            lines.with_writer(file).init()
        }
    }
}
