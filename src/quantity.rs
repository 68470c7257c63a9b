//! Kubernetes resource quantities (`500m`, `128Mi`, `1.5`, `2G`, `1e3`).

use serde_json::Value;

/// A parsed quantity in base units (cores for CPU, bytes for memory).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Quantity(pub f64);

impl Quantity {
    /// Parses quantity text as Kubernetes does. Returns `None` for text Kubernetes would reject.
    #[must_use]
    pub fn parse(text: &str) -> Option<Quantity> {
        let t = text.trim();
        if t.is_empty() {
            return None;
        }
        let split = t
            .char_indices()
            .find(|(i, c)| !(c.is_ascii_digit() || *c == '.' || ((*c == '-' || *c == '+') && *i == 0)))
            .map_or(t.len(), |(i, _)| i);
        let (num, suffix) = t.split_at(split);
        let base: f64 = num.parse().ok()?;
        if !base.is_finite() {
            return None;
        }
        let mult = match suffix {
            "" => 1.0,
            "n" => 1e-9,
            "u" => 1e-6,
            "m" => 1e-3,
            "k" => 1e3,
            "M" => 1e6,
            "G" => 1e9,
            "T" => 1e12,
            "P" => 1e15,
            "E" => 1e18,
            "Ki" => 1024.0,
            "Mi" => 1024f64.powi(2),
            "Gi" => 1024f64.powi(3),
            "Ti" => 1024f64.powi(4),
            "Pi" => 1024f64.powi(5),
            "Ei" => 1024f64.powi(6),
            s if s.starts_with(['e', 'E']) => {
                let exp: i32 = s[1..].parse().ok()?;
                10f64.powi(exp)
            }
            _ => return None,
        };
        Some(Quantity(base * mult))
    }

    /// Reads a quantity from JSON, where numbers are allowed too.
    #[must_use]
    pub fn from_json(v: &Value) -> Option<Quantity> {
        match v {
            Value::String(s) => Quantity::parse(s),
            Value::Number(n) => n.as_f64().map(Quantity),
            _ => None,
        }
    }

    /// The value in base units.
    #[must_use]
    pub fn value(self) -> f64 {
        self.0
    }
}

/// Formats bytes for humans (`1.5Gi`).
#[must_use]
pub fn format_bytes(b: f64) -> String {
    const UNITS: [(&str, f64); 4] =
        [("Ti", 1_099_511_627_776.0), ("Gi", 1_073_741_824.0), ("Mi", 1_048_576.0), ("Ki", 1024.0)];
    for (u, m) in UNITS {
        if b >= m {
            return format!("{}{u}", trim_float(b / m));
        }
    }
    trim_float(b)
}

/// Formats cores for humans (`250m`, `2`).
#[must_use]
pub fn format_cpu(c: f64) -> String {
    if c < 1.0 { format!("{}m", trim_float(c * 1000.0)) } else { trim_float(c) }
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> f64 {
        Quantity::parse(s).map_or(f64::NAN, Quantity::value)
    }

    #[test]
    fn parses_kubernetes_quantities() {
        assert!((q("500m") - 0.5).abs() < 1e-12);
        assert!((q("1.5") - 1.5).abs() < 1e-12);
        assert!((q("128Mi") - 134_217_728.0).abs() < 1e-3);
        assert!((q("1G") - 1e9).abs() < 1e-3);
        assert!((q("2Gi") - 2_147_483_648.0).abs() < 1e-3);
        assert!((q("0.5Ti") - 549_755_813_888.0).abs() < 1e-3);
        assert!((q("1e3") - 1000.0).abs() < 1e-9);
        assert!(Quantity::parse("lots").is_none());
        assert!(Quantity::parse("1Gb").is_none());
        assert_eq!(format_bytes(q("1536Mi")), "1.5Gi");
        assert_eq!(format_cpu(0.25), "250m");
    }
}
