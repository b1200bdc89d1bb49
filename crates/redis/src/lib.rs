//! The shared event bus: every instance publishes the events it appended to one Redis
//! pub/sub channel and relays what it hears to its local subscribers (SSE streams).
//!
//! Redis is only the fast path. Pub/sub keeps nothing for a disconnected listener, so the
//! bus tells subscribers when they may have missed something — `Lagged` when a local
//! consumer fell behind, `Reconnected` when the subscription came back after an outage —
//! and they re-read the Postgres event log from the last id they saw. Publishing never
//! waits for a dead Redis: it fails within the command timeout and the caller carries on.

use std::time::Duration;

use async_trait::async_trait;
use fred::clients::SubscriberClient;
use fred::interfaces::{ClientLike, EventInterface, HeartbeatInterface, PubsubInterface};
use fred::prelude::{Builder, Client, Config, Error as FredError, ReconnectPolicy};
use fred::types::Message;
use fred::types::config::Server;
use fred::types::config::{Options, UnresponsiveConfig};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use pos_domain::error::BusError;
use pos_domain::event::Event;
use pos_domain::ports::{BusMessage, EventBus};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

/// The channel every instance shares unless told otherwise.
pub const DEFAULT_CHANNEL: &str = "pos:events";

/// Tuning of the bus. `RedisBusConfig::new(channel)` gives production defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisBusConfig {
    /// The pub/sub channel; tests use a unique one each so they never hear each other.
    pub channel: String,
    /// Bound on one PUBLISH (plus a small margin): a dead Redis costs an order at most
    /// this long.
    pub command_timeout: Duration,
    /// Upper bound on opening a TCP connection to Redis.
    pub connect_timeout: Duration,
    /// Upper bound on the PING behind `status()`, which health checks call often.
    pub status_timeout: Duration,
    /// Longest pause between reconnection attempts; attempts never stop.
    pub max_reconnect_delay: Duration,
    /// How often the subscriber connection is pinged, so a silently dead connection (no
    /// FIN, e.g. a network partition) is noticed and re-established.
    pub heartbeat_interval: Duration,
    /// Messages buffered per local subscriber before it is told `Lagged`.
    pub local_capacity: usize,
    /// Messages fred buffers between its socket reader and our relay task.
    pub redis_buffer: usize,
}

impl RedisBusConfig {
    pub fn new(channel: &str) -> Self {
        Self {
            channel: channel.to_owned(),
            command_timeout: Duration::from_millis(750),
            connect_timeout: Duration::from_millis(1000),
            status_timeout: Duration::from_millis(500),
            max_reconnect_delay: Duration::from_secs(2),
            heartbeat_interval: Duration::from_secs(5),
            local_capacity: 1024,
            redis_buffer: 4096,
        }
    }
}

impl Default for RedisBusConfig {
    fn default() -> Self {
        Self::new(DEFAULT_CHANNEL)
    }
}

/// `EventBus` over Redis pub/sub. Dropping it stops its background tasks and closes both
/// connections; local subscriber streams then end.
pub struct RedisBus {
    publisher: Client,
    subscriber: SubscriberClient,
    channel: String,
    local: broadcast::Sender<BusMessage>,
    command_timeout: Duration,
    status_timeout: Duration,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The clients' configs carry the Redis password; never print them.
        f.debug_struct("RedisBus")
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

impl RedisBus {
    /// Connects the publisher and the subscriber with default tuning on `channel`
    /// (`DEFAULT_CHANNEL` in production). Fails with `BusError::Unavailable` when the URL
    /// is invalid or Redis cannot be reached now; after a successful start, outages are
    /// ridden out by reconnecting forever.
    pub async fn connect(url: &str, channel: &str) -> Result<RedisBus, BusError> {
        Self::connect_with(url, RedisBusConfig::new(channel)).await
    }

