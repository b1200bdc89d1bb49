//! The demo-venue data file (`seed/havilah.json`) and its translation into a
//! [`VenueSeed`].
//!
//! The file is read as plain JSON and walked by hand so that every problem names the
//! entry it is in (`products[12].sku: must be 1 to 40 characters`), which serde's own
//! messages (line and column) do not.
//!
//! Format: `currency`, `default_password`, optional `venue` (the café's name),
//! `staff[{username, full_name, role}]`, `terminals[{code, name, kind, station?}]`,
//! `tables[{code, seats}]`, optional `categories[{name, station}]` (default: Food to the
//! kitchen, Drinks to the bar) and `products[{sku, name, category, section, price,
//! happy_hour, image}]`. Unknown keys (such as `source`) are ignored.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use pos_api::auth::credentials::hashing_permit;
use pos_domain::money::{Currency, Money};
use pos_domain::permissions::Role;
use pos_domain::ports::PasswordHasher;
use pos_domain::seed::{SeedCategory, SeedProduct, SeedStaff, SeedTable, SeedTerminal, VenueSeed};
use pos_domain::settings::Settings;
use pos_domain::staff::{Station, TerminalKind, parse_terminal_code};
use pos_domain::validate::{Label, MAX_PASSWORD_LEN, PersonName, Sku, Username, ValidationError};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

/// The project's demo venue, built into the binary so `pos dev` and `pos seed` work from
/// any directory (and in an image that ships only the binary).
pub const EMBEDDED_HAVILAH: &str = include_str!("../../../seed/havilah.json");
/// Where `pos seed` looks first when no `--file` is given.
pub const DEFAULT_SEED_PATH: &str = "seed/havilah.json";
/// The café's name when neither `CAFE_NAME` nor the file's `venue` gives one.
pub const FALLBACK_CAFE_NAME: &str = "pos café";

/// Happy-hour prices are 20 % off, rounded DOWN to a multiple of this many minor units.
/// In UGX (no minor unit) that is USh 500, the smallest amount a till in Uganda usefully
/// deals in; a two-decimal currency gets steps of 5.00. Rounding down keeps the promise
/// of "at least 20 % off".
pub const HAPPY_HOUR_ROUNDING: i64 = 500;

/// A problem in the seed file: `path` names the entry and field (`products[12].sku`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct SeedFileError {
    pub path: String,
    pub message: String,
}

impl SeedFileError {
    fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }

    fn from_validation(path: String, e: ValidationError) -> Self {
        Self::new(path, e.message)
    }
}

/// Where the seed data comes from: a file on disk or the copy built into the binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeedSource {
    File(PathBuf),
    Embedded,
}

impl SeedSource {
    /// An explicit path wins; else `seed/havilah.json` under the working directory if it
    /// exists; else the embedded copy.
    pub fn resolve(explicit: Option<PathBuf>) -> SeedSource {
        match explicit {
            Some(path) => SeedSource::File(path),
            None if Path::new(DEFAULT_SEED_PATH).is_file() => {
                SeedSource::File(PathBuf::from(DEFAULT_SEED_PATH))
            }
            None => SeedSource::Embedded,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            SeedSource::File(path) => path.display().to_string(),
            SeedSource::Embedded => "the built-in demo venue".to_owned(),
        }
    }

    /// Reads and validates the file.
    pub fn load(&self) -> anyhow::Result<ParsedSeed> {
        let text = match self {
            SeedSource::File(path) => std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read seed file {}: {e}", path.display()))?,
            SeedSource::Embedded => EMBEDDED_HAVILAH.to_owned(),
        };
        parse(&text).map_err(|e| anyhow::anyhow!("seed file {}: {e}", self.describe()))
    }
}

