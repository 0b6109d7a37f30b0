//! The docker compose reproduction (`docker-compose.yml`, `Dockerfile`, `docker/`) checked
//! against `config/` as the servers load it (`TierFiles`, `ServerConfig`): published ports
//! and listen addresses, the local tier's loopback-only publish and its isolation from the
//! AWS tier, the flags the servers run with, the backends and emulator resources the tools
//! need, the CloudWatch alarms, health checks and start order, and pinned image tags.
//! Compose's own validation is `scripts/check-compose.sh`; nothing here needs an engine.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use mcp_server_core::config::{ServerConfig, TierFiles};
use serde_json::{Map, Value};

/// Services that run to completion instead of staying up: no health check, `restart: "no"`.
const JOBS: [&str; 2] = ["moto-seed", "harness"];
/// The harness publishes with this CloudWatch namespace by default (`mcp-slo run
/// --cloudwatch-namespace`), so the alarms LocalStack starts with watch the same metrics.
const CLOUDWATCH_NAMESPACE: &str = "MCPSLO";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn yaml(relative: &str) -> Value {
    serde_saphyr::from_str(&read(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn compose() -> Value {
    yaml("docker-compose.yml")
}

fn local_tier() -> TierFiles {
    let config = root().join("config");
    TierFiles::load(
        &config.join("local_mcp_server_config.yaml"),
        &config.join("deployment_boundaries.yaml"),
        &config.join("network_isolation.yaml"),
    )
    .expect("the committed local tier config loads")
}

fn aws_config() -> ServerConfig {
    ServerConfig::load(&root().join("config/aws_managed_mcp_config.yaml"))
        .expect("the committed AWS tier config loads")
}

fn services(compose: &Value) -> &Map<String, Value> {
    compose["services"]
        .as_object()
        .expect("docker-compose.yml has services")
}

fn service<'a>(compose: &'a Value, name: &str) -> &'a Map<String, Value> {
    services(compose)
        .get(name)
        .and_then(Value::as_object)
        .unwrap_or_else(|| panic!("docker-compose.yml has no service {name}"))
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| items.iter().map(text).collect())
        .unwrap_or_default()
}

fn command(svc: &Map<String, Value>) -> Vec<String> {
    strings(svc.get("command"))
}

