//! Prices: the per-resource price model and a table of common cloud instance types.
//!
//! The per-resource defaults are OpenCost's default (custom) pricing, which is derived from public
//! on-demand list prices: $0.031611 per vCPU-hour, $0.004237 per GiB-hour of memory, $0.95 per
//! GPU-hour and $0.04 per GiB-month of storage. A cloud load balancer is priced at $0.025 per hour
//! (AWS Classic/Application Load Balancer hour and GCP forwarding rule list price, data processing
//! excluded). Every number is overridable in `.clustergpt.yaml` under `prices:`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Default price per vCPU-hour (OpenCost default).
pub const DEFAULT_CPU_HOUR: f64 = 0.031_611;
/// Default price per GiB-hour of memory (OpenCost default).
pub const DEFAULT_MEMORY_GIB_HOUR: f64 = 0.004_237;
/// Default price per GPU-hour (OpenCost default).
pub const DEFAULT_GPU_HOUR: f64 = 0.95;
/// Default price per GiB-month of persistent storage (OpenCost default).
pub const DEFAULT_STORAGE_GIB_MONTH: f64 = 0.04;
/// Default price per hour of a Service of type LoadBalancer.
pub const DEFAULT_LOAD_BALANCER_HOUR: f64 = 0.025;
/// Hours in a month, as cloud bills count them (365 × 24 / 12).
pub const HOURS_PER_MONTH: f64 = 730.0;

/// The price model every estimate uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceModel {
    /// ISO currency code of every price (`USD`).
    pub currency: String,
    /// Price per vCPU-hour.
    pub cpu_hour: f64,
    /// Price per GiB-hour of memory.
    pub memory_gib_hour: f64,
    /// Price per GPU-hour.
    pub gpu_hour: f64,
    /// Price per GiB-month of storage, for classes without their own price.
    pub storage_gib_month: f64,
    /// Price per GiB-month of storage by storage class name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub storage_classes: BTreeMap<String, f64>,
    /// Price per hour of one cloud load balancer (a Service of type LoadBalancer).
    pub load_balancer_hour: f64,
    /// Hourly node prices by instance type, overriding the built-in table ([`INSTANCE_TYPES`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub instance_types: BTreeMap<String, f64>,
}

impl Default for PriceModel {
    fn default() -> PriceModel {
        PriceModel {
            currency: "USD".to_string(),
            cpu_hour: DEFAULT_CPU_HOUR,
            memory_gib_hour: DEFAULT_MEMORY_GIB_HOUR,
            gpu_hour: DEFAULT_GPU_HOUR,
            storage_gib_month: DEFAULT_STORAGE_GIB_MONTH,
            storage_classes: BTreeMap::new(),
            load_balancer_hour: DEFAULT_LOAD_BALANCER_HOUR,
            instance_types: BTreeMap::new(),
        }
    }
}

impl PriceModel {
    /// Price per GiB-month for a storage class (the class price, else the default storage price).
    #[must_use]
    pub fn storage_price(&self, class: Option<&str>) -> f64 {
        class.and_then(|c| self.storage_classes.get(c)).copied().unwrap_or(self.storage_gib_month)
    }

    /// Hourly price of a node of this instance type: the configured override, else the built-in table.
    #[must_use]
    pub fn instance_hour(&self, instance_type: &str) -> Option<f64> {
        self.instance_types.get(instance_type).copied().or_else(|| instance_type_hour(instance_type))
    }

    /// A short money text in this currency: `$1,234.56` for USD, `1,234.56 EUR` otherwise.
    #[must_use]
    pub fn money(&self, amount: f64) -> String {
        money(&self.currency, amount)
    }
}

/// Formats an amount with two decimals and thousands separators: `$1,234.56`, `-$3.10`, `12.00 EUR`.
#[must_use]
pub fn money(currency: &str, amount: f64) -> String {
    let cents = (amount * 100.0).round();
    let negative = cents < 0.0;
    let cents = cents.abs();
    let whole = (cents / 100.0).trunc();
    let frac = cents - whole * 100.0;
    let digits = format!("{whole:.0}");
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let number = format!("{grouped}.{frac:02.0}");
    let sign = if negative { "-" } else { "" };
    match currency {
        "USD" => format!("{sign}${number}"),
        "EUR" => format!("{sign}€{number}"),
        "GBP" => format!("{sign}£{number}"),
        other => format!("{sign}{number} {other}"),
    }
}

