//! What `docker/localstack/seed/world.json` says must exist: its names, its placeholders
//! expanded, its objects' bytes, and each role, function and alarm as a provisioner should
//! create it, decoded here independently of `seed/world.py`.

use crate::support::*;
use serde_json::json;

pub(crate) struct World {
    pub(crate) raw: Value,
    pub(crate) account: String,
    pub(crate) region: String,
    pub(crate) bucket: String,
}

pub(crate) fn world() -> World {
    let raw: Value = serde_json::from_str(&read("docker/localstack/seed/world.json"))
        .expect("world.json is JSON");
    let field = |k: &str| {
        raw[k]
            .as_str()
            .unwrap_or_else(|| panic!("world.json: {k} is not a string"))
            .to_owned()
    };
    World {
        account: field("account"),
        region: field("region"),
        bucket: field("bucket"),
        raw,
    }
}

impl World {
    fn list(&self, key: &str) -> &[Value] {
        self.raw[key]
            .as_array()
            .unwrap_or_else(|| panic!("world.json: {key} is not a list"))
    }

    pub(crate) fn role_names(&self) -> BTreeSet<String> {
        self.list("roles")
            .iter()
            .map(|r| text(&r["name"]))
            .collect()
    }

    pub(crate) fn function_names(&self) -> BTreeSet<String> {
        self.list("functions")
            .iter()
            .map(|f| text(&f["name"]))
            .collect()
    }

    pub(crate) fn topics(&self) -> BTreeSet<String> {
        self.list("topics").iter().map(text).collect()
    }

    /// The alarm files, relative to `docker/localstack/seed`.
    pub(crate) fn alarm_files(&self) -> BTreeSet<String> {
        self.list("alarms").iter().map(text).collect()
    }

    /// `{account}`, `{region}` and `{bucket}` replaced in every string.
    fn expand(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => {
                let s = s
                    .replace("{account}", &self.account)
                    .replace("{region}", &self.region)
                    .replace("{bucket}", &self.bucket);
                assert!(
                    !s.contains('{'),
                    "world.json: a placeholder is left in {s:?}"
                );
                Value::String(s)
            }
            Value::Array(items) => Value::Array(items.iter().map(|v| self.expand(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.expand(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// Each object's key, content type and bytes, decoded here independently of world.py.
    pub(super) fn objects(&self) -> BTreeMap<String, (String, Vec<u8>)> {
        let mut out = BTreeMap::new();
        for o in self.list("objects") {
            let key = text(&o["key"]);
            let body = match (o.get("text"), o.get("hex"), o.get("pattern")) {
                (Some(t), None, None) => t.as_str().expect("text").as_bytes().to_vec(),
                (None, Some(h), None) => hex(h.as_str().expect("hex")),
                (None, None, Some(p)) => {
                    assert_eq!(p["kind"], "byte-ramp", "{key}: pattern kind");
                    let size = p["size"].as_u64().expect("pattern size");
                    (0..size).map(|i| (i % 256) as u8).collect()
                }
                _ => panic!("world.json: object {key} has not exactly one of text, hex, pattern"),
            };
            let previous = out.insert(key.clone(), (text(&o["content_type"]), body));
            assert!(previous.is_none(), "world.json: object {key} twice");
        }
        out
    }

    /// Each role's trust document and inline policies as a provisioner should create them;
    /// `base` is the emulator's base identity (the principal of base-identity trust).
    pub(super) fn roles(&self, base: &str) -> BTreeMap<String, Value> {
        self.list("roles")
            .iter()
            .map(|r| {
                let name = text(&r["name"]);
                let principal = match r["trust"].as_str() {
                    Some("base-identity") => json!({"AWS": base}),
                    Some("lambda") => json!({"Service": "lambda.amazonaws.com"}),
                    other => panic!("world.json: role {name}: trust {other:?}"),
                };
                let statements = self.expand(&r["statements"]);
                let mut policies = Map::new();
                if statements.as_array().is_some_and(|s| !s.is_empty()) {
                    policies.insert(
                        format!("{name}-policy"),
                        json!({"Version": "2012-10-17", "Statement": statements}),
                    );
                }
                let trust = json!({"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]});
                let role = json!({"trust": trust, "policies": policies, "attached": []});
                (name, normalize(&role))
            })
            .collect()
    }

    pub(super) fn functions(&self) -> BTreeMap<String, Value> {
        self.list("functions")
            .iter()
            .map(|f| {
                let name = text(&f["name"]);
                let expected = json!({
                    "runtime": f["runtime"],
                    "handler": f["handler"],
                    "timeout": f["timeout"],
                    "description": f["description"],
                    "role": format!("arn:aws:iam::{}:role/{}", self.account, text(&f["role"])),
                    "state": "Active",
                });
                (name, expected)
            })
            .collect()
    }

    /// Each alarm file's content by alarm name.
    pub(super) fn alarms(&self) -> BTreeMap<String, Value> {
        self.alarm_files()
            .iter()
            .map(|file| {
                let alarm: Value =
                    serde_json::from_str(&read(&format!("docker/localstack/seed/{file}")))
                        .unwrap_or_else(|e| panic!("{file}: {e}"));
                (text(&alarm["AlarmName"]), alarm)
            })
            .collect()
    }
}

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd-length hex {s:?}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// A policy or trust document in a form where equal meaning is equal JSON: an Action or
/// Resource of one string is a one-element list, lists of them are sorted.
pub(super) fn normalize(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        ("Action" | "Resource", Value::String(_)) => json!([v]),
                        ("Action" | "Resource", Value::Array(items)) => {
                            let mut items = items.clone();
                            items.sort_by_key(text);
                            Value::Array(items)
                        }
                        _ => normalize(v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        other => other.clone(),
    }
}