fn environment(svc: &Map<String, Value>) -> BTreeMap<String, String> {
    match svc.get("environment") {
        Some(Value::Object(map)) => map.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                let item = text(item);
                let (k, v) = item.split_once('=').unwrap_or((&item, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

fn networks(svc: &Map<String, Value>) -> BTreeSet<String> {
    match svc.get("networks") {
        Some(Value::Array(items)) => items.iter().map(text).collect(),
        Some(Value::Object(map)) => map.keys().cloned().collect(),
        _ => BTreeSet::new(),
    }
}

/// The value following `flag` in an argument list.
fn flag_value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// A short-syntax port mapping: `[HOST_IP:]HOST_PORT:CONTAINER_PORT`.
#[derive(Debug, PartialEq, Eq)]
struct Publish {
    host_ip: Option<IpAddr>,
    host_port: u16,
    container_port: u16,
}

fn publishes(svc: &Map<String, Value>) -> Vec<Publish> {
    strings(svc.get("ports"))
        .iter()
        .map(|spec| {
            let spec = spec.trim_end_matches("/tcp");
            let parts: Vec<&str> = spec.split(':').collect();
            let port = |s: &str| {
                s.parse::<u16>()
                    .unwrap_or_else(|_| panic!("port mapping {spec:?}: {s:?} is not a port"))
            };
            match parts.as_slice() {
                [host, container] => Publish {
                    host_ip: None,
                    host_port: port(host),
                    container_port: port(container),
                },
                [ip, host, container] => Publish {
                    host_ip: Some(
                        ip.parse()
                            .unwrap_or_else(|_| panic!("port mapping {spec:?}: bad host IP")),
                    ),
                    host_port: port(host),
                    container_port: port(container),
                },
                _ => panic!("port mapping {spec:?} is not [HOST_IP:]HOST:CONTAINER"),
            }
        })
        .collect()
}

/// `(host, port)` of an `http://host:port[/path]` URL.
fn host_port(url: &str) -> (String, u16) {
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("{url:?} is not an http:// URL"));
    let authority = rest.split('/').next().unwrap_or_default();
    let (host, port) = authority
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("{url:?} names no port"));
    (
        host.to_owned(),
        port.parse()
            .unwrap_or_else(|_| panic!("{url:?}: bad port {port:?}")),
    )
}

/// The path of a URL (`postgres://u:p@host:5432/agents` → `agents`).
fn url_path(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    after_scheme.split_once('/').map_or("", |(_, p)| p)
}

/// The host of a URL with optional user info.
fn url_host(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = after_scheme.split('/').next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    host_port.split(':').next().unwrap_or_default()
}

#[test]
fn published_ports_are_the_listen_ports_of_the_network_file() {
    let compose = compose();
    let network = local_tier().network;

    let local = service(&compose, "local-server");
    let local_port = network.local_server.listen_address.port();
    assert_eq!(
        publishes(local),
        vec![Publish {
            host_ip: Some(network.local_server.listen_address.ip()),
            host_port: local_port,
            container_port: local_port,
        }],
        "the local tier is published exactly at network.local_server.listen_address"
    );
    // In the container it binds the same port on every interface (the host publish is the
    // loopback one above), which needs --allow-remote.
    let args = command(local);
    let listen: SocketAddr = flag_value(&args, "--listen")
        .expect("local-server passes --listen")
        .parse()
        .expect("--listen is an address");
    assert_eq!(listen.port(), local_port, "{args:?}");
    assert!(listen.ip().is_unspecified(), "{args:?}");
    assert!(args.iter().any(|a| a == "--allow-remote"), "{args:?}");

    let aws = service(&compose, "aws-server");
    let aws_listen = network.aws_server.listen_address;
    assert_eq!(
        publishes(aws),
        vec![Publish {
            host_ip: Some(aws_listen.ip()),
            host_port: aws_listen.port(),
            container_port: aws_listen.port(),
        }],
        "the AWS tier is published at network.aws_server.listen_address"
    );
    let args = command(aws);
    if let Some(listen) = flag_value(&args, "--listen") {
        assert_eq!(
            listen.parse::<SocketAddr>().ok(),
            Some(aws_listen),
            "{args:?}"
        );
    }

    // Health checks probe /readyz on the port each tier listens on.
    for (name, port) in [
        ("local-server", local_port),
        ("aws-server", aws_listen.port()),
    ] {
        let test = strings(service(&compose, name)["healthcheck"].get("test"));
        assert_eq!(
            test,
            vec!["CMD", "http-ready", &port.to_string(), "/readyz"],
            "{name}"
        );
    }
}

#[test]
fn the_local_tier_is_loopback_only_and_out_of_the_aws_tiers_reach() {
    let compose = compose();
    let network = local_tier().network;
    assert!(
        network.local_server.listen_address.ip().is_loopback(),
        "config/network_isolation.yaml keeps the local tier on loopback"
    );
    let local = service(&compose, "local-server");
    for publish in publishes(local) {
        assert!(
            publish.host_ip.is_some_and(|ip| ip.is_loopback()),
            "local-server publishes {publish:?} beyond the host's loopback"
        );
    }

    // No network in common with the AWS tier.
    let aws_networks = networks(service(&compose, "aws-server"));
    let local_networks = networks(local);
    assert!(!local_networks.is_empty());
    assert!(
        local_networks.is_disjoint(&aws_networks),
        "local-server {local_networks:?} and aws-server {aws_networks:?} share a network"
    );

    // Its networks: internal ones, and any other carries the local tier alone (the publish).
    let defined = compose["networks"]
        .as_object()
        .expect("docker-compose.yml defines its networks");
    let mut internal = 0;
    for net in &local_networks {
        let def = defined
            .get(net)
            .unwrap_or_else(|| panic!("network {net} is not defined"));
        if def.get("internal") == Some(&Value::Bool(true)) {
            internal += 1;
            continue;
        }
        let members: Vec<&String> = services(&compose)
            .iter()
            .filter(|(_, s)| s.as_object().is_some_and(|s| networks(s).contains(net)))
            .map(|(name, _)| name)
            .collect();
        assert_eq!(
            members,
            vec!["local-server"],
            "non-internal network {net} carries more than the local tier's publish"
        );
    }
    assert!(
        internal >= 1,
        "the local tier's backends share an internal network"
    );

    // Inside compose only the harness reaches it: from the tier's own network namespace,
    // on the loopback address of the network file's port.
    let in_namespace: Vec<&String> = services(&compose)
        .iter()
        .filter(|(_, s)| s["network_mode"] == "service:local-server")
        .map(|(name, _)| name)
        .collect();
    assert_eq!(in_namespace, vec!["harness"]);
    let scenario = yaml("scenarios/compose-local.yaml");
    let url = scenario["targets"]["local"]["url"]
        .as_str()
        .expect("compose-local.yaml targets a URL");
    let (host, port) = host_port(url);
    assert!(
        host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()),
        "{url}"
    );
    assert_eq!(port, network.local_server.listen_address.port(), "{url}");
}

#[test]
fn the_servers_run_with_the_committed_configs_and_limits() {
    let compose = compose();
    // The image's working directory holds a copy of config/, which is what the servers'
    // default --config/--boundaries/--network/--callers paths name.
    let dockerfile = read("Dockerfile");
    assert!(dockerfile.contains("\nWORKDIR /app\n"), "Dockerfile");
    assert!(
        dockerfile.contains("\nCOPY config/ /app/config/\n"),
        "Dockerfile"
    );
    for (name, binary, allowed) in [
        (
            "local-server",
            "mcp-local-server",
            &["--listen", "--allow-remote", "--mode", "--audit"][..],
        ),
        (
            "aws-server",
            "mcp-aws-server",
            &["--listen", "--mode", "--audit"][..],
        ),
    ] {
        let svc = service(&compose, name);
        let args = command(svc);
        assert_eq!(args.first().map(String::as_str), Some(binary), "{name}");
        // No flag that changes a limit, the tools, the network rules or the callers: the
        // compose tiers hold exactly the committed boundaries.
        for flag in args.iter().skip(1).filter(|a| a.starts_with("--")) {
            assert!(
                allowed.contains(&flag.as_str()),
                "{name} passes {flag}, which overrides config/ (allowed here: {allowed:?})"
            );
        }
        for volume in strings(svc.get("volumes")) {
            assert!(
                !volume.contains(":/app/config"),
                "{name} mounts {volume} over the image's config/"
            );
        }
    }
    // The limits those files hold, as loaded by the servers.
    let boundaries = local_tier().boundaries;
    assert_eq!(boundaries.local.max_inflight_requests.get(), 100);
    assert_eq!(boundaries.aws_managed.max_concurrent.get(), 50);
}

#[test]
fn the_local_tiers_backends_are_those_its_tools_need() {
    let compose = compose();
    let tiers = local_tier();
    let local = service(&compose, "local-server");
    let env = environment(local);
    let depends = local["depends_on"]
        .as_object()
        .expect("local-server depends_on its backends");
    let needs_service = |var: &str, host: &str| {
        let url = env
            .get(var)
            .unwrap_or_else(|| panic!("local-server has no {var}"));
        assert_eq!(url_host(url), host, "{var}={url}");
        assert!(
            networks(service(&compose, host))
                .intersection(&networks(local))
                .next()
                .is_some(),
            "{host} shares no network with local-server"
        );
        assert_eq!(
            depends.get(host).map(|d| &d["condition"]),
            Some(&Value::from("service_healthy")),
            "local-server waits for {host}"
        );
        url.clone()
    };
    let mut checked = BTreeSet::new();
    for tool in &tiers.server.tools {
        match tool.name.as_str() {
            "postgres_query" => {
                let url = needs_service("DATABASE_URL", "postgres");
                assert!(
                    tool.security
                        .allowed_databases
                        .iter()
                        .any(|d| d == url_path(&url)),
                    "DATABASE_URL names a database postgres_query does not allow: {url}"
                );
                // The init script creates exactly the allowed databases.
                let init = read("docker/postgres/10-mcp-slo.sh");
                let line = init
                    .lines()
                    .find_map(|l| l.strip_prefix("DATABASES=\""))
                    .expect("10-mcp-slo.sh has a DATABASES=\"...\" line");
                let created: BTreeSet<&str> = line
                    .trim_end_matches('"')
                    .split_whitespace()
                    .map(|e| e.split(':').next().unwrap_or_default())
                    .collect();
                let allowed: BTreeSet<&str> = tool
                    .security
                    .allowed_databases
                    .iter()
                    .map(String::as_str)
                    .collect();
                assert_eq!(created, allowed, "Postgres databases");
                let mounts = strings(service(&compose, "postgres").get("volumes"));
                assert!(
                    mounts
                        .iter()
                        .any(|m| m.starts_with("./scripts/sql:") && m.ends_with(":ro")),
                    "{mounts:?}"
                );
            }
            "mysql_query" => {
                let url = needs_service("MYSQL_URL", "mariadb");
                let fixtures = read("scripts/sql/mysql_fixtures.sql");
                for db in &tool.security.allowed_databases {
                    assert!(
                        fixtures.contains(&format!("CREATE DATABASE IF NOT EXISTS {db};")),
                        "mysql_fixtures.sql does not create {db}"
                    );
                }
                assert!(
                    tool.security
                        .allowed_databases
                        .iter()
                        .any(|d| d == url_path(&url)),
                    "{url}"
                );
                // The account the tier uses exists for connections from other containers.
                let grants = read("docker/mariadb/20-compose-grants.sql");
                assert!(grants.contains("'mcp_agent'@'%'"), "20-compose-grants.sql");
                assert!(
                    url.starts_with("mysql://mcp_agent:"),
                    "MYSQL_URL connects as mcp_agent: {url}"
                );
            }
            "cache_invalidate" => {
                needs_service("REDIS_URL", "redis");
            }
            "file_read" => {
                let data_root = env
                    .get("MCP_SLO_DATA_ROOT")
                    .expect("local-server sets MCP_SLO_DATA_ROOT");
                let dockerfile = read("Dockerfile");
                for allowed in &tool.security.allowed_paths {
                    let virtual_path = allowed.to_string_lossy();
                    let leaf = allowed
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let copy = format!(
                        "COPY scripts/fixtures/{leaf}/ {}{virtual_path}/",
                        data_root.trim_end_matches('/')
                    );
                    assert!(
                        dockerfile.contains(&copy),
                        "the image has no {virtual_path} under MCP_SLO_DATA_ROOT ({copy:?})"
                    );
                    assert!(
                        root().join("scripts/fixtures").join(&leaf).is_dir(),
                        "scripts/fixtures/{leaf}"
                    );
                }
            }
            other => panic!(
                "local tool {other} has no backend in docker-compose.yml: add one and a check here"
            ),
        }
        checked.insert(tool.name.clone());
    }
    assert!(checked.len() >= 3, "{checked:?}");
}

#[test]
fn the_aws_emulators_hold_what_the_aws_config_names() {
    let compose = compose();
    let config = aws_config();
    let region = config
        .region
        .clone()
        .expect("the AWS config names a region");
    let aws = service(&compose, "aws-server");
    let env = environment(aws);

    let localstack = service(&compose, "localstack");
    assert_eq!(localstack["image"], "localstack/localstack:4.14.0");
    let ls_env = environment(localstack);
    let enabled: BTreeSet<&str> = ls_env
        .get("SERVICES")
        .expect("LocalStack SERVICES")
        .split(',')
        .map(str::trim)
        .collect();
    for needed in ["s3", "sts", "iam", "lambda", "cloudwatch"] {
        assert!(
            enabled.contains(needed),
            "LocalStack SERVICES lacks {needed}"
        );
    }
    // Lambda containers join a network LocalStack is on, by its engine-level name.
    let lambda_net = ls_env
        .get("LAMBDA_DOCKER_NETWORK")
        .expect("LAMBDA_DOCKER_NETWORK");
    let ls_networks = networks(localstack);
    assert!(
        ls_networks
            .iter()
            .any(|n| compose["networks"][n]["name"] == lambda_net.as_str()),
        "LAMBDA_DOCKER_NETWORK={lambda_net} is none of LocalStack's networks {ls_networks:?}"
    );
    assert!(
        strings(localstack.get("volumes"))
            .iter()
            .any(|v| v == "/var/run/docker.sock:/var/run/docker.sock"),
        "LocalStack needs the Docker socket for Lambda"
    );

    // Endpoints: everything at LocalStack, the RDS Data API at moto.
    let (host, port) = host_port(&env["AWS_ENDPOINT_URL"]);
    assert_eq!((host.as_str(), port), ("localstack", 4566));
    let (host, _) = host_port(&env["AWS_ENDPOINT_URL_RDS_DATA"]);
    assert_eq!(host, "moto");
    assert!(
        text(&service(&compose, "moto")["image"]).starts_with("motoserver/moto:5."),
        "moto 5.x"
    );
    assert_eq!(env.get("AWS_REGION"), Some(&region));
    assert!(env.contains_key("MCP_AWS_CALLER_TOKENS"));
    let otel = env
        .get("OTEL_EXPORTER_OTLP_ENDPOINT")
        .expect("OTLP endpoint");
    assert_eq!(host_port(otel).0, "jaeger");

    // The roles the tools assume are in the account the base key selects, and the READY
    // hook creates each of them and each allowed function.
    let init = read("docker/localstack/ready.d/10-mcp-slo.sh");
    let key = &env["AWS_ACCESS_KEY_ID"];
    assert!(
        key.len() == 12 && key.bytes().all(|b| b.is_ascii_digit()),
        "AWS_ACCESS_KEY_ID {key} is not a 12-digit LocalStack account id"
    );
    let mut roles = 0;
    let mut functions = 0;
    for tool in &config.tools {
        let arn = tool
            .security
            .iam_role
            .as_deref()
            .unwrap_or_else(|| panic!("{} has no iam_role", tool.name));
        let parts: Vec<&str> = arn.split(':').collect();
        assert_eq!(parts.get(4), Some(&key.as_str()), "{arn}: account");
        let role = arn.rsplit('/').next().unwrap_or_default();
        assert!(
            init.contains(&format!("\nensure_role {role} ")),
            "the READY hook does not create role {role}"
        );
        roles += 1;
        for function in &tool.security.allowed_functions {
            assert!(
                init.contains(&format!("\nensure_function {function} ")),
                "the READY hook does not create function {function}"
            );
            functions += 1;
        }
        if tool.name == "s3_read" {
            assert!(init.contains("\nBUCKET=mcp-slo-reports\n"), "bucket");
        }
    }
    assert_eq!(roles, config.tools.len());
    assert!(functions >= 1);
    assert!(
        init.contains(&format!("AWS_ACCESS_KEY_ID={key} "))
            && init.contains(&format!("AWS_DEFAULT_REGION={region}")),
        "the READY hook provisions account {key} in {region}"
    );

    // moto is seeded by a one-shot in its network namespace before the AWS tier starts.
    let seed = service(&compose, "moto-seed");
    assert_eq!(seed["network_mode"], "service:moto");
    assert_eq!(
        aws["depends_on"]["moto-seed"]["condition"],
        "service_completed_successfully"
    );
    assert_eq!(
        aws["depends_on"]["localstack"]["condition"],
        "service_healthy"
    );
}

/// A field of an alarm in config/cloudwatch_alarms.yaml.
fn number(alarm: &Value, key: &str) -> Option<f64> {
    alarm.get(key).and_then(Value::as_f64)
}

#[test]
fn localstacks_alarms_are_config_cloudwatch_alarms() {
    let config = yaml("config/cloudwatch_alarms.yaml");
    let alarms = config["alarms"]
        .as_array()
        .expect("cloudwatch_alarms.yaml has alarms");
    assert!(!alarms.is_empty());
    let dir = root().join("docker/localstack/seed/alarms");
    let mut seeded: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let init = read("docker/localstack/ready.d/10-mcp-slo.sh");
    for alarm in alarms {
        let name = alarm["name"].as_str().expect("alarm name");
        let file = format!("{name}.json");
        assert!(seeded.remove(&file), "no {file} for alarm {name}");
        let seed: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(&file)).expect("read"))
                .expect("alarm JSON");
        let metric = alarm["metric"].as_str().expect("metric");
        let periods = number(alarm, "evaluation_periods").expect("evaluation_periods");
        assert_eq!(seed["AlarmName"], name);
        assert_eq!(seed["Namespace"], CLOUDWATCH_NAMESPACE, "{name}");
        assert_eq!(seed["MetricName"], metric, "{name}");
        assert_eq!(
            seed["Threshold"].as_f64(),
            number(alarm, "threshold"),
            "{name}"
        );
        assert_eq!(seed["ComparisonOperator"], alarm["comparison"], "{name}");
        assert_eq!(seed["Period"].as_f64(), number(alarm, "period"), "{name}");
        assert_eq!(seed["EvaluationPeriods"].as_f64(), Some(periods), "{name}");
        assert_eq!(
            seed["DatapointsToAlarm"].as_f64(),
            Some(number(alarm, "datapoints_to_alarm").unwrap_or(periods)),
            "{name}: M of N"
        );
        assert_eq!(
            seed["TreatMissingData"],
            alarm
                .get("treat_missing_data")
                .cloned()
                .unwrap_or(Value::from("missing")),
            "{name}"
        );
        // The file's defaults: the error rate is an Average, the latency a p99.
        let (statistic, extended) = match (alarm.get("statistic"), alarm.get("extended_statistic"))
        {
            (None, None) if metric == "MCPToolCallErrorRate" => (Some("Average".into()), None),
            (None, None) => (None, Some("p99".into())),
            (s, e) => (s.map(text), e.map(text)),
        };
        assert_eq!(seed.get("Statistic").map(text), statistic, "{name}");
        assert_eq!(seed.get("ExtendedStatistic").map(text), extended, "{name}");
        match alarm.get("alarm_action").and_then(Value::as_str) {
            Some(action) => {
                assert_eq!(seed["AlarmActions"], Value::from(vec![action]), "{name}");
                let topic = action.rsplit(':').next().unwrap_or_default();
                assert!(
                    init.contains(&format!("sns create-topic --name {topic} ")),
                    "the READY hook does not create the SNS topic {topic}"
                );
            }
            None => assert!(seed.get("AlarmActions").is_none(), "{name}"),
        }
    }
    assert!(seeded.is_empty(), "alarms not in the config: {seeded:?}");
}

