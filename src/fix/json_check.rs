//! Whether JSON text reads back as an expected value, compared while `serde_json` reads it: the
//! verification of every List item fix, without building the item's `Value` (its maps and
//! strings) only to compare and drop it.
//!
//! The answer is always that of `serde_json::from_str::<Value>(text)` followed by
//! [`super::reads_back_as`] with an item prefix: numbers, strings and nulls become exactly the
//! values `Value`'s own visitor builds before they are compared, and a key written twice (where
//! `Value` keeps the last) is left to that slower path.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// `serde_json::from_str::<Value>(text).is_ok_and(|v| super::reads_back_as(v, "/items/", expected))`.
pub(super) fn item_reads_back_as(text: &str, expected: &Value) -> bool {
    let unsure = Cell::new(false);
    let mut de = serde_json::Deserializer::from_str(text);
    let same = Expect { want: Some(expected), fill: true, unsure: &unsure }.deserialize(&mut de).unwrap_or(false)
        && de.end().is_ok();
    if unsure.get() {
        return serde_json::from_str::<Value>(text).is_ok_and(|v| super::reads_back_as(v, "/items/", expected));
    }
    same
}

/// The value the text must hold here (`None`: nothing may be here). The whole text is read even
/// after a difference, so a key written twice is always noticed.
struct Expect<'a, 'u> {
    want: Option<&'a Value>,
    /// At the item's top: a missing `apiVersion` or `kind` is the expected one (the list gives it).
    fill: bool,
    unsure: &'u Cell<bool>,
}

impl Expect<'_, '_> {
    fn scalar<E: de::Error>(&self, got: &Value) -> Result<bool, E> {
        Ok(self.want == Some(got))
    }
}

