//! What the tools need: the local tier's backends, the AWS emulators' resources, and the
//! CloudWatch alarms.

use crate::support::*;
use crate::world::world;

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

    // The roles the tools assume are in the account the base key selects, and the world
    // file both provisioners read (world/) has each of them and each allowed function in
    // that account and the config's region. LocalStack's READY hook reads it from the seed
    // directory compose mounts.
    let world = world();
    let key = &env["AWS_ACCESS_KEY_ID"];
    assert!(
        key.len() == 12 && key.bytes().all(|b| b.is_ascii_digit()),
        "AWS_ACCESS_KEY_ID {key} is not a 12-digit LocalStack account id"
    );
    assert_eq!(&world.account, key, "world.json's account");
    assert_eq!(world.region, region, "world.json's region");
    let (world_roles, world_functions) = (world.role_names(), world.function_names());
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
            world_roles.contains(role),
            "world.json has no role {role} ({} assumes it)",
            tool.name
        );
        roles += 1;
        for function in &tool.security.allowed_functions {
            assert!(
                world_functions.contains(function),
                "world.json has no function {function} ({} allows it)",
                tool.name
            );
            functions += 1;
        }
        if tool.name == "s3_read" {
            assert_eq!(world.bucket, "mcp-slo-reports", "bucket");
        }
    }
    assert_eq!(roles, config.tools.len());
    assert!(functions >= 1);
    let init = read("docker/localstack/ready.d/10-mcp-slo.sh");
    assert!(
        init.contains("python3 \"$SEED/world.py\" plan \"$SEED/world.json\"")
            && init.contains("SEED=${MCP_SLO_SEED:-/opt/mcp-slo/seed}"),
        "the READY hook reads seed/world.json"
    );
    assert!(
        strings(localstack.get("volumes"))
            .iter()
            .any(|v| v == "./docker/localstack/seed:/opt/mcp-slo/seed:ro"),
        "compose mounts the seed (world.json) where the READY hook reads it"
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
    let world = world();
    let listed = world.alarm_files();
    for alarm in alarms {
        let name = alarm["name"].as_str().expect("alarm name");
        let file = format!("{name}.json");
        assert!(seeded.remove(&file), "no {file} for alarm {name}");
        assert!(
            listed.contains(&format!("alarms/{file}")),
            "world.json does not list alarms/{file}, so the READY hook does not create alarm {name}"
        );
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
                    world.topics().contains(topic),
                    "world.json has no SNS topic {topic} ({name}'s alarm_action)"
                );
            }
            None => assert!(seed.get("AlarmActions").is_none(), "{name}"),
        }
    }
    assert!(seeded.is_empty(), "alarms not in the config: {seeded:?}");
    assert_eq!(
        listed.len(),
        alarms.len(),
        "world.json's alarms: {listed:?}"
    );
}
