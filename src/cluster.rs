//! The cluster's own processes behind `aftersight scheduler` and `aftersight
//! executor`: Ballista's scheduler and executor, built from the same crates as
//! the client side (`sql::engine`), so the three always agree on versions and
//! plans.
//!
//! Both take Ballista's own configuration (its flags) unchanged.

use std::net::SocketAddr;
use std::sync::Arc;

use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;

/// Errors of the cluster's processes.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// A flag's value cannot be used (an address, a port).
    #[error("{0}")]
    Config(String),
    /// Ballista failed to start or stopped with an error.
    #[error("{process} stopped: {message}")]
    Ballista {
        /// `scheduler` or `executor`.
        process: &'static str,
        /// Ballista's error.
        message: String,
    },
}

/// Runs a scheduler until Ctrl-C or SIGTERM.
pub async fn run_scheduler(
    options: ballista_scheduler::config::Config,
) -> Result<(), ClusterError> {
    let failed = |e: ballista_core::error::BallistaError| ClusterError::Ballista {
        process: "scheduler",
        message: e.to_string(),
    };
    let addr = socket_addr(
        &options.bind_host,
        options.bind_port,
        "--bind-host/--bind-port",
    )?;
    let config: SchedulerConfig = options.try_into().map_err(failed)?;
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(failed)?;
    tokio::select! {
        served = start_server(cluster, addr, Arc::new(config)) => served.map_err(failed),
        () = stop_signal() => Ok(()),
    }
}

/// Runs an executor, with its health endpoint (`/healthz`, `/readyz` on
/// `--bind-health-port`), until Ctrl-C, SIGTERM or the scheduler stops it.
pub async fn run_executor(options: ballista_executor::config::Config) -> Result<(), ClusterError> {
    let failed = |e: ballista_core::error::BallistaError| ClusterError::Ballista {
        process: "executor",
        message: e.to_string(),
    };
    let health_addr = socket_addr(
        &options.bind_host,
        options.bind_health_port,
        "--bind-host/--bind-health-port",
    )?;
    let config: ExecutorProcessConfig = options.try_into().map_err(failed)?;
    let (stop_health, health_stopped) = tokio::sync::oneshot::channel();
    let health = ballista_executor::health::spawn_health_server(
        health_addr,
        config.health.clone(),
        health_stopped,
    );
    let result = start_executor_process(Arc::new(config))
        .await
        .map_err(failed);
    // The health server ends with the executor; a send to a server that already stopped is no error.
    let _ = stop_health.send(());
    let _ = health.await;
    result
}

/// `host:port` as a socket address, or an error naming the flags.
fn socket_addr(host: &str, port: u16, flags: &str) -> Result<SocketAddr, ClusterError> {
    format!("{host}:{port}")
        .parse()
        .or_else(|_| {
            std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
                .ok()
                .and_then(|mut all| all.next())
                .ok_or(())
        })
        .map_err(|()| ClusterError::Config(format!("{flags}: `{host}:{port}` is not an address")))
}

/// Ctrl-C, or SIGTERM (what systemd and `kill` send).
async fn stop_signal() {
    #[cfg(unix)]
    if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        return;
    }
    let _ = tokio::signal::ctrl_c().await;
}
