//! Ports: what the domain needs from the outside world. Adapters (`pos-postgres`,
//! `pos-redis`, `pos-pesapal`, the API's hasher) implement them; each method's doc says
//! which error it MUST return in which case, so every adapter behaves alike.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_core::stream::BoxStream;

use crate::error::{BusError, GatewayError, HashError, StoreError};
use crate::event::Event;
use crate::ids::{PaymentId, StaffId, TerminalId};
use crate::money::Money;
use crate::seed::{SeedReport, VenueSeed};
use crate::settings::Settings;
use crate::staff::{NewStaff, NewTerminal, Staff, StaffCredentials, Terminal, TerminalChanges};
use crate::validate::Username;
use crate::venue::{Category, Product, Table};

/// Time, injectable so tests can stand at a business-day boundary or inside happy hour.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Password and PIN hashing. Synchronous and CPU-heavy on purpose (argon2id): callers run
/// it off the async executor.
pub trait PasswordHasher: Send + Sync {
    /// A PHC-format hash with a fresh salt. `HashError::Failed` only on internal failure.
    fn hash(&self, secret: &str) -> Result<String, HashError>;
    /// `Ok(false)` for a wrong secret; `HashError::MalformedHash` when `hash` cannot be parsed.
    fn verify(&self, secret: &str, hash: &str) -> Result<bool, HashError>;
}

/// Staff accounts.
#[async_trait]
pub trait StaffStore: Send + Sync {
    /// `StoreError::Conflict { constraint: "staff_username_key" }` when the username is taken.
    async fn create_staff(&self, new: NewStaff) -> Result<Staff, StoreError>;
    /// `StoreError::NotFound` when no staff member has this id.
    async fn get_staff(&self, id: StaffId) -> Result<Staff, StoreError>;
    /// `Ok(None)` when no staff member has this username (active or not).
    async fn find_credentials(&self, username: &Username) -> Result<Option<StaffCredentials>, StoreError>;
    /// Every staff member, active first, then by username.
    async fn list_staff(&self) -> Result<Vec<Staff>, StoreError>;
}