/// Formats a unit price with all its digits: `$0.031611`, `€0.95`, `0.04 CHF`.
#[must_use]
pub fn unit_price(currency: &str, amount: f64) -> String {
    let s = format!("{amount:.6}");
    let s = s.trim_end_matches('0');
    let number = match s.split_once('.') {
        Some((w, f)) if f.len() < 2 => format!("{w}.{f:0<2}"),
        _ => s.to_string(),
    };
    match currency {
        "USD" => format!("${number}"),
        "EUR" => format!("€{number}"),
        "GBP" => format!("£{number}"),
        other => format!("{number} {other}"),
    }
}

/// One row of the instance-type table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InstanceType {
    /// Cloud provider: `aws`, `gcp` or `azure`.
    pub provider: &'static str,
    /// The value of the node label `node.kubernetes.io/instance-type`.
    pub name: &'static str,
    /// vCPUs.
    pub vcpu: u32,
    /// Memory in GiB.
    pub memory_gib: f64,
    /// On-demand Linux price per hour in USD.
    pub hour: f64,
}

const fn it(provider: &'static str, name: &'static str, vcpu: u32, memory_gib: f64, hour: f64) -> InstanceType {
    InstanceType { provider, name, vcpu, memory_gib, hour }
}

/// Common instance types with their public on-demand Linux list prices in USD per hour
/// (AWS us-east-1, GCP us-central1, Azure East US), for pricing live nodes by their
/// `node.kubernetes.io/instance-type` label. List prices change: override them under
/// `prices.instance_types` when your bill differs.
pub const INSTANCE_TYPES: &[InstanceType] = &[
    // AWS EC2, us-east-1.
    it("aws", "t3.medium", 2, 4.0, 0.0416),
    it("aws", "t3.large", 2, 8.0, 0.0832),
    it("aws", "t3.xlarge", 4, 16.0, 0.1664),
    it("aws", "t3.2xlarge", 8, 32.0, 0.3328),
    it("aws", "m5.large", 2, 8.0, 0.096),
    it("aws", "m5.xlarge", 4, 16.0, 0.192),
    it("aws", "m5.2xlarge", 8, 32.0, 0.384),
    it("aws", "m5.4xlarge", 16, 64.0, 0.768),
    it("aws", "m6i.large", 2, 8.0, 0.096),
    it("aws", "m6i.xlarge", 4, 16.0, 0.192),
    it("aws", "m6i.2xlarge", 8, 32.0, 0.384),
    it("aws", "m6g.large", 2, 8.0, 0.077),
    it("aws", "m6g.xlarge", 4, 16.0, 0.154),
    it("aws", "m7i.large", 2, 8.0, 0.1008),
    it("aws", "m7i.xlarge", 4, 16.0, 0.2016),
    it("aws", "m7g.large", 2, 8.0, 0.0816),
    it("aws", "m7g.xlarge", 4, 16.0, 0.1632),
    it("aws", "c5.large", 2, 4.0, 0.085),
    it("aws", "c5.xlarge", 4, 8.0, 0.17),
    it("aws", "c5.2xlarge", 8, 16.0, 0.34),
    it("aws", "c6i.large", 2, 4.0, 0.085),
    it("aws", "c6i.xlarge", 4, 8.0, 0.17),
    it("aws", "r5.large", 2, 16.0, 0.126),
    it("aws", "r5.xlarge", 4, 32.0, 0.252),
    it("aws", "r6i.large", 2, 16.0, 0.126),
    it("aws", "r6i.xlarge", 4, 32.0, 0.252),
    it("aws", "g4dn.xlarge", 4, 16.0, 0.526),
    it("aws", "g5.xlarge", 4, 16.0, 1.006),
    // Google Compute Engine, us-central1.
    it("gcp", "e2-medium", 2, 4.0, 0.033_503),
    it("gcp", "e2-standard-2", 2, 8.0, 0.067_006),
    it("gcp", "e2-standard-4", 4, 16.0, 0.134_012),
    it("gcp", "e2-standard-8", 8, 32.0, 0.268_024),
    it("gcp", "e2-standard-16", 16, 64.0, 0.536_048),
    it("gcp", "n1-standard-1", 1, 3.75, 0.0475),
    it("gcp", "n1-standard-2", 2, 7.5, 0.095),
    it("gcp", "n1-standard-4", 4, 15.0, 0.19),
    it("gcp", "n1-standard-8", 8, 30.0, 0.38),
    it("gcp", "n2-standard-2", 2, 8.0, 0.097_118),
    it("gcp", "n2-standard-4", 4, 16.0, 0.194_236),
    it("gcp", "n2-standard-8", 8, 32.0, 0.388_472),
    it("gcp", "n2d-standard-2", 2, 8.0, 0.084_492),
    it("gcp", "n2d-standard-4", 4, 16.0, 0.168_984),
    it("gcp", "c2-standard-4", 4, 16.0, 0.2088),
    // Azure Virtual Machines, East US.
    it("azure", "Standard_B2s", 2, 4.0, 0.0416),
    it("azure", "Standard_B2ms", 2, 8.0, 0.0832),
    it("azure", "Standard_D2s_v3", 2, 8.0, 0.096),
    it("azure", "Standard_D4s_v3", 4, 16.0, 0.192),
    it("azure", "Standard_D8s_v3", 8, 32.0, 0.384),
    it("azure", "Standard_D2s_v5", 2, 8.0, 0.096),
    it("azure", "Standard_D4s_v5", 4, 16.0, 0.192),
    it("azure", "Standard_D8s_v5", 8, 32.0, 0.384),
    it("azure", "Standard_D2as_v5", 2, 8.0, 0.086),
    it("azure", "Standard_D4as_v5", 4, 16.0, 0.172),
    it("azure", "Standard_E2s_v5", 2, 16.0, 0.126),
    it("azure", "Standard_E4s_v5", 4, 32.0, 0.252),
    it("azure", "Standard_F4s_v2", 4, 8.0, 0.169),
];

