//! The internal HTTP port: `/metrics` for Prometheus (Fly's `[metrics]`), `/health` for Fly's
//! checks and the Docker HEALTHCHECK. Bound to the private address only; the worker has no
//! public ingress.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde::Serialize;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::Metrics;

/// What `/health` needs to judge the worker.
#[derive(Clone)]
pub struct Health {
    pub metrics: Arc<Metrics>,
    pub pool: PgPool,
    /// The worker counts as stuck when its last database contact is older than this.
    pub stale_after: Duration,
}

#[derive(Serialize)]
struct HealthReport {
    healthy: bool,
    database_reachable: bool,
    seconds_since_last_poll: Option<i64>,
    jobs_in_flight: i64,
}

/// Binds the metrics address. `[::]:port` (Fly: the private network, 6PN, is IPv6) also takes
/// IPv4 on Linux's dual-stack sockets, so loopback health checks still reach it; on a host
/// without IPv6 it falls back to `0.0.0.0:port` rather than not starting.
///
/// # Errors
/// The address is not `host:port`, or cannot be bound.
pub async fn bind(addr: &str) -> std::io::Result<tokio::net::TcpListener> {
    match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => Ok(listener),
        Err(err) if addr.starts_with("[::]:") && is_no_ipv6(&err) => {
            let fallback = format!("0.0.0.0:{}", &addr["[::]:".len()..]);
            tracing::warn!(error = %err, %fallback, "no IPv6 here; metrics listen on IPv4 only");
            tokio::net::TcpListener::bind(fallback).await
        }
        Err(err) => Err(err),
    }
}

fn is_no_ipv6(err: &std::io::Error) -> bool {
    // EAFNOSUPPORT (97) / EADDRNOTAVAIL: the kernel has no IPv6, or it is disabled.
    err.kind() == std::io::ErrorKind::AddrNotAvailable || err.raw_os_error() == Some(97)
}

/// Serves on `listener` until `shutdown`.
///
/// # Errors
/// The listener fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    health: Health,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/health", get(health_check))
        .with_state(health);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

async fn metrics(State(health): State<Health>) -> impl IntoResponse {
    let body = health.metrics.render(&health.pool).await;
    ([("content-type", "text/plain; version=0.0.4")], body)
}

async fn health_check(State(health): State<Health>) -> impl IntoResponse {
    let database_reachable = tokio::time::timeout(
        Duration::from_secs(2),
        sqlx::query("select 1").execute(&health.pool),
    )
    .await
    .is_ok_and(|result| result.is_ok());
    let since = health.metrics.since_database_contact();
    let fresh = since.is_some_and(|secs| secs as u64 <= health.stale_after.as_secs());
    let report = HealthReport {
        healthy: database_reachable && fresh,
        database_reachable,
        seconds_since_last_poll: since,
        jobs_in_flight: health.metrics.in_flight.get(),
    };
    let status = if report.healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fly's health checks and scraper come over the IPv6 private network, the image's
    /// HEALTHCHECK over IPv4 loopback: `[::]` must answer both.
    #[tokio::test]
    async fn the_unspecified_ipv6_address_answers_ipv4_and_ipv6() {
        let listener = bind("[::]:0").await.unwrap();
        let local = listener.local_addr().unwrap();
        let accept = tokio::spawn(async move {
            loop {
                listener.accept().await.unwrap();
            }
        });
        tokio::net::TcpStream::connect(("127.0.0.1", local.port()))
            .await
            .expect("IPv4 loopback reaches a [::] listener");
        // On a host without IPv6 `bind` fell back to 0.0.0.0; there is no ::1 to try.
        if local.is_ipv6() {
            tokio::net::TcpStream::connect(("::1", local.port()))
                .await
                .expect("IPv6 loopback reaches a [::] listener");
        }
        accept.abort();
    }
}