impl<'de> DeserializeSeed<'de> for Expect<'_, '_> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Expect<'_, '_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        self.scalar(&Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
        self.scalar(&Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
        self.scalar(&Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<bool, E> {
        self.scalar(&Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        Ok(matches!(self.want, Some(Value::String(s)) if s == v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        self.scalar(&Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<bool, E> {
        self.scalar(&Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        let items = match self.want {
            Some(Value::Array(items)) => Some(items),
            _ => None,
        };
        let mut same = items.is_some();
        let mut i = 0;
        loop {
            let want = items.and_then(|a| a.get(i));
            match seq.next_element_seed(Expect { want, fill: false, unsure: self.unsure })? {
                Some(s) => same &= s,
                None => break,
            }
            i += 1;
        }
        Ok(same && items.is_some_and(|a| a.len() == i))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let want = match self.want {
            Some(Value::Object(m)) => Some(m),
            _ => None,
        };
        let mut same = want.is_some();
        let mut seen: Vec<&str> = Vec::new();
        while let Some(key) = map.next_key_seed(Key)? {
            let entry = want.and_then(|m| m.get_key_value(key.as_str()));
            if let Some((k, _)) = entry {
                if seen.contains(&k.as_str()) {
                    // `Value` keeps the last of a repeated key: leave that to it.
                    self.unsure.set(true);
                }
                seen.push(k);
            } else {
                same = false;
            }
            same &= map.next_value_seed(Expect { want: entry.map(|(_, v)| v), fill: false, unsure: self.unsure })?;
        }
        let complete = want.is_some_and(|m| seen.len() == m.len() || self.fill && missing_only_filled(m, &seen));
        Ok(same && complete)
    }
}

/// Whether the keys of `want` not in `seen` are only `apiVersion` and `kind`.
fn missing_only_filled(want: &Map<String, Value>, seen: &[&str]) -> bool {
    want.keys().all(|k| seen.contains(&k.as_str()) || k == "apiVersion" || k == "kind")
}

/// A key, borrowed from the text when it has no escapes.
enum KeyText<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl KeyText<'_> {
    fn as_str(&self) -> &str {
        match self {
            KeyText::Borrowed(s) => s,
            KeyText::Owned(s) => s,
        }
    }
}

struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = KeyText<'de>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<KeyText<'de>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = KeyText<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<KeyText<'de>, E> {
        Ok(KeyText::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyText<'de>, E> {
        Ok(KeyText::Owned(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<KeyText<'de>, E> {
        Ok(KeyText::Owned(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slow(text: &str, expected: &Value) -> bool {
        serde_json::from_str::<Value>(text).is_ok_and(|v| super::super::reads_back_as(v, "/items/", expected))
    }

    #[test]
    fn answers_as_value_does() {
        let expected = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "a", "labels": {"x": "1"}},
            "spec": {"n": [1, -2, 1.5, 1e300, null, true, false, "s\n\"é"], "e": {}, "a": []}
        });
        let texts = [
            r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "labels": {"x": "1"}}, "spec": {"n": [1, -2, 1.5, 1e300, null, true, false, "s\n\"\u00e9"], "e": {}, "a": []}}"#,
            r#"{"metadata": {"labels": {"x": "1"}, "name": "a"}, "spec": {"a": [], "e": {}, "n": [1, -2, 15e-1, 1E300, null, true, false, "s\n\"é"]}}"#,
            r#"{"kind": "Pod", "metadata": {"name": "a", "labels": {"x": "1"}}, "spec": {"n": [1, -2, 1.5, 1e300, null, true, false, "s\n\"é"], "e": {}, "a": []}}"#,
            r#"{"kind": "Deployment", "metadata": {"name": "a", "labels": {"x": "1"}}, "spec": {"n": [1, -2, 1.5, 1e300, null, true, false, "s\n\"é"], "e": {}, "a": []}}"#,
            r#"{"metadata": {"name": "a", "labels": {"x": "1"}}, "spec": {"n": [1.0, -2, 1.5, 1e300, null, true, false, "s\n\"é"], "e": {}, "a": []}}"#,
            r#"{"metadata": {"name": "a", "labels": {"x": "1"}}, "spec": {"n": [1, -2, 1.5, 1e300, null, true, false], "e": {}, "a": []}}"#,
            r#"{"metadata": {"name": "a", "labels": {"x": "1"}}, "spec": {"n": [1, -2, 1.5, 1e300, null, true, false, "s\n\"é", 3], "e": {}, "a": []}}"#,
            r#"{"metadata": {"name": "b", "name": "a", "labels": {"x": "1"}}, "spec": {"n": [1, -2, 1.5, 1e300, null, true, false, "s\n\"é"], "e": {}, "a": []}}"#,
            r#"{"metadata": {"name": "a", "labels": {"x": "1"}, "extra": 1}, "spec": {"n": [1, -2, 1.5, 1e300, null, true, false, "s\n\"é"], "e": {}, "a": []}}"#,
            r#"{"metadata": {"name": "a", "labels": {"x": "1"}}, "spec": {"n": [1, -2, 1.5, 1e300, null, true, false, "s\n\"é"], "e": {}, "a": []}} x"#,
            r#"{"metadata": {"name": "a", "labels": {"x": "1"}}, "spec": {"n": [1, -2, 1.5, 1e300, null, true, false, "s\n\"é"], "e": {}, "a": []}"#,
            r#"{"metadata": {"name": "a"}}"#,
            r#"[1]"#,
            r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "labels": {"x": "1"}}, "spec": {"n": [1, -2, 1.5, 1e300, null, true, false, "s\n\"é"], "e": {}, "a": [], "a": []}}"#,
        ];
        for (i, t) in texts.iter().enumerate() {
            assert_eq!(item_reads_back_as(t, &expected), slow(t, &expected), "text {i}");
        }
        // Mutations of the first text: whatever they read as, both answers agree.
        let base: Vec<char> = texts[0].chars().collect();
        let alphabet: Vec<char> = "{}[]\",:01-.eE \\nuatrfls".chars().collect();
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        for round in 0..5000 {
            let mut chars = base.clone();
            for _ in 0..1 + round % 3 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let at = usize::try_from(state % chars.len() as u64).unwrap_or(0);
                let c = alphabet[usize::try_from((state >> 32) % alphabet.len() as u64).unwrap_or(0)];
                if state & 1 == 0 { chars[at] = c } else { chars.insert(at, c) }
            }
            let t: String = chars.into_iter().collect();
            assert_eq!(item_reads_back_as(&t, &expected), slow(&t, &expected), "round {round}: {t}");
        }
        for (t, v) in [
            ("-0", serde_json::json!(0)),
            ("-0", serde_json::json!(-0.0)),
            ("18446744073709551616", serde_json::json!(1.8446744073709552e19)),
            ("\"a\"", serde_json::json!("a")),
            ("null", Value::Null),
        ] {
            assert_eq!(item_reads_back_as(t, &v), slow(t, &v), "{t}");
        }
    }
}
