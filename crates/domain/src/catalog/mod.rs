//! The back office's menu, floor and settings (spec §7, issue 11 item 1): categories,
//! products (prices, 86, stock), modifiers, tables and the venue settings.
//!
//! Handlers parse requests into the drafts and patches here (every parse error names its
//! field), [`CatalogService`] checks the permission matrix and calls the [`CatalogStore`],
//! and the store applies the patch under its row lock with the functions of this module,
//! writing the audit row (before/after JSON) and the `menu.updated` / `table.updated` event in
//! the same transaction. A refusal writes nothing.

mod claims;
mod effects;
mod errors;
mod fields;
mod patches;
mod service;
mod store;

pub use claims::*;
pub use effects::*;
pub use errors::*;
pub use fields::*;
pub use patches::*;
pub use service::*;
pub use store::*;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::ids::StaffId;
    use crate::money::{Currency, Money};
    use crate::settings::Settings;

    fn number(raw: &str) -> serde_json::Number {
        serde_json::from_str(raw).unwrap()
    }

    #[test]
    fn prices_are_whole_non_negative_minor_units_and_name_their_field() {
        assert_eq!(
            price("price", &number("1500"), Currency::Ugx),
            Ok(Money::new(1500, Currency::Ugx))
        );
        let fraction = price("price", &number("1500.5"), Currency::Ugx).unwrap_err();
        assert_eq!(fraction.field, "price");
        assert!(
            fraction.message.contains("UGX has no fractional unit"),
            "{}",
            fraction.message
        );
        let negative = price("happy_hour_price", &number("-1"), Currency::Ugx).unwrap_err();
        assert_eq!(negative.field, "happy_hour_price");
        assert!(price("price", &number("12.5"), Currency::Usd).is_err());
        assert!(price("price", &number("1e13"), Currency::Usd).is_err());
        assert!(price("price", &number("18446744073709551615"), Currency::Usd).is_err());
    }

    #[test]
    fn stock_counts_adjustments_and_their_limits() {
        assert_eq!(
            apply_stock(Some(5), StockCommand::Adjust(-2)),
            Ok(StockOutcome {
                stock_qty: Some(3),
                delta: -2
            })
        );
        assert_eq!(
            apply_stock(Some(1), StockCommand::Adjust(-2)),
            Err(CatalogError::StockBelowZero { left: 1 })
        );
        assert_eq!(
            apply_stock(None, StockCommand::Adjust(3)),
            Err(CatalogError::StockNotTracked)
        );
        assert!(matches!(
            apply_stock(Some(1), StockCommand::Adjust(0)),
            Err(CatalogError::Invalid(e)) if e.field == "adjust"
        ));
        assert_eq!(
            apply_stock(None, StockCommand::Set(Some(12))),
            Ok(StockOutcome {
                stock_qty: Some(12),
                delta: 12
            })
        );
        assert!(matches!(
            apply_stock(None, StockCommand::Set(Some(-1))),
            Err(CatalogError::Invalid(e)) if e.field == "set"
        ));
        assert_eq!(
            apply_stock(Some(4), StockCommand::Set(None)),
            Ok(StockOutcome {
                stock_qty: None,
                delta: 0
            })
        );
    }

    #[test]
    fn settings_patches_are_validated_whole_and_name_the_field() {
        let base = Settings::defaults("Cafe");
        let bad = |patch: SettingsPatch| patch.apply(&base).unwrap_err().field;
        assert_eq!(
            bad(SettingsPatch {
                vat_rate_bp: Some(10_001),
                ..SettingsPatch::default()
            }),
            "vat_rate_bp"
        );
        assert_eq!(
            bad(SettingsPatch {
                backup_retention_days: Some(0),
                ..SettingsPatch::default()
            }),
            "backup_retention_days"
        );
        assert_eq!(
            bad(SettingsPatch {
                business_day_cutoff_hour: Some(24),
                ..SettingsPatch::default()
            }),
            "business_day_cutoff_hour"
        );
        assert_eq!(
            bad(SettingsPatch {
                currency: Some("XYZ".into()),
                ..SettingsPatch::default()
            }),
            "currency"
        );
        assert_eq!(
            bad(SettingsPatch {
                kds_warning_minutes: Some(30),
                kds_late_minutes: Some(20),
                ..SettingsPatch::default()
            }),
            "kds_late_minutes"
        );
        assert_eq!(
            bad(SettingsPatch {
                vat_rate_bp: Some(i64::MAX),
                ..SettingsPatch::default()
            }),
            "vat_rate_bp"
        );
        let ok = SettingsPatch {
            currency: Some("KES".into()),
            vat_rate_bp: Some(1600),
            happy_hour_start: Some("17:30".into()),
            ..SettingsPatch::default()
        }
        .apply(&base)
        .unwrap();
        assert_eq!(ok.currency, Currency::Kes);
        assert_eq!(ok.shift_variance_threshold.currency(), Currency::Kes);
    }

    #[test]
    fn image_paths_stay_under_the_upload_route() {
        assert_eq!(
            image_url("image_url", Some("/pos-images/products/a.webp")),
            Ok(Some("/pos-images/products/a.webp".into()))
        );
        assert_eq!(image_url("image_url", Some(" ")), Ok(None));
        assert!(image_url("image_url", Some("/pos-images/../etc/passwd")).is_err());
        assert!(image_url("image_url", Some("file:///etc/passwd")).is_err());
    }

    #[test]
    fn effects_carry_before_and_after_and_pick_the_topic() {
        let ctx = ChangeContext {
            actor: StaffId::new(),
            terminal: None,
        };
        let (audit, event) = change_effects(
            ctx,
            CatalogEntity::Product,
            Some("p1".into()),
            CatalogChange::Updated,
            Some(serde_json::json!({"price": 1})),
            Some(serde_json::json!({"price": 2, "available": false})),
        );
        assert_eq!(audit.action, "product.updated");
        assert_eq!(audit.before, Some(serde_json::json!({"price": 1})));
        assert_eq!(event.event_type, "menu.updated");
        assert_eq!(event.payload["available"], serde_json::json!(false));
        let (_, table) = change_effects(
            ctx,
            CatalogEntity::Table,
            None,
            CatalogChange::Created,
            None,
            None,
        );
        assert_eq!(
            (table.event_type.as_str(), table.topic.as_str()),
            ("table.updated", "tables")
        );
    }
}