#[test]
fn every_service_is_health_checked_and_started_in_order() {
    let compose = compose();
    let all = services(&compose);
    assert!(all.len() >= 8, "{:?}", all.keys());
    for (name, svc) in all {
        let svc = svc.as_object().expect("service");
        if JOBS.contains(&name.as_str()) {
            assert_eq!(svc.get("restart"), Some(&Value::from("no")), "{name}");
            assert!(svc.get("healthcheck").is_none(), "{name} is a one-shot");
        } else {
            let test = strings(svc.get("healthcheck").and_then(|h| h.get("test")));
            assert!(
                test.len() >= 2 && (test[0] == "CMD" || test[0] == "CMD-SHELL"),
                "{name} has no health check: {test:?}"
            );
        }
        let Some(depends) = svc.get("depends_on") else {
            continue;
        };
        let depends = depends
            .as_object()
            .unwrap_or_else(|| panic!("{name}: depends_on in the long form, with conditions"));
        for (dependency, spec) in depends {
            let expected = if JOBS.contains(&dependency.as_str()) {
                "service_completed_successfully"
            } else {
                "service_healthy"
            };
            assert!(all.contains_key(dependency), "{name} -> {dependency}");
            assert_eq!(spec["condition"], expected, "{name} -> {dependency}");
        }
    }
    // A service sharing another's network namespace starts after it.
    for (name, svc) in all {
        if let Some(target) = svc["network_mode"]
            .as_str()
            .and_then(|m| m.strip_prefix("service:"))
        {
            assert!(
                svc["depends_on"].get(target).is_some(),
                "{name} runs in {target}'s namespace without waiting for it"
            );
        }
    }
}

