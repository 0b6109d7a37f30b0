//! Ports, loopback-only publishing, isolation between the tiers, and the flags the servers
//! run with.

use crate::support::*;

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
