//! The container path, on a real Docker engine: Postgres, MariaDB and Redis started from the
//! compose file's images and init scripts, then spoken to over their protocols. Ignored by
//! default because it needs an engine; `scripts/test.sh` runs it with `--ignored` where one
//! answers and says it was not run where none does.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use mcp_slo_backends::{Choice, Containers, Service, System, decide, provision};
use mcp_slo_core::result::BackendSource;

fn port_of(url: &str) -> u16 {
    let authority = url.split("://").nth(1).unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let port = host_port.split(['/', ':']).nth(1).unwrap_or_default();
    port.parse().unwrap_or_else(|_| panic!("a port in {url}"))
}

#[tokio::test]
#[ignore = "needs a Docker engine (scripts/test.sh runs it with --ignored where one answers)"]
async fn containers_come_up_with_the_compose_fixtures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let decisions = decide(
        &[Service::Postgres, Service::Mysql, Service::Cache],
        Choice::Containers,
        &System,
    )
    .expect("a Docker engine answers");
    assert!(
        decisions
            .iter()
            .all(|d| d.source == BackendSource::Container)
    );
    let dir = tempfile::tempdir().unwrap();
    let mut containers = Containers::default();
    let plan = provision(&decisions, dir.path(), &root, &mut containers)
        .await
        .expect("containers start");
    assert_eq!(containers.len(), 3);
    let url = |var: &str| {
        plan.env
            .iter()
            .find(|(k, _)| k == var)
            .and_then(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{var} set: {:?}", plan.env))
    };
    // Redis answers PING.
    let mut redis = TcpStream::connect(("127.0.0.1", port_of(&url("REDIS_URL")))).unwrap();
    redis
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    redis.write_all(b"PING\r\n").unwrap();
    let mut answer = [0u8; 7];
    redis.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"+PONG\r\n");
    // Postgres answers an SSLRequest (the first message of every connection) with 'N' or 'S'.
    let mut pg = TcpStream::connect(("127.0.0.1", port_of(&url("DATABASE_URL")))).unwrap();
    pg.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    pg.write_all(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]).unwrap();
    let mut byte = [0u8; 1];
    pg.read_exact(&mut byte).unwrap();
    assert!(matches!(&byte, b"N" | b"S"), "{byte:?}");
    // MariaDB greets with protocol version 10.
    let mut my = TcpStream::connect(("127.0.0.1", port_of(&url("MYSQL_URL")))).unwrap();
    my.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut greeting = [0u8; 5];
    my.read_exact(&mut greeting).unwrap();
    assert_eq!(greeting[4], 10, "handshake v10");
    drop(containers);
}