/// A validated seed file whose staff passwords are not hashed yet.
#[derive(Debug, Clone)]
pub struct ParsedSeed {
    pub currency: Currency,
    pub venue: Option<String>,
    pub default_password: SecretString,
    pub staff: Vec<ParsedStaff>,
    pub terminals: Vec<SeedTerminal>,
    pub tables: Vec<SeedTable>,
    pub categories: Vec<SeedCategory>,
    pub products: Vec<SeedProduct>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedStaff {
    pub username: Username,
    pub full_name: PersonName,
    pub role: Role,
}

impl ParsedSeed {
    /// Hashes every staff member's password (each with its own salt, off the async
    /// executor, at most `pos_api::auth::credentials::HASHING_CONCURRENCY` at once since
    /// each takes 19 MiB) and assembles the venue. The café's name is `cafe_name` (from
    /// `CAFE_NAME`) if given, else the file's `venue`, else [`FALLBACK_CAFE_NAME`].
    pub async fn into_venue_seed(
        self,
        hasher: Arc<dyn PasswordHasher>,
        cafe_name: Option<&str>,
    ) -> anyhow::Result<VenueSeed> {
        let hashing: Vec<_> = self
            .staff
            .iter()
            .map(|_| {
                let hasher = Arc::clone(&hasher);
                let password = self.default_password.expose_secret().to_owned();
                tokio::spawn(async move {
                    let permit = hashing_permit().await?;
                    let hashed = tokio::task::spawn_blocking(move || {
                        let _permit = permit;
                        hasher.hash(&password)
                    })
                    .await?;
                    anyhow::Ok(hashed)
                })
            })
            .collect();
        let mut staff = Vec::with_capacity(self.staff.len());
        for (member, task) in self.staff.into_iter().zip(hashing) {
            let password_hash = task
                .await
                .map_err(anyhow::Error::from)
                .and_then(|hashed| hashed)
                .map_err(|e| anyhow::anyhow!("password hashing task failed: {e}"))?
                .map_err(|e| anyhow::anyhow!("cannot hash the password of {}: {e}", member.username))?;
            staff.push(SeedStaff {
                username: member.username,
                full_name: member.full_name,
                role: member.role,
                password_hash,
            });
        }

        let name = cafe_name.or(self.venue.as_deref()).unwrap_or(FALLBACK_CAFE_NAME);
        let mut settings = Settings::defaults(name);
        settings.currency = self.currency;
        settings.shift_variance_threshold =
            Money::new(settings.shift_variance_threshold.minor(), self.currency);
        settings
            .validate()
            .map_err(|e| anyhow::anyhow!("default settings are invalid: {e}"))?;

        Ok(VenueSeed {
            settings,
            staff,
            terminals: self.terminals,
            tables: self.tables,
            categories: self.categories,
            products: self.products,
        })
    }
}

/// 20 % off, rounded down to a multiple of [`HAPPY_HOUR_ROUNDING`]. For a price so small
/// that rounding would make it free, the plain 20 % off (rounded down) is used instead.
pub fn happy_hour_price(price: Money) -> Money {
    let discounted = i64::try_from(i128::from(price.minor()) * 4 / 5).unwrap_or(i64::MAX);
    let rounded = discounted - discounted.rem_euclid(HAPPY_HOUR_ROUNDING);
    let minor = if rounded > 0 { rounded } else { discounted };
    Money::new(minor, price.currency())
}

/// Parses and validates the seed file's text.
pub fn parse(text: &str) -> Result<ParsedSeed, SeedFileError> {
    let root: Value = serde_json::from_str(text)
        .map_err(|e| SeedFileError::new("(file)", format!("not valid JSON: {e}")))?;
    let root = root
        .as_object()
        .ok_or_else(|| SeedFileError::new("(file)", "must be a JSON object"))?;
    let top = Entry {
        path: String::new(),
        object: root,
    };

    let currency_raw = top.string("currency")?;
    let currency = Currency::parse(currency_raw)
        .map_err(|_| SeedFileError::new("currency", format!("unknown currency code {currency_raw:?}")))?;
    // Not a `NewPassword`: that type refuses the demo password, which is the point here.
    let default_password = top.string("default_password")?;
    if default_password.is_empty() || default_password.chars().count() > MAX_PASSWORD_LEN {
        return Err(SeedFileError::new(
            "default_password",
            format!("must be 1 to {MAX_PASSWORD_LEN} characters"),
        ));
    }
    let default_password = SecretString::from(default_password.to_owned());
    let venue = top
        .optional_string("venue")?
        .map(|raw| {
            Label::parse(raw)
                .map(String::from)
                .map_err(|e| SeedFileError::from_validation("venue".into(), e))
        })
        .transpose()?;

    let staff = parse_staff(&top)?;
    let terminals = parse_terminals(&top)?;
    let tables = parse_tables(&top)?;
    let categories = parse_categories(&top)?;
    let products = parse_products(&top, currency, &categories)?;

    Ok(ParsedSeed {
        currency,
        venue,
        default_password,
        staff,
        terminals,
        tables,
        categories,
        products,
    })
}

fn parse_staff(top: &Entry<'_>) -> Result<Vec<ParsedStaff>, SeedFileError> {
    let mut seen = Uniques::default();
    top.array("staff")?
        .into_iter()
        .map(|entry| {
            let username = entry.parse("username", Username::parse)?;
            seen.check(&entry, "username", username.as_str())?;
            Ok(ParsedStaff {
                username,
                full_name: entry.parse("full_name", PersonName::parse)?,
                role: entry.parse("role", Role::parse)?,
            })
        })
        .collect()
}

fn parse_terminals(top: &Entry<'_>) -> Result<Vec<SeedTerminal>, SeedFileError> {
    let mut seen = Uniques::default();
    top.array("terminals")?
        .into_iter()
        .map(|entry| {
            let code = entry.parse("code", parse_terminal_code)?;
            seen.check(&entry, "code", &code)?;
            let kind = entry.parse("kind", TerminalKind::parse)?;
            let station = match entry.optional_string("station")? {
                Some(raw) => Some(Station::parse(raw).map_err(|e| entry.error("station", e))?),
                // A kitchen display shows the kitchen's tickets unless the file says bar.
                None if kind == TerminalKind::Kds => Some(Station::Kitchen),
                None => None,
            };
            if station.is_some() && kind != TerminalKind::Kds {
                return Err(SeedFileError::new(
                    entry.field_path("station"),
                    "only a kds terminal has a station",
                ));
            }
            Ok(SeedTerminal {
                code,
                name: entry.parse("name", Label::parse)?,
                kind,
                station,
            })
        })
        .collect()
}

fn parse_tables(top: &Entry<'_>) -> Result<Vec<SeedTable>, SeedFileError> {
    let mut seen = Uniques::default();
    top.array("tables")?
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            let code = entry.parse("code", Label::parse)?;
            seen.check(&entry, "code", code.as_str())?;
            Ok(SeedTable {
                code,
                seats: entry.integer("seats", 1..=100)?,
                sort_order: sort_order(index),
            })
        })
        .collect()
}

