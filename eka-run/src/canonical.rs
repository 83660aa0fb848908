//! Canonical JSON as RFC 8785 (JCS) defines it: object members sorted by the UTF-16 code units
//! of their names, no whitespace, strings escaped as ECMAScript's `JSON.stringify` escapes them,
//! numbers as IEEE 754 doubles printed as ECMAScript's `Number.prototype.toString` prints them.
//!
//! The input must be I-JSON (RFC 7493), as JCS requires: a duplicate member name, a lone
//! surrogate or an integer that a double cannot hold exactly is an error, never silently
//! changed.

use std::fmt::Write as _;

use serde::de::{self, Deserializer as _, MapAccess, SeqAccess, Visitor};

/// A JSON value as JCS sees it: every number a double, members in their canonical order.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number.
    Number(f64),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object, members sorted by the UTF-16 code units of their names.
    Object(Vec<(String, Value)>),
}

/// A failure to canonicalise.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The text is not JSON, or not I-JSON.
    #[error(transparent)]
    Parse(serde_json::Error),
}

/// Parse `text` (I-JSON) into its canonical form.
pub fn parse(text: &str) -> Result<Value, Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = de.deserialize_any(ValueVisitor).map_err(Error::Parse)?;
    de.end().map_err(Error::Parse)?;
    Ok(value)
}

/// The canonical text of `text`.
pub fn canonicalise(text: &str) -> Result<String, Error> {
    Ok(parse(text)?.to_string())
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = String::new();
        write_value(self, &mut out);
        f.write_str(&out)
    }
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number(*n)),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(members) => {
            out.push('{');
            for (i, (name, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(name, out);
                out.push(':');
                write_value(item, out);
            }
            out.push('}');
        }
    }
}

