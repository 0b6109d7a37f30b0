//! Health checks, start order, image tags, the Dockerfile, the compose scenario and the
//! mounted scripts.

use crate::support::*;

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
