//! `docker/localstack/seed/world.json`, the AWS test world that both emulators' provisioners
//! read (the LocalStack READY hook and `scripts/moto/provision.py`, each through
//! `seed/world.py`): read here on its own (placeholders, object contents), and built for
//! real by each provisioner on a fresh moto server of its own, then listed by
//! `scripts/moto/inventory.py` and compared with the file. The READY hook runs unchanged,
//! with an `awslocal` that is the AWS CLI pointed at moto; only Docker and LocalStack itself
//! are left out. Needs moto's venv (`scripts/setup-moto.sh`) and the AWS CLI
//! (`scripts/moto/install-awscli.sh`): with `MCP_SLO_REQUIRE_SERVICES=1` a missing one fails
//! the test, otherwise the test says it was skipped.
//!
//! `expected` decodes the file into what must exist, `process` finds and runs the programs,
//! `emulators` starts moto and runs the provisioners, `inventory` lists what they made, and
//! `compare` names every difference.

mod compare;
mod emulators;
mod expected;
mod inventory;
mod process;

use compare::{Provisioner, compare, keys};
use emulators::{Moto, free_port, run_hook, run_provision};
use expected::World;
pub(crate) use expected::world;
use process::{Tools, show, tools};

use crate::support::*;

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
    let functions = world.raw["functions"].as_array().expect("functions");
    for f in functions {
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
    for f in functions {
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

    let markers = scratch.join("markers");
    let made_by_hook = built_by_the_hook(&tools, scratch, &world, &for_hook, &markers);
    let made_by_provision = built_by_provision(&tools, scratch, &world, &for_provision);
    same_code_and_bytes(&world, &made_by_hook, &made_by_provision);

    // A hook that cannot finish leaves no marker (an old one included): the health check
    // keeps the container unhealthy.
    drop(for_hook);
    a_failed_hook_leaves_no_marker(&tools, scratch, &markers);
}

/// The READY hook, against moto standing in for LocalStack, and what it made compared with
/// the file.
fn built_by_the_hook(
    tools: &Tools,
    scratch: &Path,
    world: &World,
    moto: &Moto,
    markers: &Path,
) -> Value {
    // moto reports a new function Active at once, so the hook's wait for State passes on
    // the first look.
    moto.run_lambda_without_docker();
    let hook = run_hook(tools, scratch, &moto.endpoint(), markers, 3);
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
    let made = moto.inventory(tools, scratch, world);
    compare(Provisioner::ReadyHook, world, &made);
    made
}

/// provision.py, as setup-moto.sh runs it, and what it made compared with the file.
fn built_by_provision(tools: &Tools, scratch: &Path, world: &World, moto: &Moto) -> Value {
    let provision = run_provision(tools, scratch, moto);
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
    let made = moto.inventory(tools, scratch, world);
    compare(Provisioner::Provision, world, &made);
    made
}

/// The same code and the same bytes in both.
fn same_code_and_bytes(world: &World, made_by_hook: &Value, made_by_provision: &Value) {
    for name in world.function_names() {
        let sha = |inv: &Value| inv["functions"][&name]["code_sha256"].clone();
        assert!(
            sha(made_by_hook).is_string() && sha(made_by_hook) == sha(made_by_provision),
            "{name}: CodeSha256 {} (hook) and {} (provision.py) differ",
            sha(made_by_hook),
            sha(made_by_provision)
        );
    }
    for key in keys(&made_by_hook["buckets"][&world.bucket]["objects"]) {
        let sha = |inv: &Value| inv["buckets"][&world.bucket]["objects"][&key]["sha256"].clone();
        eprintln!("s3://{}/{key} sha256 {}", world.bucket, sha(made_by_hook));
        assert_eq!(sha(made_by_hook), sha(made_by_provision), "{key}");
    }
}

/// The hook against an endpoint nothing listens on, over an old marker.
fn a_failed_hook_leaves_no_marker(tools: &Tools, scratch: &Path, markers: &Path) {
    std::fs::write(markers.join("provisioned"), "").expect("old marker");
    let dead = free_port();
    // One attempt per request: nothing listens, so retrying only takes longer.
    let failed = run_hook(
        tools,
        scratch,
        &format!("http://127.0.0.1:{dead}"),
        markers,
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
