//! What one provisioner made (as `scripts/moto/inventory.py` lists it) against the world
//! file, every difference named, section by section.

use super::expected::{World, normalize};
use crate::support::*;

/// What moto's IAM user is called in `provision.py` (one of its moto-only additions).
const MOTO_BASE_USER: &str = "mcp-aws-server";

/// The world file's two provisioners, as the comparison takes them.
#[derive(Clone, Copy)]
pub(super) enum Provisioner {
    /// LocalStack's READY hook: base-identity trust names the account's root, and the
    /// file's LocalStack-only topics and alarms are expected.
    ReadyHook,
    /// `scripts/moto/provision.py`: base-identity trust names its IAM user, its documented
    /// additions are accepted, and none of the LocalStack-only topics and alarms is expected.
    Provision,
}

impl Provisioner {
    fn who(self) -> &'static str {
        match self {
            Provisioner::ReadyHook => "the LocalStack READY hook",
            Provisioner::Provision => "scripts/moto/provision.py",
        }
    }

    /// The base identity its base-identity trust must name.
    fn base(self, world: &World) -> String {
        match self {
            Provisioner::ReadyHook => format!("arn:aws:iam::{}:root", world.account),
            Provisioner::Provision => {
                format!("arn:aws:iam::{}:user/{MOTO_BASE_USER}", world.account)
            }
        }
    }

    fn moto_extras(self) -> bool {
        matches!(self, Provisioner::Provision)
    }
}

/// The differences found so far, in the order they were checked.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn check(&mut self, ok: bool, what: String) {
        if !ok {
            self.0.push(what);
        }
    }
}

/// What `by` made, against the world file.
pub(super) fn compare(by: Provisioner, world: &World, inventory: &Value) {
    let mut problems = Problems::default();
    iam(&mut problems, by, world, inventory);
    s3(&mut problems, world, &inventory["buckets"]);
    lambda(&mut problems, world, &inventory["functions"]);
    sns_and_cloudwatch(&mut problems, by, world, inventory);
    assert!(
        problems.0.is_empty(),
        "{} did not make what docker/localstack/seed/world.json describes:\n- {}",
        by.who(),
        problems.0.join("\n- ")
    );
}

pub(super) fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// provision.py's documented moto-only addition to the roles (its LAMBDA_NOTE): the action
/// `lambda:Invoke` beside lambda:InvokeFunction and on "*". Removed, statements left with
/// no action dropped.
fn without_moto_invoke_alias(role: &Value) -> Value {
    let mut role = role.clone();
    if let Some(policies) = role["policies"].as_object_mut() {
        for doc in policies.values_mut() {
            if let Some(statements) = doc["Statement"].as_array_mut() {
                for s in statements.iter_mut() {
                    if let Some(actions) = s["Action"].as_array_mut() {
                        actions.retain(|a| a != "lambda:Invoke");
                    }
                }
                statements.retain(|s| s["Action"].as_array().is_none_or(|a| !a.is_empty()));
            }
        }
    }
    role
}

/// Equal JSON, numbers compared by value (`1000` and `1000.0` are the same threshold).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn iam(problems: &mut Problems, by: Provisioner, world: &World, inventory: &Value) {
    let users: BTreeSet<String> = strings(inventory.get("users")).into_iter().collect();
    let expected_users: BTreeSet<String> = if by.moto_extras() {
        [MOTO_BASE_USER.to_owned()].into()
    } else {
        BTreeSet::new()
    };
    problems.check(
        users == expected_users,
        format!("IAM users {users:?}, expected {expected_users:?}"),
    );
    let roles = &inventory["roles"];
    problems.check(
        keys(roles) == world.role_names(),
        format!(
            "roles {:?}, world.json has {:?}",
            keys(roles),
            world.role_names()
        ),
    );
    for (name, expected) in world.roles(&by.base(world)) {
        let mut got = normalize(&roles[&name]);
        if by.moto_extras() {
            got = without_moto_invoke_alias(&got);
        }
        problems.check(
            got == expected,
            format!("role {name}:\n  made     {got}\n  expected {expected}"),
        );
    }
}

