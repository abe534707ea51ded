//! Product types and the per-app totals they add up to (DESIGN §2's mapping).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use storewatch_core::model::{AppId, Metric, MetricPoint};

/// What a product type identifier counts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProductKind {
    /// `1`, `1F`, `1T`: first-time download of a free or paid app.
    Download,
    /// `1E`, `1EP`, `1EU`: paid custom app.
    CustomDownload,
    /// `1-B`, `F1-B`: app bundle.
    Bundle,
    /// `3`, `3F`: re-download.
    Redownload,
    /// `7`, `7F`, `7T`: update.
    Update,
    /// `IA1`: in-app purchase.
    InAppPurchase,
    /// `IA3`: restored non-consumable.
    Restore,
    /// `IA9`: non-renewing subscription.
    NonRenewingSubscription,
    /// `IAY`: auto-renewable subscription.
    AutoRenewableSubscription,
    /// `F1`, `F7`, `FI1`, `IA1-M`, `IA9-M`, `IAY-M`: Mac products, kept apart.
    Mac,
    /// Anything else (e.g. the legacy `IAC`), kept apart and logged.
    Other,
}

impl ProductKind {
    /// The kind of a product type identifier.
    pub fn of(id: &str) -> ProductKind {
        match id {
            "1" | "1F" | "1T" => ProductKind::Download,
            "1E" | "1EP" | "1EU" => ProductKind::CustomDownload,
            "1-B" | "F1-B" => ProductKind::Bundle,
            "3" | "3F" => ProductKind::Redownload,
            "7" | "7F" | "7T" => ProductKind::Update,
            "IA1" => ProductKind::InAppPurchase,
            "IA3" => ProductKind::Restore,
            "IA9" => ProductKind::NonRenewingSubscription,
            "IAY" => ProductKind::AutoRenewableSubscription,
            "F1" | "F7" | "FI1" | "IA1-M" | "IA9-M" | "IAY-M" => ProductKind::Mac,
            _ => ProductKind::Other,
        }
    }

    /// Whether rows of this kind belong to the parent app named by `Parent Identifier`.
    pub fn is_in_app(self) -> bool {
        matches!(
            self,
            ProductKind::InAppPurchase
                | ProductKind::Restore
                | ProductKind::NonRenewingSubscription
                | ProductKind::AutoRenewableSubscription
        )
    }
}

/// One app's totals for the day (all decimals are exact; units may be negative).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct AppSales {
    /// First-time downloads (`1`, `1F`, `1T`).
    pub downloads: Decimal,
    /// Custom-app downloads (`1E`, `1EP`, `1EU`).
    pub custom_downloads: Decimal,
    /// App bundles (`1-B`, `F1-B`).
    pub bundles: Decimal,
    /// Re-downloads (`3`, `3F`).
    pub redownloads: Decimal,
    /// Updates (`7`, `7F`, `7T`).
    pub updates: Decimal,
    /// In-app purchase and subscription units (`IA1`, `IA9`, `IAY`).
    pub iap_units: Decimal,
    /// `IAY` units whose `Subscription` is `New`.
    pub subscriptions_new: Decimal,
    /// `IAY` units whose `Subscription` is `Renewal`.
    pub subscription_renewals: Decimal,
    /// Restored non-consumables (`IA3`).
    pub restores: Decimal,
    /// Mac product units.
    pub mac_units: Decimal,
    /// Units of unknown product types.
    pub other_units: Decimal,
    /// Refunded units (the absolute sum of negative `Units`), already included above.
    pub refunded_units: Decimal,
    /// Σ `Units × Developer Proceeds` per `Currency of Proceeds`.
    pub proceeds: BTreeMap<String, Decimal>,
}

impl AppSales {
    pub(super) fn add(&mut self, kind: ProductKind, units: Decimal, subscription: &[u8]) {
        let slot = match kind {
            ProductKind::Download => &mut self.downloads,
            ProductKind::CustomDownload => &mut self.custom_downloads,
            ProductKind::Bundle => &mut self.bundles,
            ProductKind::Redownload => &mut self.redownloads,
            ProductKind::Update => &mut self.updates,
            ProductKind::InAppPurchase | ProductKind::NonRenewingSubscription => {
                &mut self.iap_units
            }
            ProductKind::AutoRenewableSubscription => {
                match subscription {
                    b"New" => self.subscriptions_new += units,
                    b"Renewal" => self.subscription_renewals += units,
                    _ => {}
                }
                &mut self.iap_units
            }
            ProductKind::Restore => &mut self.restores,
            ProductKind::Mac => &mut self.mac_units,
            ProductKind::Other => &mut self.other_units,
        };
        *slot += units;
        if units.is_sign_negative() {
            self.refunded_units -= units;
        }
    }

    /// Adds another set of totals (an app's own rows and its in-app rows).
    pub fn merge(&mut self, other: &AppSales) {
        self.downloads += other.downloads;
        self.custom_downloads += other.custom_downloads;
        self.bundles += other.bundles;
        self.redownloads += other.redownloads;
        self.updates += other.updates;
        self.iap_units += other.iap_units;
        self.subscriptions_new += other.subscriptions_new;
        self.subscription_renewals += other.subscription_renewals;
        self.restores += other.restores;
        self.mac_units += other.mac_units;
        self.other_units += other.other_units;
        self.refunded_units += other.refunded_units;
        for (currency, amount) in &other.proceeds {
            *self.proceeds.entry(currency.clone()).or_default() += *amount;
        }
    }

    /// The storewatch points of these totals for `app` on `date`.
    ///
    /// `proceeds` gets one segment per currency plus a total (segment `""`) that adds the
    /// currencies' amounts without conversion: exact on single-currency days only.
    pub fn points(&self, app: AppId, date: NaiveDate) -> Vec<MetricPoint> {
        let f = |d: Decimal| f64::try_from(d).unwrap_or(0.0);
        let mut points = vec![
            MetricPoint::total(app, Metric::DOWNLOADS, date, f(self.downloads)),
            MetricPoint::total(app, Metric::REDOWNLOADS, date, f(self.redownloads)),
            MetricPoint::total(app, Metric::UPDATES, date, f(self.updates)),
            MetricPoint::total(app, Metric::IAP_UNITS, date, f(self.iap_units)),
        ];
        // The total adds the amounts of every currency as they are (no FX rates here):
        // exact on single-currency days, a rough size otherwise; the per-currency
        // segments are the figures to read.
        let total: Decimal = self.proceeds.values().copied().sum();
        points.push(MetricPoint::total(app, Metric::PROCEEDS, date, f(total)));
        for (currency, amount) in &self.proceeds {
            points.push(
                MetricPoint::total(app, Metric::PROCEEDS, date, f(*amount))
                    .with_segment(format!("currency:{currency}")),
            );
        }
        points
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_kinds() {
        assert_eq!(ProductKind::of("1F"), ProductKind::Download);
        assert_eq!(ProductKind::of("3"), ProductKind::Redownload);
        assert_eq!(ProductKind::of("7T"), ProductKind::Update);
        assert_eq!(
            ProductKind::of("IAY"),
            ProductKind::AutoRenewableSubscription
        );
        assert!(ProductKind::of("IA1").is_in_app());
        assert!(!ProductKind::of("1").is_in_app());
        assert_eq!(ProductKind::of("IAC"), ProductKind::Other);
        assert_eq!(ProductKind::of("FI1"), ProductKind::Mac);
    }
}