#[test]
fn every_image_has_an_explicit_tag() {
    let compose = compose();
    let dockerfile = read("Dockerfile");
    let targets: BTreeSet<&str> = dockerfile
        .lines()
        .filter(|l| l.starts_with("FROM "))
        .filter_map(|l| l.split(" AS ").nth(1))
        .map(str::trim)
        .collect();
    let tagged = |image: &str| {
        let last = image.rsplit('/').next().unwrap_or(image);
        match last.split_once(':') {
            Some((_, tag)) => !tag.is_empty() && tag != "latest",
            None => false,
        }
    };
    for (name, svc) in services(&compose) {
        let image = text(&svc["image"]);
        assert!(
            tagged(&image),
            "{name}: image {image:?} has no explicit tag"
        );
        if let Some(build) = svc.get("build") {
            let target = build["target"].as_str().expect("build target");
            assert!(targets.contains(target), "{name}: no stage {target}");
        }
    }
    // The Dockerfile's base images, through their ARG defaults.
    let mut bases = 0;
    for line in dockerfile.lines() {
        if let Some(default) = line
            .strip_prefix("ARG ")
            .and_then(|a| a.split_once("_IMAGE="))
        {
            assert!(tagged(default.1), "Dockerfile: {line}");
            bases += 1;
        }
    }
    assert!(bases >= 2, "Dockerfile names its base images in ARGs");
}