fn s3(problems: &mut Problems, world: &World, buckets: &Value) {
    problems.check(
        keys(buckets) == [world.bucket.clone()].into(),
        format!(
            "buckets {:?}, expected only {}",
            keys(buckets),
            world.bucket
        ),
    );
    let bucket = &buckets[&world.bucket];
    problems.check(
        bucket["region"] == world.region.as_str(),
        format!(
            "bucket region {}, expected {}",
            bucket["region"], world.region
        ),
    );
    let objects = world.objects();
    let made = keys(&bucket["objects"]);
    problems.check(
        made == objects.keys().cloned().collect(),
        format!("objects {made:?}, expected {:?}", objects.keys()),
    );
    for (key, (content_type, body)) in &objects {
        let got = &bucket["objects"][key];
        if got.is_null() {
            continue;
        }
        object(problems, key, got, content_type, body);
    }
}

/// One object as made (`got`, its bytes saved in the file it names) against the file's.
fn object(problems: &mut Problems, key: &str, got: &Value, content_type: &str, body: &[u8]) {
    problems.check(
        got["content_type"] == content_type,
        format!(
            "{key}: content type {}, expected {content_type}",
            got["content_type"]
        ),
    );
    problems.check(
        got["size"].as_u64() == Some(body.len() as u64),
        format!("{key}: {} bytes, expected {}", got["size"], body.len()),
    );
    let saved = std::fs::read(text(&got["file"])).unwrap_or_default();
    if saved != body {
        let at = saved
            .iter()
            .zip(body)
            .position(|(a, b)| a != b)
            .unwrap_or(saved.len().min(body.len()));
        problems.check(
            false,
            format!(
                "{key}: content differs from world.json at byte {at} (sha256 {})",
                got["sha256"]
            ),
        );
    }
}

/// The functions' configuration (the code itself is compared between the two provisioners
/// by the test).
fn lambda(problems: &mut Problems, world: &World, functions: &Value) {
    let expected = world.functions();
    problems.check(
        keys(functions) == expected.keys().cloned().collect(),
        format!(
            "functions {:?}, expected {:?}",
            keys(functions),
            expected.keys()
        ),
    );
    for (name, want) in expected {
        let got = &functions[&name];
        for (field, value) in want.as_object().expect("object") {
            problems.check(
                same(&got[field], value),
                format!("function {name}: {field} {}, expected {value}", got[field]),
            );
        }
    }
}

/// LocalStack's alone: provision.py creates neither topics nor alarms.
fn sns_and_cloudwatch(problems: &mut Problems, by: Provisioner, world: &World, inventory: &Value) {
    let topics: BTreeSet<String> = strings(inventory.get("topics")).into_iter().collect();
    let expected_topics: BTreeSet<String> = if by.moto_extras() {
        BTreeSet::new()
    } else {
        world
            .topics()
            .iter()
            .map(|t| format!("arn:aws:sns:{}:{}:{t}", world.region, world.account))
            .collect()
    };
    problems.check(
        topics == expected_topics,
        format!("topics {topics:?}, expected {expected_topics:?}"),
    );
    let alarms = &inventory["alarms"];
    let expected = if by.moto_extras() {
        BTreeMap::new()
    } else {
        world.alarms()
    };
    problems.check(
        keys(alarms) == expected.keys().cloned().collect(),
        format!("alarms {:?}, expected {:?}", keys(alarms), expected.keys()),
    );
    for (name, file) in expected {
        for (field, value) in file.as_object().expect("alarm object") {
            problems.check(
                same(&alarms[&name][field], value),
                format!(
                    "alarm {name}: {field} {}, its file says {value}",
                    alarms[&name][field]
                ),
            );
        }
    }
}