fn parse_categories(top: &Entry<'_>) -> Result<Vec<SeedCategory>, SeedFileError> {
    if !top.object.contains_key("categories") {
        return Ok(vec![
            SeedCategory {
                name: Label::parse("Food")
                    .map_err(|e| SeedFileError::from_validation("categories".into(), e))?,
                default_station: Some(Station::Kitchen),
                sort_order: 0,
            },
            SeedCategory {
                name: Label::parse("Drinks")
                    .map_err(|e| SeedFileError::from_validation("categories".into(), e))?,
                default_station: Some(Station::Bar),
                sort_order: 1,
            },
        ]);
    }
    let mut seen = Uniques::default();
    top.array("categories")?
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            let name = entry.parse("name", Label::parse)?;
            seen.check(&entry, "name", name.as_str())?;
            let default_station = entry
                .optional_string("station")?
                .map(|raw| Station::parse(raw).map_err(|e| entry.error("station", e)))
                .transpose()?;
            Ok(SeedCategory {
                name,
                default_station,
                sort_order: sort_order(index),
            })
        })
        .collect()
}

fn parse_products(
    top: &Entry<'_>,
    currency: Currency,
    categories: &[SeedCategory],
) -> Result<Vec<SeedProduct>, SeedFileError> {
    let stations: HashMap<&str, Option<Station>> = categories
        .iter()
        .map(|c| (c.name.as_str(), c.default_station))
        .collect();
    let mut seen = Uniques::default();
    top.array("products")?
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            let sku = entry.parse("sku", Sku::parse)?;
            seen.check(&entry, "sku", sku.as_str())?;
            let category = entry.parse("category", Label::parse)?;
            let Some(&station) = stations.get(category.as_str()) else {
                let known: Vec<&str> = categories.iter().map(|c| c.name.as_str()).collect();
                return Err(SeedFileError::new(
                    entry.field_path("category"),
                    format!(
                        "unknown category {:?} (known: {})",
                        category.as_str(),
                        known.join(", ")
                    ),
                ));
            };
            let section = entry
                .optional_string("section")?
                .map(|raw| {
                    Label::parse(raw)
                        .map(String::from)
                        .map_err(|e| entry.error("section", e))
                })
                .transpose()?;
            let price = Money::new(entry.integer("price", 0..=1_000_000_000_000)?, currency);
            let happy_hour = match entry.object.get("happy_hour") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => {
                    return Err(SeedFileError::new(
                        entry.field_path("happy_hour"),
                        "must be true or false",
                    ));
                }
            };
            let image_url = entry
                .optional_string("image")?
                .map(|raw| parse_image(&entry, raw))
                .transpose()?;
            Ok(SeedProduct {
                sku,
                name: entry.parse("name", Label::parse)?,
                category,
                section,
                price,
                station,
                happy_hour_price: happy_hour.then(|| happy_hour_price(price)),
                image_url,
                sort_order: sort_order(index),
            })
        })
        .collect()
}