#[test]
fn the_dockerfile_builds_the_three_binaries_for_a_fixed_non_root_user() {
    let dockerfile = read("Dockerfile");
    assert!(
        dockerfile.contains(
            "cargo build --release --locked -p mcp-local-server -p mcp-aws-server -p mcp-slo"
        ),
        "Dockerfile"
    );
    let uid: u32 = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("ARG APP_UID="))
        .and_then(|v| v.parse().ok())
        .expect("ARG APP_UID=<number>");
    assert_ne!(uid, 0);
    // Every runtime stage (server, harness) switches to that user.
    let mut stage = "";
    let mut users = BTreeMap::new();
    for line in dockerfile.lines() {
        if let Some(from) = line.strip_prefix("FROM ") {
            stage = from.split(" AS ").nth(1).unwrap_or_default().trim();
        } else if let Some(user) = line.strip_prefix("USER ") {
            users.insert(stage, user.trim());
        }
    }
    for stage in ["server", "harness"] {
        assert_eq!(
            users.get(stage),
            Some(&"${APP_UID}:${APP_UID}"),
            "stage {stage}"
        );
    }
    // The harness writes reports as that user unless told otherwise.
    let compose = compose();
    let user = text(&service(&compose, "harness")["user"]);
    assert_eq!(
        user,
        format!("${{MCP_SLO_UID:-{uid}}}:${{MCP_SLO_GID:-{uid}}}")
    );
}

