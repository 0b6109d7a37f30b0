//! Tool arguments with typed generators, decided at validation time. A string that is
//! exactly `{{int LO HI}}`, `{{choice A B ...}}`, `{{seq START}}` or `{{uuid}}` becomes a
//! generator; any other string is a literal (a string that starts with `{{` but is not a
//! generator is an error, so a typo is not sent as text).

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum Generator {
    /// A uniformly random integer in `lo..=hi`.
    Int { lo: i64, hi: i64 },
    /// One of the values, uniformly.
    Choice(Vec<Value>),
    /// `start`, `start + 1`, ... across the whole run.
    Seq { start: i64 },
    /// A random UUID v4 string.
    Uuid,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ArgTemplate {
    Literal(Value),
    Object(Vec<(String, ArgTemplate)>),
    Array(Vec<ArgTemplate>),
    Gen(Generator),
}

/// What a generator needs from the run: randomness and the sequence counter.
pub trait ArgSource {
    fn int(&mut self, lo: i64, hi: i64) -> i64;
    fn index(&mut self, len: usize) -> usize;
    fn next_seq(&mut self) -> i64;
    fn uuid(&mut self) -> String;
}

impl ArgTemplate {
    /// Compiles `value`; errors name the JSON path below `path`.
    pub fn compile(value: &Value, path: &str, errors: &mut Vec<String>) -> ArgTemplate {
        match value {
            Value::String(s) if s.trim_start().starts_with("{{") => match parse_generator(s) {
                Ok(g) => ArgTemplate::Gen(g),
                Err(e) => {
                    errors.push(format!("{path}: {e}"));
                    ArgTemplate::Literal(value.clone())
                }
            },
            Value::Object(map) => ArgTemplate::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), Self::compile(v, &format!("{path}.{k}"), errors)))
                    .collect(),
            ),
            Value::Array(items) => ArgTemplate::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| Self::compile(v, &format!("{path}[{i}]"), errors))
                    .collect(),
            ),
            other => ArgTemplate::Literal(other.clone()),
        }
    }

    /// A concrete value for one call.
    pub fn render(&self, source: &mut dyn ArgSource) -> Value {
        match self {
            ArgTemplate::Literal(v) => v.clone(),
            ArgTemplate::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, t)| (k.clone(), t.render(source)))
                    .collect::<Map<String, Value>>(),
            ),
            ArgTemplate::Array(items) => {
                Value::Array(items.iter().map(|t| t.render(source)).collect())
            }
            ArgTemplate::Gen(Generator::Int { lo, hi }) => Value::from(source.int(*lo, *hi)),
            ArgTemplate::Gen(Generator::Choice(values)) => {
                values[source.index(values.len())].clone()
            }
            ArgTemplate::Gen(Generator::Seq { start }) => Value::from(start + source.next_seq()),
            ArgTemplate::Gen(Generator::Uuid) => Value::from(source.uuid()),
        }
    }
}

fn parse_generator(text: &str) -> Result<Generator, String> {
    let inner = text
        .trim()
        .strip_prefix("{{")
        .and_then(|t| t.strip_suffix("}}"))
        .ok_or_else(|| format!("{text:?} is not a generator: write the whole value as {{{{int 1 100}}}}, {{{{choice a b}}}}, {{{{seq 1}}}} or {{{{uuid}}}}"))?;
    let words: Vec<&str> = inner.split_whitespace().collect();
    let int = |w: &str| {
        w.parse::<i64>()
            .map_err(|_| format!("{text:?}: {w:?} is not an integer"))
    };
    match words.as_slice() {
        ["int", lo, hi] => {
            let (lo, hi) = (int(lo)?, int(hi)?);
            if lo > hi {
                return Err(format!("{text:?}: the range is empty ({lo} > {hi})"));
            }
            Ok(Generator::Int { lo, hi })
        }
        ["choice", rest @ ..] if !rest.is_empty() => Ok(Generator::Choice(
            rest.iter()
                .map(|w| {
                    w.parse::<i64>()
                        .map(Value::from)
                        .unwrap_or_else(|_| Value::from(*w))
                })
                .collect(),
        )),
        ["seq"] => Ok(Generator::Seq { start: 1 }),
        ["seq", start] => Ok(Generator::Seq { start: int(start)? }),
        ["uuid"] => Ok(Generator::Uuid),
        _ => Err(format!(
            "{text:?} is not a generator (int LO HI, choice A B ..., seq [START], uuid)"
        )),
    }
}

/// The run's argument source: a seeded generator and a shared sequence.
#[derive(Clone)]
pub struct SeededSource {
    rng: fastrand::Rng,
    seq: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

impl SeededSource {
    pub fn new(seed: u64, seq: std::sync::Arc<std::sync::atomic::AtomicI64>) -> Self {
        SeededSource {
            rng: fastrand::Rng::with_seed(seed),
            seq,
        }
    }
}

impl ArgSource for SeededSource {
    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        self.rng.i64(lo..=hi)
    }
    fn index(&mut self, len: usize) -> usize {
        self.rng.usize(..len)
    }
    fn next_seq(&mut self) -> i64 {
        self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }
    fn uuid(&mut self) -> String {
        let a = self.rng.u64(..);
        let b = self.rng.u64(..);
        let b = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
        let a = (a & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn generators_compile_and_render_within_their_ranges() {
        let mut errors = Vec::new();
        let t = ArgTemplate::compile(
            &json!({"query": "SELECT $1", "params": ["{{int 1 100000}}"], "kind": "{{choice a b 3}}", "n": "{{seq 10}}"}),
            "args",
            &mut errors,
        );
        assert!(errors.is_empty(), "{errors:?}");
        let mut source = SeededSource::new(7, Default::default());
        for i in 0..1000 {
            let v = t.render(&mut source);
            let id = v["params"][0].as_i64().unwrap();
            assert!((1..=100_000).contains(&id));
            assert!(v["kind"] == "a" || v["kind"] == "b" || v["kind"] == 3);
            assert_eq!(v["n"], 10 + i);
            assert_eq!(v["query"], "SELECT $1");
        }
    }

    #[test]
    fn bad_generators_are_errors_with_their_path() {
        let mut errors = Vec::new();
        ArgTemplate::compile(
            &json!({"a": "{{int 5 1}}", "b": ["{{rand}}"], "c": "{{int 1 x}}"}),
            "mix[0].args",
            &mut errors,
        );
        assert_eq!(
            errors,
            vec![
                "mix[0].args.a: \"{{int 5 1}}\": the range is empty (5 > 1)",
                "mix[0].args.b[0]: \"{{rand}}\" is not a generator (int LO HI, choice A B ..., seq [START], uuid)",
                "mix[0].args.c: \"{{int 1 x}}\": \"x\" is not an integer",
            ]
        );
    }

    #[test]
    fn uuids_have_the_v4_shape() {
        let mut source = SeededSource::new(1, Default::default());
        let u = source.uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }
}