    pub async fn connect_with(url: &str, settings: RedisBusConfig) -> Result<RedisBus, BusError> {
        // Without one of fred's TLS features a rediss:// URL would be dialled in plain text
        // and fail obscurely; say so instead.
        if url.trim_start().to_ascii_lowercase().starts_with("rediss:") {
            return Err(BusError::Unavailable(
                "rediss:// (TLS) is not supported by this build; use redis://".to_owned(),
            ));
        }
        // fred's URL errors do not echo the URL, so a password in it stays out of logs.
        let config =
            Config::from_url(url).map_err(|e| BusError::Unavailable(format!("invalid Redis URL: {e}")))?;
        let builder = client_builder(config, &settings);

        let publisher = builder.build().map_err(unavailable)?;
        publisher.init().await.map_err(unavailable)?;

        let subscriber = match builder.build_subscriber_client() {
            Ok(subscriber) => subscriber,
            Err(e) => {
                quit_quietly(&publisher, settings.command_timeout).await;
                return Err(unavailable(e));
            }
        };
        // Taken before SUBSCRIBE so that no message can slip past between the two.
        let messages = subscriber.message_rx();
        if let Err(e) = subscriber.init().await {
            quit_quietly(&publisher, settings.command_timeout).await;
            return Err(unavailable(e));
        }
        // Taken after the first connection: fred reports that one too, and it is not a
        // RE-connection anyone missed events over.
        let reconnects = subscriber.reconnect_rx();
        if let Err(e) = subscriber.subscribe(settings.channel.as_str()).await {
            quit_quietly(&publisher, settings.command_timeout).await;
            quit_quietly(&subscriber, settings.command_timeout).await;
            return Err(unavailable(e));
        }

        let (local, _) = broadcast::channel(settings.local_capacity.max(1));
        let manager = subscriber.manage_subscriptions();
        let heartbeat = {
            let subscriber = subscriber.clone();
            let interval = settings.heartbeat_interval;
            tokio::spawn(async move {
                // With break_on_error = false this never returns (failed pings are only
                // logged); the task is aborted with the bus.
                let _ = subscriber.enable_heartbeat(interval, false).await;
            })
        };
        let relay = tokio::spawn(relay(
            subscriber.clone(),
            settings.channel.clone(),
            messages,
            reconnects,
            local.clone(),
            settings.connect_timeout + settings.command_timeout,
        ));
        tracing::info!(channel = %settings.channel, "event bus connected to Redis");

        Ok(RedisBus {
            publisher,
            subscriber,
            channel: settings.channel,
            local,
            command_timeout: settings.command_timeout,
            status_timeout: settings.status_timeout,
            tasks: vec![relay, manager, heartbeat],
        })
    }

    /// The channel this bus publishes to and listens on.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// Closes both connections and stops the background tasks; subscriber streams end.
    /// Dropping the bus does the same without waiting.
    pub async fn shutdown(&self) {
        for task in &self.tasks {
            task.abort();
        }
        quit_quietly(&self.subscriber, self.command_timeout).await;
        quit_quietly(&self.publisher, self.command_timeout).await;
    }

    /// Commands that must not wait for a reconnection: fail at once when the connection is
    /// known to be down, give up after `timeout` when it is silently dead.
    fn fail_fast(timeout: Duration) -> Options {
        Options {
            fail_fast: true,
            timeout: Some(timeout),
            max_attempts: Some(1),
            ..Options::default()
        }
    }
}

impl Drop for RedisBus {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        // Without QUIT fred's connection tasks would keep reconnecting for the life of the
        // process. Outside a runtime there is nothing left to stop.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let publisher = self.publisher.clone();
            let subscriber = self.subscriber.clone();
            let timeout = self.command_timeout;
            runtime.spawn(async move {
                quit_quietly(&subscriber, timeout).await;
                quit_quietly(&publisher, timeout).await;
            });
        }
    }
}

#[async_trait]
impl EventBus for RedisBus {
    async fn publish(&self, event: &Event) -> Result<(), BusError> {
        let payload = serde_json::to_string(event)
            .map_err(|e| BusError::Unavailable(format!("event {} not serialisable: {e}", event.id)))?;
        let publisher = self
            .publisher
            .with_options(&Self::fail_fast(self.command_timeout));
        let publish = publisher.publish::<i64, _, _>(self.channel.as_str(), payload);
        // fred enforces the timeout itself; this outer bound only guards against a command
        // that never reaches its timer (e.g. stuck behind a reconnection).
        match tokio::time::timeout(self.command_timeout + Duration::from_millis(100), publish).await {
            Ok(Ok(_receivers)) => Ok(()),
            Ok(Err(e)) => {
                tracing::warn!(event_id = event.id, error = %e, "publishing to Redis failed");
                Err(unavailable(e))
            }
            Err(_) => {
                tracing::warn!(event_id = event.id, "publishing to Redis timed out");
                Err(BusError::Unavailable("publish timed out".to_owned()))
            }
        }
    }