#[test]
fn the_compose_scenario_is_the_quickstart_against_the_compose_service() {
    let quickstart = yaml("scenarios/quickstart.yaml");
    let compose_scenario = yaml("scenarios/compose-local.yaml");
    for key in ["version", "boundaries", "load", "mix", "slo", "alarms"] {
        assert_eq!(
            compose_scenario[key], quickstart[key],
            "compose-local.yaml {key} differs from quickstart.yaml"
        );
    }
    let target = &compose_scenario["targets"]["local"];
    assert_eq!(target["mode"], quickstart["targets"]["local"]["mode"]);
    assert!(target.get("spawn").is_none());
    let compose = compose();
    let args = command(service(&compose, "harness"));
    assert_eq!(
        args.get(..2),
        Some(&["run".to_owned(), "scenarios/compose-local.yaml".to_owned()][..]),
        "{args:?}"
    );
    let out = flag_value(&args, "--out").expect("the harness writes to --out");
    assert!(
        strings(service(&compose, "harness").get("volumes"))
            .iter()
            .any(|v| v.split(':').nth(1).is_some_and(|m| out.starts_with(m))),
        "--out {out} is not on a mounted volume"
    );
}

/// LocalStack runs an init hook only if it is executable; the Postgres image runs an
/// executable script and would otherwise source it into its own entrypoint.
#[cfg(unix)]
#[test]
fn the_mounted_scripts_are_executable() {
    use std::os::unix::fs::PermissionsExt as _;
    let compose = compose();
    let mut checked = 0;
    for svc in services(&compose).values() {
        for volume in strings(svc.get("volumes")) {
            let source = volume.split(':').next().unwrap_or_default();
            let Some(relative) = source.strip_prefix("./") else {
                continue;
            };
            let path = root().join(relative);
            let scripts: Vec<PathBuf> = if path.is_dir() {
                std::fs::read_dir(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .collect()
            } else {
                vec![path.clone()]
            };
            for script in scripts
                .iter()
                .filter(|p| p.extension().is_some_and(|e| e == "sh"))
            {
                let mode = std::fs::metadata(script)
                    .unwrap_or_else(|e| panic!("{}: {e}", script.display()))
                    .permissions()
                    .mode();
                assert!(
                    mode & 0o111 == 0o111,
                    "{} is not executable ({mode:o})",
                    script.display()
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 2, "postgres and localstack init scripts");
    let http_ready = root().join("docker/bin/http-ready");
    let mode = std::fs::metadata(&http_ready)
        .expect("docker/bin/http-ready")
        .permissions()
        .mode();
    assert!(mode & 0o111 == 0o111, "docker/bin/http-ready ({mode:o})");
}
