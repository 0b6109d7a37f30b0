//! Backends in containers (testcontainers), started when a Docker engine answers. They use
//! the images, init scripts and fixtures of the repository's docker-compose.yml, so a run
//! here sees what `docker compose up` gives; they are removed when the run ends.

use std::path::Path;
use std::time::Duration;

use testcontainers_modules::testcontainers::core::{IntoContainerPort as _, Mount, WaitFor};
use testcontainers_modules::testcontainers::runners::AsyncRunner as _;
use testcontainers_modules::testcontainers::{ContainerAsync, GenericImage, ImageExt as _};

use crate::Service;

/// The images docker-compose.yml runs (a test checks they agree).
pub const POSTGRES: (&str, &str) = ("postgres", "17-alpine");
pub const MARIADB: (&str, &str) = ("mariadb", "11.4");
pub const REDIS: (&str, &str) = ("redis", "7.4-alpine");
pub const LOCALSTACK: (&str, &str) = ("localstack/localstack", "4.14.0");
/// LocalStack's free edition answers RDS Data with 501: moto stands in for it.
pub const MOTO: (&str, &str) = ("motoserver/moto", "5.2.5");

#[derive(Debug, thiserror::Error)]
#[error("cannot start the {service} container ({image}): {message}")]
pub struct ContainerError {
    service: &'static str,
    image: String,
    message: String,
}

/// A started backend: its URL from the host, and variables its server also needs.
pub struct Started {
    pub url: String,
    pub image: String,
    pub extra_env: Vec<(String, String)>,
}

/// The containers of a run; dropping this removes them.
#[derive(Default)]
pub struct Containers {
    running: Vec<ContainerAsync<GenericImage>>,
}

impl std::fmt::Debug for Containers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Containers({} running)", self.running.len())
    }
}

fn mount(root: &Path, from: &str, to: &str) -> Mount {
    Mount::bind_mount(root.join(from).display().to_string(), to)
}

impl Containers {
    pub fn len(&self) -> usize {
        self.running.len()
    }

    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    /// Starts `service`'s container with the compose file's init scripts from `root`.
    pub async fn start(
        &mut self,
        service: Service,
        root: &Path,
    ) -> Result<Started, ContainerError> {
        match service {
            Service::Postgres => {
                let port = self
                    .run(
                        service,
                        POSTGRES,
                        5432,
                        // The entrypoint's temporary server says it on one stream, the real
                        // one on the other: wait for both.
                        vec![
                            WaitFor::message_on_stderr(
                                "database system is ready to accept connections",
                            ),
                            WaitFor::message_on_stdout(
                                "database system is ready to accept connections",
                            ),
                        ],
                        |image| {
                            image
                                .with_env_var("POSTGRES_HOST_AUTH_METHOD", "trust")
                                .with_mount(mount(
                                    root,
                                    "docker/postgres/10-mcp-slo.sh",
                                    "/docker-entrypoint-initdb.d/10-mcp-slo.sh",
                                ))
                                .with_mount(mount(root, "scripts/sql", "/mcp-slo/sql"))
                        },
                    )
                    .await?;
                Ok(started(
                    format!("postgres://mcp_agent:mcp_agent_dev@127.0.0.1:{port}/agents"),
                    POSTGRES,
                    Vec::new(),
                ))
            }
            Service::Mysql => {
                let port = self
                    .run(
                        service,
                        MARIADB,
                        3306,
                        vec![WaitFor::message_on_stderr(
                            "mariadbd: ready for connections",
                        )],
                        |image| {
                            image
                                .with_env_var("MARIADB_ROOT_PASSWORD", "root_dev")
                                .with_mount(mount(
                                    root,
                                    "scripts/sql/mysql_fixtures.sql",
                                    "/docker-entrypoint-initdb.d/10-mysql_fixtures.sql",
                                ))
                                .with_mount(mount(
                                    root,
                                    "docker/mariadb/20-compose-grants.sql",
                                    "/docker-entrypoint-initdb.d/20-compose-grants.sql",
                                ))
                        },
                    )
                    .await?;
                Ok(started(
                    format!("mysql://mcp_agent:mcp_agent_dev@127.0.0.1:{port}/agents"),
                    MARIADB,
                    Vec::new(),
                ))
            }
            Service::Cache => {
                let port = self
                    .run(
                        service,
                        REDIS,
                        6379,
                        vec![WaitFor::message_on_stdout("Ready to accept connections")],
                        |image| {
                            image.with_cmd(["redis-server", "--save", "", "--appendonly", "no"])
                        },
                    )
                    .await?;
                Ok(started(
                    format!("redis://127.0.0.1:{port}/0"),
                    REDIS,
                    Vec::new(),
                ))
            }
            Service::Aws => {
                let edge = self
                    .run(
                        service,
                        LOCALSTACK,
                        4566,
                        // Printed by the ready hook once roles, bucket, functions and alarms
                        // exist.
                        vec![WaitFor::message_on_stdout("provisioned (account")],
                        |image| {
                            image
                                .with_env_var("SERVICES", "s3,sts,iam,lambda,cloudwatch,sns,logs")
                                .with_mount(Mount::bind_mount(
                                    "/var/run/docker.sock",
                                    "/var/run/docker.sock",
                                ))
                                .with_mount(mount(
                                    root,
                                    "docker/localstack/ready.d",
                                    "/etc/localstack/init/ready.d",
                                ))
                                .with_mount(mount(
                                    root,
                                    "docker/localstack/seed",
                                    "/opt/mcp-slo/seed",
                                ))
                                .with_startup_timeout(Duration::from_secs(180))
                        },
                    )
                    .await?;
                let rds = self
                    .run(
                        service,
                        MOTO,
                        5000,
                        vec![WaitFor::message_on_stderr("Running on")],
                        |image| image,
                    )
                    .await?;
                Ok(started(
                    format!("http://127.0.0.1:{edge}"),
                    LOCALSTACK,
                    vec![
                        // LocalStack takes a 12-digit access key id as the account the
                        // config's role ARNs name.
                        ("AWS_ACCESS_KEY_ID".into(), "123456789012".into()),
                        ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
                        (
                            "AWS_ENDPOINT_URL_RDS_DATA".into(),
                            format!("http://127.0.0.1:{rds}"),
                        ),
                    ],
                ))
            }
            Service::Files => Err(ContainerError {
                service: service.name(),
                image: "none".into(),
                message: "a data directory has no container".into(),
            }),
        }
    }

    async fn run(
        &mut self,
        service: Service,
        (name, tag): (&str, &str),
        port: u16,
        waits: Vec<WaitFor>,
        configure: impl FnOnce(
            testcontainers_modules::testcontainers::ContainerRequest<GenericImage>,
        )
            -> testcontainers_modules::testcontainers::ContainerRequest<GenericImage>,
    ) -> Result<u16, ContainerError> {
        let error = |message: String| ContainerError {
            service: service.name(),
            image: format!("{name}:{tag}"),
            message,
        };
        let mut image = GenericImage::new(name, tag).with_exposed_port(port.tcp());
        for wait in waits {
            image = image.with_wait_for(wait);
        }
        let request = configure(image.with_startup_timeout(Duration::from_secs(120)));
        let container = request.start().await.map_err(|e| error(e.to_string()))?;
        let host_port = container
            .get_host_port_ipv4(port.tcp())
            .await
            .map_err(|e| error(e.to_string()))?;
        self.running.push(container);
        Ok(host_port)
    }
}

fn started(url: String, (name, tag): (&str, &str), extra_env: Vec<(String, String)>) -> Started {
    Started {
        url,
        image: format!("{name}:{tag}"),
        extra_env,
    }
}