fn parse_image(entry: &Entry<'_>, raw: &str) -> Result<String, SeedFileError> {
    let trimmed = raw.trim();
    let shaped =
        trimmed.starts_with('/') || trimmed.starts_with("https://") || trimmed.starts_with("http://");
    if !shaped || trimmed.len() > 500 || trimmed.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(SeedFileError::new(
            entry.field_path("image"),
            "must be a path starting with / or an http(s) URL, without spaces, at most 500 characters",
        ));
    }
    Ok(trimmed.to_owned())
}

fn sort_order(index: usize) -> i32 {
    i32::try_from(index).unwrap_or(i32::MAX)
}

/// One JSON object in the file and where it sits (`products[12]`).
struct Entry<'a> {
    path: String,
    object: &'a Map<String, Value>,
}

impl<'a> Entry<'a> {
    fn field_path(&self, field: &str) -> String {
        if self.path.is_empty() {
            field.to_owned()
        } else {
            format!("{}.{field}", self.path)
        }
    }

    fn error(&self, field: &str, e: ValidationError) -> SeedFileError {
        SeedFileError::from_validation(self.field_path(field), e)
    }

    fn optional_string(&self, field: &str) -> Result<Option<&'a str>, SeedFileError> {
        match self.object.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(SeedFileError::new(self.field_path(field), "must be a string")),
        }
    }

    fn string(&self, field: &str) -> Result<&'a str, SeedFileError> {
        self.optional_string(field)?
            .ok_or_else(|| SeedFileError::new(self.field_path(field), "is required"))
    }

    fn parse<T>(
        &self,
        field: &str,
        parser: impl FnOnce(&str) -> Result<T, ValidationError>,
    ) -> Result<T, SeedFileError> {
        parser(self.string(field)?).map_err(|e| self.error(field, e))
    }

    fn integer<T>(&self, field: &str, range: std::ops::RangeInclusive<T>) -> Result<T, SeedFileError>
    where
        T: TryFrom<i64> + PartialOrd + std::fmt::Display,
    {
        let message = || format!("must be a whole number from {} to {}", range.start(), range.end());
        let value = self
            .object
            .get(field)
            .ok_or_else(|| SeedFileError::new(self.field_path(field), "is required"))?
            .as_i64()
            .and_then(|n| T::try_from(n).ok())
            .filter(|n| range.contains(n))
            .ok_or_else(|| SeedFileError::new(self.field_path(field), message()))?;
        Ok(value)
    }

    fn array(&self, field: &str) -> Result<Vec<Entry<'a>>, SeedFileError> {
        let items = match self.object.get(field) {
            Some(Value::Array(items)) => items,
            None => return Err(SeedFileError::new(self.field_path(field), "is required")),
            Some(_) => return Err(SeedFileError::new(self.field_path(field), "must be an array")),
        };
        items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let path = format!("{}[{index}]", self.field_path(field));
                match item.as_object() {
                    Some(object) => Ok(Entry { path, object }),
                    None => Err(SeedFileError::new(path, "must be an object")),
                }
            })
            .collect()
    }
}