    fn subscribe(&self) -> BoxStream<'static, BusMessage> {
        BroadcastStream::new(self.local.subscribe())
            .map(|item| match item {
                Ok(message) => message,
                Err(BroadcastStreamRecvError::Lagged(skipped)) => BusMessage::Lagged { skipped },
            })
            .boxed()
    }

    async fn status(&self) -> &'static str {
        if !self.publisher.is_connected() || !self.subscriber.is_connected() {
            return "down";
        }
        let publisher = self.publisher.with_options(&Self::fail_fast(self.status_timeout));
        let ping = publisher.ping::<String>(None);
        match tokio::time::timeout(self.status_timeout + Duration::from_millis(100), ping).await {
            Ok(Ok(_)) => "ok",
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "Redis PING failed");
                "down"
            }
            Err(_) => "down",
        }
    }
}

fn client_builder(config: Config, settings: &RedisBusConfig) -> Builder {
    let mut builder = Builder::from_config(config);
    let command_timeout = settings.command_timeout;
    let connect_timeout = settings.connect_timeout;
    let buffer = settings.redis_buffer.max(32);
    builder
        .with_connection_config(|c| {
            c.connection_timeout = connect_timeout;
            c.internal_command_timeout = connect_timeout + command_timeout;
            c.tcp.nodelay = Some(true);
            // A connection whose commands go unanswered this long is torn down and
            // re-established instead of waiting for the kernel to give up on it.
            c.unresponsive = UnresponsiveConfig {
                max_timeout: Some(command_timeout * 2),
                interval: Duration::from_millis(500),
            };
        })
        .with_performance_config(|p| {
            p.default_command_timeout = command_timeout;
            p.broadcast_channel_capacity = buffer;
        })
        .set_policy(ReconnectPolicy::new_exponential(
            0, // unlimited attempts
            100,
            u32::try_from(settings.max_reconnect_delay.as_millis()).unwrap_or(u32::MAX),
            2,
        ));
    builder
}

/// The single task that turns fred's subscriber notifications into `BusMessage`s for every
/// local subscriber.
async fn relay(
    subscriber: SubscriberClient,
    channel: String,
    mut messages: broadcast::Receiver<Message>,
    mut reconnects: broadcast::Receiver<Server>,
    local: broadcast::Sender<BusMessage>,
    resubscribe_timeout: Duration,
) {
    loop {
        tokio::select! {
            received = messages.recv() => match received {
                Ok(message) => {
                    if let Some(event) = decode(&message, &channel) {
                        // An error only means nobody is listening right now.
                        let _ = local.send(BusMessage::Event(event));
                    }
                }
                Err(RecvError::Lagged(skipped)) => {
                    tracing::warn!(skipped, "event bus relay fell behind Redis; subscribers must re-read the log");
                    let _ = local.send(BusMessage::Lagged { skipped });
                }
                Err(RecvError::Closed) => break,
            },
            received = reconnects.recv() => match received {
                Ok(_) | Err(RecvError::Lagged(_)) => {
                    // manage_subscriptions() resubscribes too, concurrently; SUBSCRIBE is
                    // idempotent, and awaiting it here means that when subscribers hear
                    // `Reconnected` and re-read the log, live events already flow again.
                    // Not fail-fast: fred announces the connection just before marking
                    // the client connected.
                    match tokio::time::timeout(resubscribe_timeout, subscriber.subscribe(channel.as_str())).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => tracing::warn!(error = %e, "resubscribing after reconnection failed"),
                        Err(_) => tracing::warn!("resubscribing after reconnection timed out"),
                    }
                    tracing::info!(channel = %channel, "event bus reconnected to Redis");
                    let _ = local.send(BusMessage::Reconnected);
                }
                Err(RecvError::Closed) => break,
            },
        }
    }
    tracing::debug!(channel = %channel, "event bus relay stopped");
}

fn decode(message: &Message, channel: &str) -> Option<Event> {
    if &*message.channel != channel {
        return None;
    }
    let Some(text) = message.value.as_str() else {
        tracing::warn!("ignoring a non-text message on the event channel");
        return None;
    };
    match serde_json::from_str::<Event>(&text) {
        Ok(event) => Some(event),
        Err(e) => {
            tracing::warn!(error = %e, "ignoring an undecodable message on the event channel");
            None
        }
    }
}

fn unavailable(e: FredError) -> BusError {
    BusError::Unavailable(e.to_string())
}

async fn quit_quietly<C: ClientLike>(client: &C, timeout: Duration) {
    if let Ok(Err(e)) = tokio::time::timeout(timeout, client.quit()).await {
        tracing::debug!(error = %e, "closing a Redis connection failed");
    }
}
