//! `docker/localstack/seed/world.json`, the AWS test world that both emulators' provisioners
//! read (the LocalStack READY hook and `scripts/moto/provision.py`, each through
//! `seed/world.py`): read here on its own (placeholders, object contents), and built for
//! real by each provisioner on a fresh moto server of its own, then listed by
//! `scripts/moto/inventory.py` and compared with the file. The READY hook runs unchanged,
//! with an `awslocal` that is the AWS CLI pointed at moto; only Docker and LocalStack itself
//! are left out. Needs moto's venv (`scripts/setup-moto.sh`) and the AWS CLI
//! (`scripts/moto/install-awscli.sh`): with `MCP_SLO_REQUIRE_SERVICES=1` a missing one fails
//! the test, otherwise the test says it was skipped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;
use serde_json::json;

/// What moto's IAM user is called in `provision.py` (one of its moto-only additions).
const MOTO_BASE_USER: &str = "mcp-aws-server";

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
    fn objects(&self) -> BTreeMap<String, (String, Vec<u8>)> {
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
    fn roles(&self, base: &str) -> BTreeMap<String, Value> {
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

    fn functions(&self) -> BTreeMap<String, Value> {
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
    fn alarms(&self) -> BTreeMap<String, Value> {
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
fn normalize(value: &Value) -> Value {
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

fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// What one provisioner made, against the world file. `base` is the base identity its
/// base-identity trust must name; `moto_extras` accepts provision.py's documented additions
/// and expects none of the file's LocalStack-only topics and alarms.
fn compare(who: &str, world: &World, inventory: &Value, base: &str, moto_extras: bool) {
    let mut problems: Vec<String> = Vec::new();
    let mut check = |ok: bool, what: String| {
        if !ok {
            problems.push(what);
        }
    };

    // IAM
    let users: BTreeSet<String> = strings(inventory.get("users")).into_iter().collect();
    let expected_users: BTreeSet<String> = if moto_extras {
        [MOTO_BASE_USER.to_owned()].into()
    } else {
        BTreeSet::new()
    };
    check(
        users == expected_users,
        format!("IAM users {users:?}, expected {expected_users:?}"),
    );
    let roles = &inventory["roles"];
    check(
        keys(roles) == world.role_names(),
        format!(
            "roles {:?}, world.json has {:?}",
            keys(roles),
            world.role_names()
        ),
    );
    for (name, expected) in world.roles(base) {
        let mut got = normalize(&roles[&name]);
        if moto_extras {
            got = without_moto_invoke_alias(&got);
        }
        check(
            got == expected,
            format!("role {name}:\n  made     {got}\n  expected {expected}"),
        );
    }

    // S3
    let buckets = &inventory["buckets"];
    check(
        keys(buckets) == [world.bucket.clone()].into(),
        format!(
            "buckets {:?}, expected only {}",
            keys(buckets),
            world.bucket
        ),
    );
    let bucket = &buckets[&world.bucket];
    check(
        bucket["region"] == world.region.as_str(),
        format!(
            "bucket region {}, expected {}",
            bucket["region"], world.region
        ),
    );
    let objects = world.objects();
    let made = keys(&bucket["objects"]);
    check(
        made == objects.keys().cloned().collect(),
        format!("objects {made:?}, expected {:?}", objects.keys()),
    );
    for (key, (content_type, body)) in &objects {
        let got = &bucket["objects"][key];
        if got.is_null() {
            continue;
        }
        check(
            got["content_type"] == content_type.as_str(),
            format!(
                "{key}: content type {}, expected {content_type}",
                got["content_type"]
            ),
        );
        check(
            got["size"].as_u64() == Some(body.len() as u64),
            format!("{key}: {} bytes, expected {}", got["size"], body.len()),
        );
        let saved = std::fs::read(text(&got["file"])).unwrap_or_default();
        if saved != *body {
            let at = saved
                .iter()
                .zip(body)
                .position(|(a, b)| a != b)
                .unwrap_or(saved.len().min(body.len()));
            check(
                false,
                format!(
                    "{key}: content differs from world.json at byte {at} (sha256 {})",
                    got["sha256"]
                ),
            );
        }
    }

    // Lambda (the code itself is compared between the two provisioners by the caller)
    let functions = &inventory["functions"];
    let expected = world.functions();
    check(
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
            check(
                same(&got[field], value),
                format!("function {name}: {field} {}, expected {value}", got[field]),
            );
        }
    }

    // SNS and CloudWatch: LocalStack's alone (provision.py creates neither)
    let topics: BTreeSet<String> = strings(inventory.get("topics")).into_iter().collect();
    let expected_topics: BTreeSet<String> = if moto_extras {
        BTreeSet::new()
    } else {
        world
            .topics()
            .iter()
            .map(|t| format!("arn:aws:sns:{}:{}:{t}", world.region, world.account))
            .collect()
    };
    check(
        topics == expected_topics,
        format!("topics {topics:?}, expected {expected_topics:?}"),
    );
    let alarms = &inventory["alarms"];
    let expected = if moto_extras {
        BTreeMap::new()
    } else {
        world.alarms()
    };
    check(
        keys(alarms) == expected.keys().cloned().collect(),
        format!("alarms {:?}, expected {:?}", keys(alarms), expected.keys()),
    );
    for (name, file) in expected {
        for (field, value) in file.as_object().expect("alarm object") {
            check(
                same(&alarms[&name][field], value),
                format!(
                    "alarm {name}: {field} {}, its file says {value}",
                    alarms[&name][field]
                ),
            );
        }
    }

    assert!(
        problems.is_empty(),
        "{who} did not make what docker/localstack/seed/world.json describes:\n- {}",
        problems.join("\n- ")
    );
}

// --------------------------------------------------------------------------- processes

struct Tools {
    /// moto's venv python (boto3 for provision.py and inventory.py, moto for server.py).
    python: PathBuf,
    aws: PathBuf,
}

fn cache_dir(var: &str, leaf: &str) -> PathBuf {
    std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
            .join(".cache/mcp-slo/".to_owned() + leaf)
    })
}

fn tools(test: &str) -> Option<Tools> {
    let venv = cache_dir("MCP_SLO_VENV", "venv");
    let tools = Tools {
        python: venv.join("bin/python"),
        aws: cache_dir("MCP_SLO_AWSCLI", "awscli").join("venv/bin/aws"),
    };
    if tools.python.is_file() && venv.join("bin/moto_server").is_file() && tools.aws.is_file() {
        return Some(tools);
    }
    let message = format!(
        "{test}: needs moto's venv at {} (bash scripts/setup-moto.sh) and the AWS CLI at {} \
         (bash scripts/moto/install-awscli.sh)",
        venv.display(),
        tools.aws.display()
    );
    if std::env::var("MCP_SLO_REQUIRE_SERVICES").as_deref() == Ok("1") {
        panic!("{message}");
    }
    eprintln!("SKIPPED {message}");
    None
}

/// A command with no AWS_* variable of the test's environment (setup-moto.sh exports the
/// shared server's endpoint and keys) and no AWS config file of the user's.
fn scrubbed(program: &Path, scratch: &Path) -> Command {
    let mut cmd = Command::new(program);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("AWS_CONFIG_FILE", scratch.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            scratch.join("no-aws-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .current_dir(root())
        .stdin(Stdio::null());
    cmd
}

/// Runs to completion within `limit` (killed after it), output captured.
fn run(what: &str, cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let stdout = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let stderr = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

fn show(output: &Output) -> String {
    format!(
        "{}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A minimal HTTP/1.0 exchange with moto's own API: (status, body).
fn http(port: u16, method: &str, path: &str, content_type: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, body.to_owned())
}

/// A fresh moto (scripts/moto/server.py, as setup-moto.sh starts it) on a free port of
/// 127.0.0.1, stopped when dropped.
struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    fn start(tools: &Tools, scratch: &Path) -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log = std::fs::File::create(scratch.join(format!("moto-{port}.log"))).expect("log");
        let child = scrubbed(&tools.python, scratch)
            .args(["scripts/moto/server.py", "-H", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start scripts/moto/server.py");
        let mut moto = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok()
                && http(port, "GET", "/moto-api/", "text/plain", "")
                    .1
                    .to_lowercase()
                    .contains("moto")
            {
                return moto;
            }
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("moto on port {port} exited ({status}); see its log in {scratch:?}");
            }
            assert!(
                Instant::now() < deadline,
                "moto on port {port} did not answer within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn inventory(&self, tools: &Tools, scratch: &Path, world: &World) -> Value {
        let dir = scratch.join(format!("objects-{}", self.port));
        let output = run(
            "scripts/moto/inventory.py",
            scrubbed(&tools.python, scratch)
                .args(["scripts/moto/inventory.py", "--moto-auth-off", "--endpoint"])
                .arg(self.endpoint())
                .arg("--region")
                .arg(&world.region)
                .arg("--objects-dir")
                .arg(&dir),
            Duration::from_secs(120),
        );
        assert!(output.status.success(), "inventory: {}", show(&output));
        serde_json::from_slice(&output.stdout).expect("inventory JSON")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the READY hook as LocalStack would, with `awslocal` = the AWS CLI at `endpoint`
/// trying each request `attempts` times.
fn run_hook(
    tools: &Tools,
    scratch: &Path,
    endpoint: &str,
    markers: &Path,
    attempts: u32,
) -> Output {
    let bin = scratch.join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let shim = bin.join("awslocal");
    std::fs::write(
        &shim,
        format!(
            "#!/bin/sh\nexec '{}' --endpoint-url \"$ENDPOINT\" \"$@\"\n",
            tools.aws.display()
        ),
    )
    .expect("write awslocal");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH");
    run(
        "the READY hook",
        scrubbed(Path::new("bash"), scratch)
            .arg("docker/localstack/ready.d/10-mcp-slo.sh")
            .env("PATH", path)
            .env("ENDPOINT", endpoint)
            .env("MCP_SLO_SEED", root().join("docker/localstack/seed"))
            .env("MCP_SLO_MARKER_DIR", markers)
            .env("AWS_MAX_ATTEMPTS", attempts.to_string()),
        Duration::from_secs(300),
    )
}

// --------------------------------------------------------------------------- tests

#[test]
fn the_world_file_reads_as_its_provisioners_read_it() {
    let world = world();
    assert!(
        world.account.len() == 12 && world.account.bytes().all(|b| b.is_ascii_digit()),
        "account {}",
        world.account
    );
    let objects = world.objects();
    assert_eq!(objects["big.bin"].1.len(), 2 * 1024 * 1024);
    assert_eq!(&objects["chart.png"].1[..8], b"\x89PNG\r\n\x1a\n");
    assert!(objects["daily.csv"].1.starts_with(b"date,"));
    // Every statement expands to ARNs of this world (placeholders are asserted away).
    let roles = world.roles("base");
    assert!(roles.values().any(|r| r.to_string().contains(&format!(
        "arn:aws:lambda:{}:{}:function:",
        world.region, world.account
    ))));
    for f in world.raw["functions"].as_array().expect("functions") {
        assert!(
            world.role_names().contains(&text(&f["role"])),
            "function {}: its role is not in the file",
            f["name"]
        );
    }
    let code = root()
        .join("docker/localstack/seed")
        .join(text(&world.raw["lambda_code"]));
    let handlers = std::fs::read_to_string(&code).expect("lambda_code");
    for f in world.raw["functions"].as_array().expect("functions") {
        let handler = text(&f["handler"]);
        let (module, function) = handler.split_once('.').expect("module.function");
        assert_eq!(
            code.file_stem().and_then(|s| s.to_str()),
            Some(module),
            "{handler}"
        );
        assert!(
            handlers.contains(&format!("\ndef {function}(event, context):")),
            "{} has no {function}",
            code.display()
        );
    }
}

#[test]
fn both_provisioners_build_the_world_file_on_moto() {
    let Some(tools) = tools("both_provisioners_build_the_world_file_on_moto") else {
        return;
    };
    let scratch = tempfile::tempdir().expect("tempdir");
    let scratch = scratch.path();
    let world = world();
    // Both servers start together (moto takes a few seconds to import).
    let for_hook = Moto::start(&tools, scratch);
    let for_provision = Moto::start(&tools, scratch);

    // The READY hook, against moto standing in for LocalStack. moto runs no Lambda code
    // without Docker: told so, its Invoke echoes the payload, which is what the hook's check
    // of each function expects (LocalStack runs handlers.py, which echoes too). moto reports
    // a new function Active at once, so the hook's wait for State passes on the first look.
    let (status, body) = http(
        for_hook.port,
        "POST",
        "/moto-api/config",
        "application/json",
        r#"{"lambda": {"use_docker": false}}"#,
    );
    assert!(
        (200..300).contains(&status) && body.contains(r#""lambda": {"use_docker": false}"#),
        "moto config answered {status}: {body}"
    );
    let markers = scratch.join("markers");
    let hook = run_hook(&tools, scratch, &for_hook.endpoint(), &markers, 3);
    assert!(
        hook.status.success(),
        "the READY hook failed: {}",
        show(&hook)
    );
    assert!(
        markers.join("provisioned").is_file(),
        "the hook succeeded without writing its marker: {}",
        show(&hook)
    );
    let log = String::from_utf8_lossy(&hook.stdout);
    for name in world.function_names() {
        assert!(
            log.contains(&format!("function {name} (Active, invocation echoed)")),
            "{log}"
        );
    }
    let made_by_hook = for_hook.inventory(&tools, scratch, &world);
    compare(
        "the LocalStack READY hook",
        &world,
        &made_by_hook,
        &format!("arn:aws:iam::{}:root", world.account),
        false,
    );

    // provision.py, with its checks, as setup-moto.sh runs it.
    let provision = run(
        "scripts/moto/provision.py",
        scrubbed(&tools.python, scratch)
            .args(["scripts/moto/provision.py", "--endpoint"])
            .arg(for_provision.endpoint())
            .arg("--state-file")
            .arg(scratch.join("creds.json")),
        Duration::from_secs(180),
    );
    assert!(
        provision.status.success(),
        "provision.py: {}",
        show(&provision)
    );
    let stdout = String::from_utf8_lossy(&provision.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines.len() == 2
            && lines[0].starts_with("export AWS_ACCESS_KEY_ID=")
            && lines[1].starts_with("export AWS_SECRET_ACCESS_KEY="),
        "provision.py's stdout: {stdout}"
    );
    let made_by_provision = for_provision.inventory(&tools, scratch, &world);
    compare(
        "scripts/moto/provision.py",
        &world,
        &made_by_provision,
        &format!("arn:aws:iam::{}:user/{MOTO_BASE_USER}", world.account),
        true,
    );

    // The same code and the same bytes in both.
    for name in world.function_names() {
        let sha = |inv: &Value| inv["functions"][&name]["code_sha256"].clone();
        assert!(
            sha(&made_by_hook).is_string() && sha(&made_by_hook) == sha(&made_by_provision),
            "{name}: CodeSha256 {} (hook) and {} (provision.py) differ",
            sha(&made_by_hook),
            sha(&made_by_provision)
        );
    }
    for key in keys(&made_by_hook["buckets"][&world.bucket]["objects"]) {
        let sha = |inv: &Value| inv["buckets"][&world.bucket]["objects"][&key]["sha256"].clone();
        eprintln!("s3://{}/{key} sha256 {}", world.bucket, sha(&made_by_hook));
        assert_eq!(sha(&made_by_hook), sha(&made_by_provision), "{key}");
    }

    // A hook that cannot finish leaves no marker (an old one included): the health check
    // keeps the container unhealthy.
    drop(for_hook);
    std::fs::write(markers.join("provisioned"), "").expect("old marker");
    let dead = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    // One attempt per request: nothing listens, so retrying only takes longer.
    let failed = run_hook(
        &tools,
        scratch,
        &format!("http://127.0.0.1:{dead}"),
        &markers,
        1,
    );
    assert!(
        !failed.status.success(),
        "the hook succeeded with nothing listening: {}",
        show(&failed)
    );
    assert!(
        !markers.join("provisioned").exists(),
        "a failed hook left the marker"
    );
}