/// The built-in hourly price of an instance type, if the table has it.
#[must_use]
pub fn instance_type_hour(name: &str) -> Option<f64> {
    INSTANCE_TYPES.iter().find(|t| t.name == name).map(|t| t.hour)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_formats() {
        assert_eq!(money("USD", 0.0), "$0.00");
        assert_eq!(money("USD", 1234.567), "$1,234.57");
        assert_eq!(money("USD", -3.1), "-$3.10");
        assert_eq!(money("USD", 1_000_000.0), "$1,000,000.00");
        assert_eq!(money("USD", 999.999), "$1,000.00");
        assert_eq!(money("EUR", 12.0), "€12.00");
        assert_eq!(money("CHF", 12.0), "12.00 CHF");
        assert_eq!(money("USD", -0.001), "$0.00");
        assert_eq!(unit_price("USD", 0.031611), "$0.031611");
        assert_eq!(unit_price("USD", 0.95), "$0.95");
        assert_eq!(unit_price("USD", 0.04), "$0.04");
        assert_eq!(unit_price("USD", 2.0), "$2.00");
        assert_eq!(unit_price("CHF", 0.5), "0.50 CHF");
    }

    #[test]
    fn instance_table_is_unique_and_sane() {
        let mut names: Vec<&str> = INSTANCE_TYPES.iter().map(|t| t.name).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n, "duplicate instance types");
        for t in INSTANCE_TYPES {
            assert!(t.hour > 0.0 && t.vcpu > 0 && t.memory_gib > 0.0, "{t:?}");
            // Within a factor of ~3 of the per-resource model (GPU instances excepted).
            if !t.name.starts_with('g') {
                let model = f64::from(t.vcpu) * DEFAULT_CPU_HOUR + t.memory_gib * DEFAULT_MEMORY_GIB_HOUR;
                assert!(t.hour / model < 3.0 && model / t.hour < 3.0, "{t:?} vs {model}");
            }
        }
    }

    #[test]
    fn overrides_win() {
        let mut p = PriceModel::default();
        assert_eq!(p.instance_hour("m5.large"), Some(0.096));
        p.instance_types.insert("m5.large".into(), 0.05);
        assert_eq!(p.instance_hour("m5.large"), Some(0.05));
        assert_eq!(p.instance_hour("unknown.type"), None);
        p.storage_classes.insert("gp3".into(), 0.08);
        assert!((p.storage_price(Some("gp3")) - 0.08).abs() < 1e-12);
        assert!((p.storage_price(Some("other")) - 0.04).abs() < 1e-12);
        assert!((p.storage_price(None) - 0.04).abs() < 1e-12);
    }
}
