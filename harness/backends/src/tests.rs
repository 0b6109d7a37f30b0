//! The resolution order, one step at a time: each source is chosen when the earlier ones
//! are absent.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use mcp_slo_core::result::BackendSource;

use super::*;

#[derive(Default)]
struct World {
    env: BTreeMap<&'static str, &'static str>,
    ports: BTreeSet<u16>,
    docker: bool,
}

impl Probe for World {
    fn env(&self, key: &str) -> Option<String> {
        self.env.get(key).map(|v| (*v).to_owned())
    }
    fn listening(&self, port: u16) -> bool {
        self.ports.contains(&port)
    }
    fn docker(&self) -> bool {
        self.docker
    }
}

const LOCAL: &[Service] = &[
    Service::Postgres,
    Service::Mysql,
    Service::Cache,
    Service::Files,
];

fn sources(decisions: &[Decision]) -> Vec<(&'static str, BackendSource)> {
    decisions
        .iter()
        .map(|d| (d.service.name(), d.source))
        .collect()
}

#[test]
fn the_environment_comes_first() {
    let world = World {
        env: BTreeMap::from([
            ("DATABASE_URL", "postgres://u:secret@db.example:5432/agents"),
            ("MCP_SLO_DATA_ROOT", "/srv/data"),
        ]),
        ports: BTreeSet::from([5432, 3306, 6379]),
        docker: true,
    };
    let got = decide(LOCAL, Choice::Auto, &world).unwrap();
    assert_eq!(
        sources(&got),
        [
            ("postgres", BackendSource::Env),
            ("mysql", BackendSource::Loopback),
            ("cache", BackendSource::Loopback),
            ("files", BackendSource::Env),
        ]
    );
    assert_eq!(
        got[0].url.as_deref(),
        Some("postgres://u:secret@db.example:5432/agents")
    );
    assert_eq!(
        got[1].url.as_deref(),
        Some("mysql://mcp_agent:mcp_agent_dev@127.0.0.1:3306/agents")
    );
}

#[test]
fn loopback_services_come_before_containers() {
    let world = World {
        ports: BTreeSet::from([6379, 5000]),
        docker: true,
        ..World::default()
    };
    let got = decide(LOCAL, Choice::Auto, &world).unwrap();
    assert_eq!(
        sources(&got),
        [
            ("postgres", BackendSource::Container),
            ("mysql", BackendSource::Container),
            ("cache", BackendSource::Loopback),
            ("files", BackendSource::Embedded),
        ]
    );
    // moto's default port when LocalStack's is closed.
    let aws = decide(&[Service::Aws], Choice::Auto, &world).unwrap();
    assert_eq!(aws[0].source, BackendSource::Loopback);
    assert_eq!(aws[0].url.as_deref(), Some("http://127.0.0.1:5000"));
}

#[test]
fn without_docker_the_local_tier_falls_back_to_embedded() {
    let got = decide(LOCAL, Choice::Auto, &World::default()).unwrap();
    assert!(
        got.iter()
            .all(|d| d.source == BackendSource::Embedded && d.url.is_none()),
        "{got:?}"
    );
}

#[test]
fn the_aws_tier_never_falls_back_silently() {
    let err = decide(&[Service::Aws], Choice::Auto, &World::default()).unwrap_err();
    assert_eq!(err, ResolveError::NoAwsEndpoint);
    let text = err.to_string();
    for how in [
        "docker compose up",
        "scripts/setup-moto.sh",
        "localstack/localstack:4.14.0",
        "AWS_ENDPOINT_URL",
    ] {
        assert!(text.contains(how), "{how} in {text}");
    }
    // --backends embedded covers the local tier only.
    let err = decide(&[Service::Aws], Choice::Embedded, &World::default()).unwrap_err();
    assert_eq!(err, ResolveError::NoAwsEndpoint);
    // With Docker, LocalStack in a container.
    let docker = World {
        docker: true,
        ..World::default()
    };
    let aws = decide(&[Service::Aws], Choice::Auto, &docker).unwrap();
    assert_eq!(aws[0].source, BackendSource::Container);
}