/// Catches a key used twice in one list, naming both entries.
#[derive(Default)]
struct Uniques {
    first_seen: HashMap<String, String>,
}

impl Uniques {
    fn check(&mut self, entry: &Entry<'_>, field: &str, key: &str) -> Result<(), SeedFileError> {
        if let Some(first) = self.first_seen.get(key) {
            return Err(SeedFileError::new(
                entry.field_path(field),
                format!("{key:?} is already used by {first}"),
            ));
        }
        self.first_seen.insert(key.to_owned(), entry.path.clone());
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;
    use pos_api::auth::credentials::HASHING_CONCURRENCY;
    use pos_domain::HashError;
    use serde_json::json;

    fn havilah() -> Value {
        serde_json::from_str(EMBEDDED_HAVILAH).unwrap()
    }

    fn error_after(edit: impl FnOnce(&mut Value)) -> String {
        let mut file = havilah();
        edit(&mut file);
        parse(&file.to_string()).unwrap_err().to_string()
    }

    #[test]
    fn the_project_venue_parses_with_its_counts() {
        let seed = parse(EMBEDDED_HAVILAH).unwrap();
        assert_eq!(seed.currency, Currency::Ugx);
        assert_eq!(seed.staff.len(), 15);
        assert_eq!(seed.terminals.len(), 3);
        assert_eq!(seed.tables.len(), 15);
        assert_eq!(seed.categories.len(), 2);
        assert_eq!(seed.products.len(), 96);
        assert_eq!(seed.default_password.expose_secret(), "password123");
    }

    #[test]
    fn each_station_screen_has_a_demo_account() {
        let seed = parse(EMBEDDED_HAVILAH).unwrap();
        for role in [
            Role::Admin,
            Role::Manager,
            Role::Cashier,
            Role::Kitchen,
            Role::Bar,
        ] {
            assert!(
                seed.staff.iter().any(|s| s.role == role),
                "no {role} account in the demo venue"
            );
        }
        let bar = seed.staff.iter().find(|s| s.role == Role::Bar).unwrap();
        assert_eq!(bar.username.as_str(), "barbara");
    }

    #[test]
    fn terminals_are_pos_kds_on_the_kitchen_and_manager() {
        let seed = parse(EMBEDDED_HAVILAH).unwrap();
        let terminals: Vec<_> = seed
            .terminals
            .iter()
            .map(|t| (t.code.as_str(), t.kind, t.station))
            .collect();
        assert_eq!(
            terminals,
            vec![
                ("pos-1", TerminalKind::Pos, None),
                ("kds-1", TerminalKind::Kds, Some(Station::Kitchen)),
                ("mgr-1", TerminalKind::Manager, None),
            ]
        );
    }

    #[test]
    fn tables_keep_file_order() {
        let seed = parse(EMBEDDED_HAVILAH).unwrap();
        let first: Vec<_> = seed
            .tables
            .iter()
            .take(3)
            .map(|t| (t.code.as_str(), t.seats, t.sort_order))
            .collect();
        assert_eq!(first, vec![("Booth I", 3, 0), ("Booth II", 3, 1), ("T1", 2, 2)]);
        assert_eq!(seed.tables.last().map(|t| t.code.as_str()), Some("T17"));
    }

    #[test]
    fn food_goes_to_the_kitchen_and_drinks_to_the_bar() {
        let seed = parse(EMBEDDED_HAVILAH).unwrap();
        for product in &seed.products {
            let expected = match product.category.as_str() {
                "Food" => Some(Station::Kitchen),
                "Drinks" => Some(Station::Bar),
                other => panic!("unexpected category {other}"),
            };
            assert_eq!(product.station, expected, "{}", product.sku.as_str());
            assert!(product.section.is_some());
            assert_eq!(product.price.currency(), Currency::Ugx);
        }
        let breakfast = &seed.products[0];
        assert_eq!(breakfast.sku.as_str(), "FOOD-BF-001");
        assert_eq!(breakfast.section.as_deref(), Some("Breakfast"));
        assert_eq!(breakfast.price.minor(), 30000);
        assert_eq!(
            breakfast.image_url.as_deref(),
            Some("/pos-images/food/breakfast/english-breakfast.jpg")
        );
    }

    #[test]
    fn happy_hour_products_get_the_rounded_discount() {
        let seed = parse(EMBEDDED_HAVILAH).unwrap();
        let discounted: Vec<_> = seed
            .products
            .iter()
            .filter(|p| p.happy_hour_price.is_some())
            .collect();
        assert_eq!(discounted.len(), 5);
        for p in discounted {
            let hh = p.happy_hour_price.unwrap().minor();
            assert_eq!(hh % HAPPY_HOUR_ROUNDING, 0);
            assert!(hh <= p.price.minor() * 4 / 5);
        }
    }

    #[test]
    fn happy_hour_price_rounds_down_to_500_but_never_to_free() {
        let ugx = |minor| Money::new(minor, Currency::Ugx);
        assert_eq!(happy_hour_price(ugx(30_000)).minor(), 24_000);
        assert_eq!(happy_hour_price(ugx(7_000)).minor(), 5_500);
        assert_eq!(happy_hour_price(ugx(12_000)).minor(), 9_500);
        assert_eq!(happy_hour_price(ugx(400)).minor(), 320);
        assert_eq!(happy_hour_price(ugx(0)).minor(), 0);
        assert_eq!(happy_hour_price(ugx(i64::MAX)).currency(), Currency::Ugx);
    }

    #[test]
    fn bad_entries_are_named() {
        assert_eq!(
            error_after(|f| f["products"][12]["sku"] = json!("bad sku!")),
            "products[12].sku: may contain only letters, digits, '-' and '_'"
        );
        assert_eq!(
            error_after(|f| f["products"][3]["price"] = json!(-5)),
            "products[3].price: must be a whole number from 0 to 1000000000000"
        );
        assert_eq!(
            error_after(|f| f["products"][3]["price"] = json!(12.5)),
            "products[3].price: must be a whole number from 0 to 1000000000000"
        );
        assert_eq!(
            error_after(|f| f["products"][0]["category"] = json!("Desserts")),
            "products[0].category: unknown category \"Desserts\" (known: Food, Drinks)"
        );
        assert_eq!(
            error_after(|f| f["staff"][2]["role"] = json!("owner")),
            format!("staff[2].role: {}", Role::parse("owner").unwrap_err().message)
        );
        assert_eq!(
            error_after(|f| f["tables"][4]["seats"] = json!(0)),
            "tables[4].seats: must be a whole number from 1 to 100"
        );
        assert_eq!(
            error_after(|f| f["terminals"][1]["kind"] = json!("tablet")),
            "terminals[1].kind: must be one of pos, kds, manager, mobile"
        );
        assert_eq!(
            error_after(|f| {
                f["staff"][0].as_object_mut().unwrap().remove("username");
            }),
            "staff[0].username: is required"
        );
        assert_eq!(
            error_after(|f| f["products"][5]["happy_hour"] = json!("yes")),
            "products[5].happy_hour: must be true or false"
        );
        assert_eq!(
            error_after(|f| f["currency"] = json!("XYZ")),
            "currency: unknown currency code \"XYZ\""
        );
        assert_eq!(
            error_after(|f| f["products"] = json!({})),
            "products: must be an array"
        );
        assert_eq!(
            error_after(|f| f["products"][1]["image"] = json!("images/no-leading-slash.jpg")),
            "products[1].image: must be a path starting with / or an http(s) URL, without spaces, at most 500 characters"
        );
    }

    #[test]
    fn duplicates_name_both_entries() {
        assert_eq!(
            error_after(|f| f["products"][7]["sku"] = json!("food-bf-001")),
            "products[7].sku: \"FOOD-BF-001\" is already used by products[0]"
        );
        assert_eq!(
            error_after(|f| f["staff"][5]["username"] = json!("Able")),
            "staff[5].username: \"able\" is already used by staff[0]"
        );
        assert_eq!(
            error_after(|f| f["tables"][2]["code"] = json!("Booth I")),
            "tables[2].code: \"Booth I\" is already used by tables[0]"
        );
    }

    #[test]
    fn explicit_categories_and_venue_are_honoured() {
        let mut file = havilah();
        file["venue"] = json!("Kampala Corner");
        file["categories"] = json!([
            {"name": "Food", "station": "kitchen"},
            {"name": "Drinks", "station": "bar"},
            {"name": "Retail"}
        ]);
        file["products"][0]["category"] = json!("Retail");
        let seed = parse(&file.to_string()).unwrap();
        assert_eq!(seed.venue.as_deref(), Some("Kampala Corner"));
        assert_eq!(seed.categories.len(), 3);
        assert_eq!(seed.products[0].station, None);
    }

    #[test]
    fn not_json_is_reported() {
        assert!(
            parse("{")
                .unwrap_err()
                .to_string()
                .starts_with("(file): not valid JSON")
        );
        assert_eq!(
            parse("[]").unwrap_err().to_string(),
            "(file): must be a JSON object"
        );
    }

    /// Stands in for argon2 here: the unit under test is the assembly, not the hash.
    struct TaggingHasher;

    impl PasswordHasher for TaggingHasher {
        fn hash(&self, secret: &str) -> Result<String, HashError> {
            Ok(format!("hashed:{secret}"))
        }
        fn verify(&self, secret: &str, hash: &str) -> Result<bool, HashError> {
            Ok(hash == format!("hashed:{secret}"))
        }
    }

    /// Records how many hashes overlap; each lasts long enough for overlaps to show.
    #[derive(Default)]
    struct OverlapCounter {
        running: AtomicUsize,
        most: AtomicUsize,
    }

    impl PasswordHasher for OverlapCounter {
        fn hash(&self, _: &str) -> Result<String, HashError> {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(20));
            self.running.fetch_sub(1, Ordering::SeqCst);
            Ok("hashed".to_owned())
        }
        fn verify(&self, _: &str, _: &str) -> Result<bool, HashError> {
            Ok(true)
        }
    }

