//! Venue-wide settings an admin edits.

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};

use crate::money::{Currency, Money};
use crate::validate::ValidationError;

/// Rates are basis points (1600 = 16 %), so no fraction is ever a float.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub cafe_name: String,
    pub currency: Currency,
    pub vat_rate_bp: i32,
    pub prices_include_tax: bool,
    pub service_charge_bp: i32,
    pub receipt_footer: String,
    /// Largest discount a cashier may give without approval, in basis points of the order.
    pub cashier_discount_limit_bp: i32,
    pub backup_retention_days: i32,
    /// Hour (venue local time) at which one business day ends and the next begins.
    pub business_day_cutoff_hour: i32,
    /// Venue local time = UTC + this offset (East Africa Time is +180).
    pub utc_offset_minutes: i32,
    pub happy_hour_start: NaiveTime,
    pub happy_hour_end: NaiveTime,
    /// Cash variance at shift close beyond which a manager must approve.
    pub shift_variance_threshold: Money,
    /// A KDS ticket older than this many minutes is shown as waiting long (amber).
    pub kds_warning_minutes: i32,
    /// … and older than this as late (red); above the warning.
    pub kds_late_minutes: i32,
}

impl Settings {
    /// Defaults for a new venue (UGX, 16 % VAT inclusive, no service charge).
    pub fn defaults(cafe_name: &str) -> Settings {
        let currency = Currency::Ugx;
        Settings {
            cafe_name: cafe_name.to_owned(),
            currency,
            vat_rate_bp: 1600,
            prices_include_tax: true,
            service_charge_bp: 0,
            receipt_footer: "Thank you for visiting!".to_owned(),
            cashier_discount_limit_bp: 1000,
            backup_retention_days: 14,
            business_day_cutoff_hour: 4,
            utc_offset_minutes: 180,
            happy_hour_start: NaiveTime::from_hms_opt(16, 0, 0).unwrap_or_default(),
            happy_hour_end: NaiveTime::from_hms_opt(19, 0, 0).unwrap_or_default(),
            shift_variance_threshold: Money::new(5_000, currency),
            kds_warning_minutes: 10,
            kds_late_minutes: 20,
        }
    }

    /// Checks every field's range; the first problem names its field.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let name_len = self.cafe_name.trim().chars().count();
        if name_len == 0 || name_len > 80 {
            return Err(ValidationError::new("cafe_name", "must be 1 to 80 characters"));
        }
        if !(0..=10_000).contains(&self.vat_rate_bp) {
            return Err(ValidationError::new("vat_rate_bp", "must be between 0 and 10000"));
        }
        if !(0..=10_000).contains(&self.service_charge_bp) {
            return Err(ValidationError::new(
                "service_charge_bp",
                "must be between 0 and 10000",
            ));
        }
        if !(0..=10_000).contains(&self.cashier_discount_limit_bp) {
            return Err(ValidationError::new(
                "cashier_discount_limit_bp",
                "must be between 0 and 10000",
            ));
        }
        if !(1..=3650).contains(&self.backup_retention_days) {
            return Err(ValidationError::new(
                "backup_retention_days",
                "must be between 1 and 3650",
            ));
        }
        if !(0..=23).contains(&self.business_day_cutoff_hour) {
            return Err(ValidationError::new(
                "business_day_cutoff_hour",
                "must be between 0 and 23",
            ));
        }
        if !(-720..=840).contains(&self.utc_offset_minutes) {
            return Err(ValidationError::new(
                "utc_offset_minutes",
                "must be between -720 and 840",
            ));
        }
        if self.receipt_footer.chars().count() > 500 {
            return Err(ValidationError::new(
                "receipt_footer",
                "must be at most 500 characters",
            ));
        }
        if self.shift_variance_threshold.is_negative()
            || self.shift_variance_threshold.currency() != self.currency
        {
            return Err(ValidationError::new(
                "shift_variance_threshold",
                "must be a non-negative amount in the venue currency",
            ));
        }
        if !(1..=240).contains(&self.kds_warning_minutes) {
            return Err(ValidationError::new(
                "kds_warning_minutes",
                "must be between 1 and 240",
            ));
        }
        if !(1..=480).contains(&self.kds_late_minutes) || self.kds_late_minutes <= self.kds_warning_minutes {
            return Err(ValidationError::new(
                "kds_late_minutes",
                "must be between 1 and 480 and above kds_warning_minutes",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(Settings::defaults("Cafe").validate(), Ok(()));
    }

    #[test]
    fn out_of_range_values_name_their_field() {
        let mut s = Settings::defaults("Cafe");
        s.vat_rate_bp = 10_001;
        assert_eq!(s.validate().map_err(|e| e.field), Err("vat_rate_bp".into()));
        let mut s = Settings::defaults("Cafe");
        s.business_day_cutoff_hour = 24;
        assert_eq!(
            s.validate().map_err(|e| e.field),
            Err("business_day_cutoff_hour".into())
        );
        let mut s = Settings::defaults("");
        s.cafe_name = String::new();
        assert_eq!(s.validate().map_err(|e| e.field), Err("cafe_name".into()));
    }
}