#[test]
fn pinned_choices_do_not_fall_through() {
    let world = World {
        env: BTreeMap::from([("REDIS_URL", "redis://10.0.0.1:6379/0")]),
        ports: BTreeSet::from([5432, 3306, 6379]),
        docker: false,
    };
    assert_eq!(
        decide(LOCAL, Choice::Env, &world).unwrap_err(),
        ResolveError::NotInEnv {
            service: "postgres",
            var: "DATABASE_URL"
        }
    );
    assert_eq!(
        decide(LOCAL, Choice::Containers, &world).unwrap_err(),
        ResolveError::NoDocker
    );
    let embedded = decide(LOCAL, Choice::Embedded, &world).unwrap();
    assert!(embedded.iter().all(|d| d.source == BackendSource::Embedded));
}

#[test]
fn docker_is_asked_once_per_resolution() {
    struct Counting(std::cell::Cell<u32>);
    impl Probe for Counting {
        fn env(&self, _: &str) -> Option<String> {
            None
        }
        fn listening(&self, _: u16) -> bool {
            false
        }
        fn docker(&self) -> bool {
            self.0.set(self.0.get() + 1);
            false
        }
    }
    let probe = Counting(std::cell::Cell::new(0));
    decide(LOCAL, Choice::Auto, &probe).unwrap();
    assert_eq!(probe.0.get(), 1);
}

#[tokio::test]
async fn embedded_decisions_become_one_flag_and_removed_variables() {
    let decisions = decide(LOCAL, Choice::Embedded, &World::default()).unwrap();
    let mut containers = Containers::default();
    let plan = provision(
        &decisions,
        Path::new("/tmp/run/embedded"),
        Path::new("."),
        &mut containers,
    )
    .await
    .unwrap();
    assert_eq!(plan.args, ["--embedded", "/tmp/run/embedded"]);
    assert!(containers.is_empty());
    for var in [
        "DATABASE_URL",
        "MYSQL_URL",
        "REDIS_URL",
        "MCP_SLO_DATA_ROOT",
    ] {
        assert!(
            plan.env.contains(&(var.to_owned(), None)),
            "{var} removed: {:?}",
            plan.env
        );
    }
    assert_eq!(plan.served[2].address, "in-process cache");
    assert!(
        plan.served
            .iter()
            .all(|b| b.source == BackendSource::Embedded)
    );
}

#[test]
fn reports_never_show_passwords() {
    assert_eq!(
        redact("postgres://mcp_agent:hunter2@127.0.0.1:5432/agents"),
        "postgres://mcp_agent:***@127.0.0.1:5432/agents"
    );
    assert_eq!(
        redact("redis://127.0.0.1:6379/0"),
        "redis://127.0.0.1:6379/0"
    );
    assert_eq!(redact("postgres://u@h/db?x=a@b"), "postgres://u@h/db?x=a@b");
}

#[test]
fn docker_without_an_engine_does_not_answer() {
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("unix://{}", dir.path().join("docker.sock").display());
    assert!(!probe::docker_answers(Some(&missing)));
    // A port that accepts and then says something else is not an engine.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        use std::io::Write as _;
        if let Ok((mut s, _)) = listener.accept() {
            let _ = s.write_all(b"SSH-2.0-OpenSSH\r\n");
        }
    });
    assert!(!probe::docker_answers(Some(&format!("tcp://{address}"))));
    server.join().unwrap();
}

#[test]
fn container_images_are_the_compose_files() {
    let compose = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docker-compose.yml"
    ))
    .unwrap();
    for (name, tag) in [
        containers::POSTGRES,
        containers::MARIADB,
        containers::REDIS,
        containers::LOCALSTACK,
        containers::MOTO,
    ] {
        let image = format!("image: {name}:{tag}");
        assert!(
            compose.contains(&image),
            "docker-compose.yml runs {name}:{tag}"
        );
    }
}
