//! The few API calls the bench makes, over HTTP with a bearer token, as a till would.

use std::fmt;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

/// The header every create and send carries (a fresh UUID per action, as a till sends).
const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
/// No single order call may take longer; a stuck server shows up as `timeout` errors.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
}

/// A signed-in account.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub username: String,
    pub role: String,
    pub must_change_password: bool,
}

/// A product the bench may put on orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub id: String,
    /// Where its items go when sent (`kitchen`, `bar`), if anywhere.
    pub station: Option<String>,
}

/// Why an order call failed, as the error table counts it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Failure {
    /// An HTTP status with the problem's `code` when the body had one.
    Status(u16, Option<String>),
    Timeout,
    Connection,
    /// A 2xx answer the bench could not read.
    BadAnswer,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Status(status, Some(code)) => write!(f, "{status} {code}"),
            Failure::Status(status, None) => write!(f, "{status}"),
            Failure::Timeout => f.write_str("timeout"),
            Failure::Connection => f.write_str("connection error"),
            Failure::BadAnswer => f.write_str("unreadable answer"),
        }
    }
}

impl From<reqwest::Error> for Failure {
    fn from(error: reqwest::Error) -> Self {
        if error.is_timeout() {
            Failure::Timeout
        } else if error.is_decode() {
            Failure::BadAnswer
        } else {
            Failure::Connection
        }
    }
}

#[derive(Deserialize)]
struct SessionBody {
    token: String,
    staff: StaffBody,
}

#[derive(Deserialize)]
struct StaffBody {
    username: String,
    role: String,
    must_change_password: bool,
}

impl From<SessionBody> for Session {
    fn from(body: SessionBody) -> Self {
        Session {
            token: body.token,
            username: body.staff.username,
            role: body.staff.role,
            must_change_password: body.staff.must_change_password,
        }
    }
}

#[derive(Deserialize)]
struct MenuBody {
    categories: Vec<MenuCategoryBody>,
}

#[derive(Deserialize)]
struct MenuCategoryBody {
    default_station: Option<String>,
    products: Vec<MenuProductBody>,
}

#[derive(Deserialize)]
struct MenuProductBody {
    id: String,
    station: Option<String>,
    orderable: bool,
    stock_qty: Option<i32>,
}

#[derive(Deserialize)]
struct OrderBody {
    id: String,
}

#[derive(Deserialize)]
struct ProblemBody {
    code: Option<String>,
    detail: Option<String>,
}

/// How a sign-in went.
#[derive(Debug)]
pub enum Login {
    Ok(Session),
    /// 401: wrong username or password.
    Rejected,
}

