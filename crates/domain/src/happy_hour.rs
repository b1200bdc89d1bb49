//! Happy hour: a daily window (venue local time) in which products with a happy-hour
//! price sell at it. The window may cross midnight (22:00–02:00); equal ends mean none.

use chrono::{DateTime, NaiveTime, TimeDelta, Utc};

use crate::money::Money;
use crate::settings::Settings;
use crate::venue::Product;

/// True when `now` falls inside the `[start, end)` window of the settings.
pub fn is_happy_hour(settings: &Settings, now: DateTime<Utc>) -> bool {
    let local = now
        .naive_utc()
        .checked_add_signed(TimeDelta::minutes(i64::from(settings.utc_offset_minutes)))
        .unwrap_or_else(|| now.naive_utc())
        .time();
    in_window(local, settings.happy_hour_start, settings.happy_hour_end)
}

fn in_window(t: NaiveTime, start: NaiveTime, end: NaiveTime) -> bool {
    if start <= end {
        start <= t && t < end
    } else {
        t >= start || t < end
    }
}

/// The price `product` sells at `now`: its happy-hour price inside the window, else its price.
pub fn effective_price(product: &Product, settings: &Settings, now: DateTime<Utc>) -> Money {
    match product.happy_hour_price {
        Some(price) if is_happy_hour(settings, now) => price,
        _ => product.price,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::ids::{CategoryId, ProductId};
    use crate::money::Currency;
    use crate::validate::{Label, Sku};
    use chrono::TimeZone;

    fn product(happy: Option<i64>) -> Product {
        Product {
            id: ProductId::new(),
            sku: Sku::parse("BAR-001").unwrap(),
            name: Label::parse("Nile Special").unwrap(),
            category_id: CategoryId::new(),
            section: None,
            price: Money::new(6_000, Currency::Ugx),
            station: None,
            available: true,
            active: true,
            image_url: None,
            sort_order: 0,
            happy_hour_price: happy.map(|m| Money::new(m, Currency::Ugx)),
            stock_qty: None,
            modifiers: vec![],
            updated_at: Utc::now(),
        }
    }

    fn at_local(h: u32, m: u32) -> DateTime<Utc> {
        // Default settings are UTC+3.
        let local = Utc.with_ymd_and_hms(2024, 3, 15, h, m, 0).single().unwrap();
        local - TimeDelta::hours(3)
    }

    fn time(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn inside_the_window_the_happy_hour_price_applies() {
        let s = Settings::defaults("Cafe"); // 16:00–19:00
        let p = product(Some(4_000));
        assert_eq!(effective_price(&p, &s, at_local(15, 59)).minor(), 6_000);
        assert_eq!(effective_price(&p, &s, at_local(16, 0)).minor(), 4_000);
        assert_eq!(effective_price(&p, &s, at_local(18, 59)).minor(), 4_000);
        assert_eq!(effective_price(&p, &s, at_local(19, 0)).minor(), 6_000);
        assert_eq!(
            effective_price(&product(None), &s, at_local(17, 0)).minor(),
            6_000
        );
    }

    #[test]
    fn a_window_may_cross_midnight() {
        let mut s = Settings::defaults("Cafe");
        s.happy_hour_start = time(22, 0);
        s.happy_hour_end = time(2, 0);
        let p = product(Some(4_000));
        assert_eq!(effective_price(&p, &s, at_local(21, 59)).minor(), 6_000);
        assert_eq!(effective_price(&p, &s, at_local(23, 0)).minor(), 4_000);
        assert_eq!(effective_price(&p, &s, at_local(0, 30)).minor(), 4_000);
        assert_eq!(effective_price(&p, &s, at_local(2, 0)).minor(), 6_000);
        assert_eq!(effective_price(&p, &s, at_local(12, 0)).minor(), 6_000);
    }

    #[test]
    fn equal_ends_mean_no_happy_hour() {
        let mut s = Settings::defaults("Cafe");
        s.happy_hour_start = time(17, 0);
        s.happy_hour_end = time(17, 0);
        assert!(!is_happy_hour(&s, at_local(17, 0)));
        assert_eq!(
            effective_price(&product(Some(1)), &s, at_local(17, 0)).minor(),
            6_000
        );
    }
}
