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
    // Nearly every check passes: a byte-level reader confirms those it is sure of, and
    // everything else (escapes, floats, a difference) gets `serde_json`'s answer.
    if Plain::new(text).confirms(expected) {
        return true;
    }
    let unsure = Cell::new(false);
    let mut de = serde_json::Deserializer::from_str(text);
    let same = Expect { want: Some(expected), fill: true, unsure: &unsure }.deserialize(&mut de).unwrap_or(false)
        && de.end().is_ok();
    if unsure.get() {
        return serde_json::from_str::<Value>(text).is_ok_and(|v| super::reads_back_as(v, "/items/", expected));
    }
    same
}

/// A reader for the JSON a fixed List item usually is (keys and strings without escapes,
/// non-negative integers, literals, any JSON whitespace), which answers only "the text is
/// valid JSON that reads back as the expected value": `false` means "not sure", never "differs".
/// Skipping the runs of indentation eight bytes at a time is most of what it saves.
struct Plain<'t> {
    src: &'t str,
    text: &'t [u8],
    at: usize,
}

/// Deeper than this, `serde_json` refuses the text (its limit is 128): leave it to it.
const PLAIN_DEPTH: usize = 100;

impl Plain<'_> {
    fn new(src: &str) -> Plain<'_> {
        Plain { src, text: src.as_bytes(), at: 0 }
    }

    fn confirms(mut self, expected: &Value) -> bool {
        self.skip_ws();
        if !self.value(expected, 0, true) {
            return false;
        }
        self.skip_ws();
        self.at == self.text.len()
    }

    fn skip_ws(&mut self) {
        const SPACES: u64 = u64::from_ne_bytes([b' '; 8]);
        let t = self.text;
        loop {
            while let Some(chunk) = t.get(self.at..self.at + 8)
                && chunk.try_into().ok().map(u64::from_ne_bytes) == Some(SPACES)
            {
                self.at += 8;
            }
            match t.get(self.at) {
                Some(b' ' | b'\n' | b'\r' | b'\t') => self.at += 1,
                _ => return,
            }
        }
    }

    /// Reads one value that must equal `want`; `fill`: the item's top, where `apiVersion` and
    /// `kind` may be missing (the list gives them).
    fn value(&mut self, want: &Value, depth: usize, fill: bool) -> bool {
        if depth > PLAIN_DEPTH {
            return false;
        }
        match (self.text.get(self.at), want) {
            (Some(b'{'), Value::Object(m)) => self.object(m, depth, fill),
            (Some(b'['), Value::Array(items)) => self.array(items, depth),
            (Some(b'"'), Value::String(s)) => self.string().is_some_and(|got| got == s),
            (Some(b't'), Value::Bool(true)) => self.literal(b"true"),
            (Some(b'f'), Value::Bool(false)) => self.literal(b"false"),
            (Some(b'n'), Value::Null) => self.literal(b"null"),
            (Some(b'0'..=b'9'), Value::Number(n)) => self.integer().is_some_and(|got| *n == Number::from(got)),
            _ => false,
        }
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        let ok = self.text.get(self.at..self.at + word.len()) == Some(word);
        self.at += word.len();
        ok
    }

    /// A non-negative integer as `serde_json` reads it (`u64`); `None` for anything else
    /// (fractions, exponents, leading zeros, beyond `u64`).
    fn integer(&mut self) -> Option<u64> {
        let start = self.at;
        while let Some(b'0'..=b'9') = self.text.get(self.at) {
            self.at += 1;
        }
        let digits = &self.text[start..self.at];
        if digits.len() > 20 || (digits.len() > 1 && digits[0] == b'0') {
            return None;
        }
        if let Some(b'.' | b'e' | b'E') = self.text.get(self.at) {
            return None;
        }
        digits.iter().try_fold(0u64, |n, d| n.checked_mul(10)?.checked_add(u64::from(d - b'0')))
    }

    /// A string without escapes or control characters, its text between the quotes.
    fn string(&mut self) -> Option<&str> {
        let start = self.at + 1;
        let mut i = start;
        loop {
            match *self.text.get(i)? {
                b'"' => break,
                b'\\' | 0..0x20 => return None,
                _ => i += 1,
            }
        }
        self.at = i + 1;
        // Quotes are ASCII: both ends are character boundaries.
        self.src.get(start..i)
    }

    /// Whether the next byte is `b`; steps over it and the whitespace after it when it is.
    fn eat(&mut self, b: u8) -> bool {
        if self.text.get(self.at) != Some(&b) {
            return false;
        }
        self.at += 1;
        self.skip_ws();
        true
    }

    fn array(&mut self, items: &[Value], depth: usize) -> bool {
        self.at += 1;
        self.skip_ws();
        if self.eat(b']') {
            return items.is_empty();
        }
        for (i, want) in items.iter().enumerate() {
            if i > 0 && !self.eat(b',') {
                return false;
            }
            if !self.value(want, depth + 1, false) {
                return false;
            }
            self.skip_ws();
        }
        self.eat(b']') && !items.is_empty()
    }

    fn object(&mut self, want: &Map<String, Value>, depth: usize, fill: bool) -> bool {
        self.at += 1;
        self.skip_ws();
        // Keys of `want` read so far (by address), to refuse a key written twice; a larger map
        // is left to `serde_json`.
        let mut seen: [Option<&String>; 32] = [None; 32];
        let mut n = 0;
        if !self.eat(b'}') {
            loop {
                if self.text.get(self.at) != Some(&b'"') {
                    return false;
                }
                let Some(key) = self.string() else { return false };
                let Some((k, v)) = want.get_key_value(key) else { return false };
                if n == seen.len() || seen[..n].iter().flatten().any(|s| std::ptr::eq(*s, k)) {
                    return false;
                }
                seen[n] = Some(k);
                n += 1;
                self.skip_ws();
                if !self.eat(b':') || !self.value(v, depth + 1, false) {
                    return false;
                }
                self.skip_ws();
                if self.eat(b'}') {
                    break;
                }
                if !self.eat(b',') {
                    return false;
                }
            }
        }
        n == want.len()
            || fill && missing_only_filled(want, |k| seen[..n].iter().flatten().any(|s| std::ptr::eq(*s, k)))
    }
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
        let complete = want.is_some_and(|m| {
            seen.len() == m.len() || self.fill && missing_only_filled(m, |k| seen.contains(&k.as_str()))
        });
        Ok(same && complete)
    }
}