/// A string as `JSON.stringify` writes it: only `"`, `\` and control characters escaped, the
/// short escapes where they exist, `\u00xx` (lower-case hex) otherwise.
fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if c < ' ' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A double as ECMAScript's `Number.prototype.toString` prints it (ECMA-262, 7.1.12.1): the
/// shortest digits that read back as the same double, in plain notation for decimal exponents
/// from -6 to 20, in exponent notation (`1e+21`, `1.5e-7`) outside.
pub fn number(n: f64) -> String {
    if n == 0.0 {
        return "0".into(); // -0 too
    }
    // Rust's `{:e}` prints the shortest round-trip digits: `d.ddde±x`.
    let sci = format!("{:e}", n.abs());
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` has an exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let exp: i32 = exp.parse().expect("`{:e}` exponent is an integer");
    let k = i32::try_from(digits.len()).expect("at most 17 digits");
    // The decimal point sits after the n-th digit.
    let point = exp + 1;
    let mut out = String::from(if n < 0.0 { "-" } else { "" });
    if k <= point && point <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (point - k) as usize));
    } else if 0 < point && point <= 21 {
        let (int, frac) = digits.split_at(point as usize);
        let _ = write!(out, "{int}.{frac}");
    } else if -6 < point && point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-point) as usize));
        out.push_str(&digits);
    } else {
        let sign = if point - 1 < 0 { '-' } else { '+' };
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            let _ = write!(out, ".{rest}");
        }
        let _ = write!(out, "e{sign}{}", (point - 1).abs());
    }
    out
}

/// The order JCS sorts member names in: by UTF-16 code units.
fn utf16_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        let d = v as f64;
        // `d as i64` saturates, so 2^63 (the double nearest i64::MAX) is caught too.
        if d as i64 != v || d >= 9_223_372_036_854_775_808.0 {
            return Err(E::custom(format!(
                "the integer {v} cannot be represented exactly as an IEEE 754 double (RFC 8785)"
            )));
        }
        Ok(Value::Number(d))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        let d = v as f64;
        if d >= 18_446_744_073_709_551_616.0 || d as u64 != v {
            return Err(E::custom(format!(
                "the integer {v} cannot be represented exactly as an IEEE 754 double (RFC 8785)"
            )));
        }
        Ok(Value::Number(d))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        if v.is_finite() {
            Ok(Value::Number(v))
        } else {
            Err(E::custom("a number out of the range of IEEE 754 doubles"))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Seed)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members: Vec<(String, Value)> = Vec::new();
        while let Some(name) = map.next_key::<String>()? {
            let value = map.next_value_seed(Seed)?;
            members.push((name, value));
        }
        members.sort_by(|(a, _), (b, _)| utf16_order(a, b));
        if let Some(pair) = members.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(de::Error::custom(format!(
                "duplicate member name `{}` (RFC 8785 needs I-JSON)",
                pair[0].0
            )));
        }
        Ok(Value::Object(members))
    }
}

struct Seed;

impl<'de> de::DeserializeSeed<'de> for Seed {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_8785_example() {
        // RFC 8785, section 3.2.2.
        let input = r#"{
  "numbers": [333333333.33333329, 1E30, 4.50,
              2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"#;
        assert_eq!(
            canonicalise(input).unwrap(),
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
    }

    #[test]
    fn members_sort_by_utf16_code_units() {
        // RFC 8785, section 3.2.3: U+1F600 (a surrogate pair, D83D DE00) sorts before U+FB33,
        // although its code point is larger.
        let input = r#"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#;
        let Value::Object(members) = parse(input).unwrap() else {
            panic!("an object");
        };
        let names: Vec<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "\r",
                "1",
                "\u{80}",
                "\u{f6}",
                "\u{20ac}",
                "\u{1f600}",
                "\u{fb33}"
            ]
        );
        // Nested objects too, and no whitespace anywhere.
        assert_eq!(
            canonicalise(r#" { "b" : [ { "z" : 1 , "a" : 2 } ] , "a" : { } } "#).unwrap(),
            r#"{"a":{},"b":[{"a":2,"z":1}]}"#
        );
    }

    #[test]
    fn numbers_print_as_ecmascript_does() {
        // RFC 8785, appendix B, and ECMA-262's layout rules at their edges.
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-1.5, "-1.5"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (9007199254740992.0, "9007199254740992"),
            (295147905179352830000.0, "295147905179352830000"),
            (9.999999999999997e22, "9.999999999999997e+22"),
            (1e21, "1e+21"),
            (999999999999999900000.0, "999999999999999900000"),
            (1e23, "1e+23"),
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (123.456, "123.456"),
            (0.1, "0.1"),
            (-0.0000033, "-0.0000033"),
        ];
        for (n, want) in cases {
            assert_eq!(number(*n), *want, "{n:e}");
        }
        assert_eq!(canonicalise("[1.0, 2.50, -0, 1E400]").ok(), None);
        assert_eq!(canonicalise("[1.0, 2.50, -0]").unwrap(), "[1,2.5,0]");
    }

    #[test]
    fn strings_escape_as_json_stringify_does() {
        assert_eq!(
            canonicalise(r#""\u0000\u001f\u007f\u2028\b\t\n\f\r é""#).unwrap(),
            "\"\\u0000\\u001f\u{7f}\u{2028}\\b\\t\\n\\f\\r é\""
        );
    }

    #[test]
    fn rejects_what_is_not_i_json() {
        let err = |s: &str| canonicalise(s).unwrap_err().to_string();
        assert!(err(r#"{"a":1,"a":2}"#).contains("duplicate member name `a`"));
        assert!(err("9007199254740993").contains("9007199254740993"));
        assert!(err("-9223372036854775807").contains("cannot be represented"));
        assert!(
            err(r#""\ud800""#).contains("hex escape"),
            "a lone surrogate"
        );
        assert!(err("{} x").contains("trailing"));
        assert!(err("").contains("EOF"));
        // Their well-formed twins pass.
        assert_eq!(
            canonicalise(r#"{"a":1,"b":2}"#).unwrap(),
            r#"{"a":1,"b":2}"#
        );
        assert_eq!(
            canonicalise("9007199254740992").unwrap(),
            "9007199254740992"
        );
        assert_eq!(
            canonicalise("-9223372036854775808").unwrap(),
            "-9223372036854776000"
        );
        assert_eq!(canonicalise(r#""\ud83d\ude00""#).unwrap(), "\"\u{1f600}\"");
    }
}