    #[tokio::test]
    async fn venue_seed_hashes_no_more_than_the_limit_at_once() {
        let counter = Arc::new(OverlapCounter::default());
        let seed = parse(&havilah().to_string())
            .unwrap()
            .into_venue_seed(counter.clone(), None)
            .await
            .unwrap();
        assert_eq!(seed.staff.len(), 15);
        let most = counter.most.load(Ordering::SeqCst);
        assert!((1..=HASHING_CONCURRENCY).contains(&most), "{most} at once");
    }

    #[tokio::test]
    async fn venue_seed_hashes_every_password_and_sets_the_currency_and_name() {
        let mut file = havilah();
        file["currency"] = json!("KES");
        file["venue"] = json!("From The File");
        let parsed = parse(&file.to_string()).unwrap();

        let named = parsed
            .clone()
            .into_venue_seed(Arc::new(TaggingHasher), Some("From Env"))
            .await
            .unwrap();
        assert_eq!(named.settings.cafe_name, "From Env");
        assert_eq!(named.settings.currency, Currency::Kes);
        assert_eq!(named.settings.shift_variance_threshold.currency(), Currency::Kes);
        assert_eq!(named.staff.len(), 15);
        assert!(
            named
                .staff
                .iter()
                .all(|s| s.password_hash == "hashed:password123")
        );
        assert_eq!(named.staff[0].username.as_str(), "able");
        assert_eq!(named.staff[0].role, Role::Admin);

        let from_file = parsed
            .into_venue_seed(Arc::new(TaggingHasher), None)
            .await
            .unwrap();
        assert_eq!(from_file.settings.cafe_name, "From The File");

        let mut nameless = havilah();
        nameless.as_object_mut().unwrap().remove("venue");
        let plain = parse(&nameless.to_string()).unwrap();
        let fallback = plain
            .into_venue_seed(Arc::new(TaggingHasher), None)
            .await
            .unwrap();
        assert_eq!(fallback.settings.cafe_name, FALLBACK_CAFE_NAME);
    }
}