impl Api {
    /// A client for the server at `base` (e.g. `http://127.0.0.1:3000`) keeping up to
    /// `connections` idle connections, so each worker keeps its own.
    pub fn new(base: &str, connections: usize) -> anyhow::Result<Api> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(connections.max(1))
            .connect_timeout(Duration::from_secs(10))
            .tcp_nodelay(true)
            .build()
            .context("building the HTTP client")?;
        Ok(Api {
            http,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api{path}", self.base)
    }

    /// The server's version from `/api/health`, if it answers.
    pub async fn server_version(&self) -> anyhow::Result<String> {
        let health: Value = self
            .http
            .get(self.url("/health"))
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .with_context(|| format!("no answer from {}", self.base))?
            .json()
            .await
            .context("reading /api/health")?;
        Ok(health["version"].as_str().unwrap_or("unknown").to_owned())
    }

    pub async fn login(&self, username: &str, password: &str) -> anyhow::Result<Login> {
        let response = self
            .http
            .post(self.url("/auth/login"))
            .timeout(REQUEST_TIMEOUT)
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .context("POST /api/auth/login")?;
        if response.status() == StatusCode::UNAUTHORIZED {
            return Ok(Login::Rejected);
        }
        let body: SessionBody = expect_status(response, StatusCode::OK, "sign in as ".to_owned() + username)
            .await?
            .json()
            .await?;
        Ok(Login::Ok(body.into()))
    }

    pub async fn change_password(
        &self,
        session: &Session,
        current: &str,
        new: &str,
    ) -> anyhow::Result<Session> {
        let response = self
            .http
            .post(self.url("/auth/change-password"))
            .timeout(REQUEST_TIMEOUT)
            .bearer_auth(&session.token)
            .json(&json!({"current_password": current, "new_password": new}))
            .send()
            .await
            .context("POST /api/auth/change-password")?;
        let what = format!("change the password of {}", session.username);
        let body: SessionBody = expect_status(response, StatusCode::OK, what)
            .await?
            .json()
            .await?;
        Ok(body.into())
    }

    /// Creates a staff member who may sign in at once; `false` when the username exists
    /// already (a previous `--prepare`).
    pub async fn create_staff(
        &self,
        admin: &Session,
        username: &str,
        role: &str,
        password: &str,
    ) -> anyhow::Result<bool> {
        let response = self
            .http
            .post(self.url("/admin/staff"))
            .timeout(REQUEST_TIMEOUT)
            .bearer_auth(&admin.token)
            .json(&json!({
                "username": username,
                "full_name": format!("Bench {role}"),
                "role": role,
                "password": password,
                "must_change_password": false,
            }))
            .send()
            .await
            .context("POST /api/admin/staff")?;
        if response.status() == StatusCode::CONFLICT {
            let problem: ProblemBody = response.json().await.unwrap_or(ProblemBody {
                code: None,
                detail: None,
            });
            if problem.code.as_deref() == Some("username_taken") {
                return Ok(false);
            }
            bail!("creating {username}: 409 {}", problem.detail.unwrap_or_default());
        }
        expect_status(response, StatusCode::CREATED, format!("create {username}")).await?;
        Ok(true)
    }

    /// The products that can be ordered now and whose stock is not tracked (so a long run
    /// never sells one out).
    pub async fn orderable_products(&self, session: &Session) -> anyhow::Result<Vec<Product>> {
        let response = self
            .http
            .get(self.url("/menu"))
            .timeout(REQUEST_TIMEOUT)
            .bearer_auth(&session.token)
            .send()
            .await
            .context("GET /api/menu")?;
        let menu: MenuBody = expect_status(response, StatusCode::OK, "read the menu".to_owned())
            .await?
            .json()
            .await
            .context("reading the menu")?;
        Ok(menu
            .categories
            .into_iter()
            .flat_map(|category| {
                let default_station = category.default_station;
                category
                    .products
                    .into_iter()
                    .filter(|p| p.orderable && p.stock_qty.is_none())
                    .map(move |p| Product {
                        id: p.id,
                        station: p.station.or_else(|| default_station.clone()),
                    })
            })
            .collect())
    }

    /// `POST /api/orders`: a takeaway order with one of each product; the new order's id.
    pub async fn create_order(&self, session: &Session, products: &[&Product]) -> Result<String, Failure> {
        let items: Vec<Value> = products
            .iter()
            .map(|p| json!({"product_id": p.id, "quantity": 1}))
            .collect();
        let response = self
            .http
            .post(self.url("/orders"))
            .timeout(REQUEST_TIMEOUT)
            .bearer_auth(&session.token)
            .header(IDEMPOTENCY_KEY, Uuid::new_v4().to_string())
            .json(&json!({"type": "takeaway", "items": items}))
            .send()
            .await?;
        if response.status() != StatusCode::CREATED {
            return Err(failure(response).await);
        }
        let order: OrderBody = response.json().await?;
        Ok(order.id)
    }

    /// `POST /api/orders/{id}/send`.
    pub async fn send_order(&self, session: &Session, order_id: &str) -> Result<(), Failure> {
        let response = self
            .http
            .post(self.url(&format!("/orders/{order_id}/send")))
            .timeout(REQUEST_TIMEOUT)
            .bearer_auth(&session.token)
            .header(IDEMPOTENCY_KEY, Uuid::new_v4().to_string())
            .send()
            .await?;
        if response.status() != StatusCode::OK {
            return Err(failure(response).await);
        }
        // Read the body so the connection goes back to the pool.
        response.bytes().await?;
        Ok(())
    }

    /// Opens the KDS event stream of `station`; the response streams until dropped.
    pub async fn open_kds_stream(
        &self,
        session: &Session,
        station: &str,
    ) -> anyhow::Result<reqwest::Response> {
        let response = self
            .http
            .get(self.url("/realtime/stream"))
            .query(&[("topics", "kds"), ("station", station)])
            .bearer_auth(&session.token)
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .send()
            .await
            .context("GET /api/realtime/stream")?;
        expect_status(response, StatusCode::OK, "open the KDS stream".to_owned()).await
    }
}

async fn failure(response: reqwest::Response) -> Failure {
    let status = response.status().as_u16();
    let code = response.json::<ProblemBody>().await.ok().and_then(|p| p.code);
    Failure::Status(status, code)
}

/// The response when it has the expected status, else an error naming what failed and why.
async fn expect_status(
    response: reqwest::Response,
    expected: StatusCode,
    what: String,
) -> anyhow::Result<reqwest::Response> {
    if response.status() == expected {
        return Ok(response);
    }
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let detail = serde_json::from_str::<ProblemBody>(&text)
        .ok()
        .and_then(|p| Some(format!("{}: {}", p.code?, p.detail.unwrap_or_default())))
        .unwrap_or(text);
    Err(anyhow!("could not {what}: {status} {detail}"))
}