/// Whether the keys of `want` not `seen` are only `apiVersion` and `kind`.
fn missing_only_filled(want: &Map<String, Value>, seen: impl Fn(&String) -> bool) -> bool {
    want.keys().all(|k| seen(k) || k == "apiVersion" || k == "kind")
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

    /// The byte-level reader confirms only what `serde_json` confirms, and does confirm the
    /// plain JSON of a typical item (else it would save nothing).
    #[test]
    fn plain_reader_confirms_only_what_value_does() {
        let expected = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "a-0", "labels": {"app": "a é", "x": ""}},
            "spec": {"n": [0, 10, 18446744073709551615_u64, true, false, null, "s"], "e": {}, "a": [], "": [{}]}
        });
        let text = "{\n    \"apiVersion\": \"v1\",\n    \"kind\": \"Pod\",\n    \"metadata\": {\n        \"name\": \"a-0\",\n        \"labels\": {\"x\": \"\", \"app\": \"a é\"}\n    },\n\t\"spec\": {\r\n                                \"n\": [0,10, 18446744073709551615 ,true,false,null,\"s\"], \"e\": { }, \"a\": [ ], \"\": [{}]\n    }\n}\n";
        assert!(Plain::new(text).confirms(&expected));
        assert!(item_reads_back_as(text, &expected));
        let without_kind = text.replacen("\"kind\": \"Pod\",", "", 1);
        assert!(Plain::new(&without_kind).confirms(&expected));
        // Only the item's top may lack apiVersion and kind.
        let inner = serde_json::json!({"a": {"kind": "x"}});
        assert!(!Plain::new("{\"a\": {}}").confirms(&inner));
        assert!(!item_reads_back_as("{\"a\": {}}", &inner));
        // A repeated key, and a map too large to track, are left to serde_json.
        assert!(!Plain::new("{\"a\": 1, \"a\": 1}").confirms(&serde_json::json!({"a": 1})));
        let big: Map<String, Value> = (0..40).map(|i| (format!("k{i}"), Value::from(i))).collect();
        let big_text = serde_json::to_string(&big).unwrap_or_default();
        assert!(!Plain::new(&big_text).confirms(&Value::Object(big.clone())));
        assert!(item_reads_back_as(&big_text, &Value::Object(big)));
        let deep = format!("{}{}", "[".repeat(120), "]".repeat(120));
        let deep_value = serde_json::from_str::<Value>(&"[".repeat(120)).unwrap_or(Value::Null);
        assert!(!Plain::new(&deep).confirms(&deep_value));
        let bytes: Vec<char> = text.chars().collect();
        let alphabet: Vec<char> = "{}[]\",:01-.eE \n\t\\uatrfls\u{1}é".chars().collect();
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut confirmed = 0;
        for round in 0..20_000 {
            let mut chars = bytes.clone();
            for _ in 0..1 + round % 3 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let at = usize::try_from(state % chars.len() as u64).unwrap_or(0);
                let c = alphabet[usize::try_from((state >> 32) % alphabet.len() as u64).unwrap_or(0)];
                match state % 3 {
                    0 => chars[at] = c,
                    1 => chars.insert(at, c),
                    _ => {
                        chars.remove(at);
                    }
                }
            }
            let t: String = chars.into_iter().collect();
            if Plain::new(&t).confirms(&expected) {
                confirmed += 1;
                assert!(slow(&t, &expected), "round {round}: {t}");
            }
            assert_eq!(item_reads_back_as(&t, &expected), slow(&t, &expected), "round {round}: {t}");
        }
        // Whitespace-only mutations keep the text equal: the reader must have confirmed some.
        assert!(confirmed > 100, "{confirmed}");
    }

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
            ("0", serde_json::json!(0)),
            ("00", serde_json::json!(0)),
            ("12", serde_json::json!(12.0)),
            ("12.0", serde_json::json!(12)),
            ("18446744073709551615", serde_json::json!(u64::MAX)),
            ("[]", serde_json::json!([])),
            ("[ ]", serde_json::json!([1])),
            ("{}", serde_json::json!({})),
            ("\"a\\u0001\"", serde_json::json!("a\u{1}")),
            ("\"a\u{1}\"", serde_json::json!("a\u{1}")),
            (" \t\r\n{ \"a\" :\t[ true , false , null ] }\n ", serde_json::json!({"a": [true, false, null]})),
            ("-0", serde_json::json!(-0.0)),
            ("18446744073709551616", serde_json::json!(1.8446744073709552e19)),
            ("\"a\"", serde_json::json!("a")),
            ("null", Value::Null),
        ] {
            assert_eq!(item_reads_back_as(t, &v), slow(t, &v), "{t}");
        }
    }
}