/// Registered devices.
#[async_trait]
pub trait TerminalStore: Send + Sync {
    /// `StoreError::Conflict { constraint: "terminals_code_key" }` when the code is taken.
    async fn create_terminal(&self, new: NewTerminal) -> Result<Terminal, StoreError>;
    /// `Ok(None)` when no terminal has this code.
    async fn find_terminal(&self, code: &str) -> Result<Option<Terminal>, StoreError>;
    async fn list_terminals(&self) -> Result<Vec<Terminal>, StoreError>;
    /// Records traffic from a terminal. `StoreError::NotFound` for an unknown id.
    async fn touch_terminal(&self, id: TerminalId, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// `StoreError::NotFound` for an unknown id.
    async fn get_terminal(&self, id: TerminalId) -> Result<Terminal, StoreError>;
    /// Applies the changes; `NotFound` for an unknown id, `Conflict { constraint:
    /// "terminals_code_key" }` when a new code is taken.
    async fn update_terminal(&self, id: TerminalId, changes: TerminalChanges)
    -> Result<Terminal, StoreError>;
}

/// Tables on the floor.
#[async_trait]
pub trait TableStore: Send + Sync {
    /// Active tables in sort order.
    async fn list_tables(&self) -> Result<Vec<Table>, StoreError>;
}

/// Categories and products with their modifiers.
#[async_trait]
pub trait MenuStore: Send + Sync {
    /// Active categories in sort order.
    async fn list_categories(&self) -> Result<Vec<Category>, StoreError>;
    /// Active products with their active modifiers, grouped by category (in no particular
    /// order of categories) and in sort order within each.
    async fn list_products(&self) -> Result<Vec<Product>, StoreError>;
    /// A number that changes whenever anything the menu shows changes (categories,
    /// products, their stock and modifiers, the settings), whoever made the change. Read from
    /// the shared store, so every server instance sees it, and never ahead of the rows it
    /// stands for.
    async fn menu_version(&self) -> Result<i64, StoreError>;
}

/// The single settings document of the venue.
#[async_trait]
pub trait SettingsStore: Send + Sync {
    /// The stored settings. `StoreError::NotFound` before the venue was seeded or set up.
    async fn get_settings(&self) -> Result<Settings, StoreError>;
    /// Replaces the settings; the caller validated them. `StoreError::CheckViolation` if a
    /// database rule still refuses a value.
    async fn put_settings(&self, settings: &Settings) -> Result<Settings, StoreError>;
}

/// Loads the demo venue. Idempotent: anything already present (by username, terminal code,
/// table code, category name, SKU) is left as it is, so a second run changes nothing.
#[async_trait]
pub trait SeedStore: Send + Sync {
    /// One transaction: either the whole venue is present afterwards or nothing was written.
    async fn seed_venue(&self, seed: &VenueSeed) -> Result<SeedReport, StoreError>;
}

/// Liveness of the backing store, for `/api/health`.
#[async_trait]
pub trait HealthProbe: Send + Sync {
    /// `Ok(())` when a trivial query round-trips; `StoreError::Unavailable` otherwise.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// What a subscriber of the event bus receives.
#[derive(Debug, Clone, PartialEq)]
pub enum BusMessage {
    Event(Event),
    /// The subscriber fell behind and `skipped` messages were dropped: re-read the log.
    Lagged {
        skipped: u64,
    },
    /// The shared bus came back after an outage: whatever was published meanwhile was
    /// lost on the bus, so re-read the log from the last id seen.
    Reconnected,
}

/// Fans events out to every instance's live subscribers. The event log is the truth; the
/// bus only makes it fast.
#[async_trait]
pub trait EventBus: Send + Sync {
    /// `BusError::Unavailable` when the shared bus is down; the caller logs and carries on.
    async fn publish(&self, event: &Event) -> Result<(), BusError>;
    /// A live stream of what is published from now on, on any instance.
    fn subscribe(&self) -> BoxStream<'static, BusMessage>;
    /// `"ok"`, `"disabled"` (in-process only) or `"down"`, for `/api/health`.
    async fn status(&self) -> &'static str;
}

/// An online payment handed to the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayOrder {
    /// Our payment id: the provider's merchant reference.
    pub payment_id: PaymentId,
    pub amount: Money,
    pub description: String,
    pub callback_url: String,
    pub customer_phone: Option<String>,
    pub customer_email: Option<String>,
}

/// A refund asked of the provider for a completed online payment. Pesapal allows one
/// refund per payment, and mobile money only in full: the domain checks that before asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayRefund {
    /// The provider's confirmation code of the payment being refunded.
    pub confirmation_code: String,
    pub amount: Money,
    /// Who asked (the approving manager's username), as the provider records it.
    pub username: String,
    pub remarks: String,
}

/// The provider's answer to a submitted order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayRedirect {
    pub order_tracking_id: String,
    pub redirect_url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayPaymentState {
    Pending,
    Completed,
    Failed,
    Reversed,
}

/// The provider's authoritative status of one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayStatus {
    pub state: GatewayPaymentState,
    pub amount: Money,
    pub payment_method: Option<String>,
    pub confirmation_code: Option<String>,
    pub merchant_reference: String,
    pub description: Option<String>,
}

/// Online payments (Pesapal API 3.0).
#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// `GatewayError::NotConfigured` without credentials; `Unreachable` on network failure;
    /// `Rejected` when the provider returns an error object.
    async fn submit_order(&self, order: GatewayOrder) -> Result<GatewayRedirect, GatewayError>;
    /// The status to act on; never trust an IPN without asking this.
    async fn transaction_status(&self, order_tracking_id: &str) -> Result<GatewayStatus, GatewayError>;
    /// `Ok` once the provider accepted the refund request (it settles later);
    /// `Rejected` when it refuses (already refunded, partial mobile money, …).
    async fn request_refund(&self, refund: GatewayRefund) -> Result<(), GatewayError>;
}
