//! The registry's listing, paging, caller views and families.

use super::*;
use crate::config::{ParamKind, ParamSpec, ToolOptions, ToolSecurity};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

struct Echo;
impl ToolHandler for Echo {
    fn call<'a>(&'a self, call: ToolCall<'a>) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move { Ok(ToolOutput::json(Value::Object(call.args.clone()))) })
    }
}

pub(crate) fn tool(name: &str) -> RegisteredTool {
    let config = ToolConfig {
        name: name.into(),
        description: "test tool".into(),
        category: Category::Database,
        parameters: vec![ParamSpec {
            name: "q".into(),
            kind: ParamKind::String,
            description: None,
            default: None,
            required: true,
        }],
        security: ToolSecurity::default(),
        options: ToolOptions::default(),
    };
    RegisteredTool::new(Tier::Local, config, Arc::new(Echo))
}

#[test]
fn listing_pages_through_250_tools_without_gaps_or_repeats() {
    let registry = ToolRegistry::new(100);
    for i in 0..250 {
        registry
            .register(tool(&format!("sql_tool_{i:03}")))
            .unwrap();
    }
    let caller = Caller::anonymous("test");
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = registry.list(cursor.as_deref(), &caller).unwrap();
        pages += 1;
        seen.extend(page.tools.iter().map(|t| t.name().to_string()));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 250);
    let mut sorted = seen.clone();
    sorted.dedup();
    assert_eq!(sorted.len(), 250);
}

#[test]
fn tools_that_mirror_arguments_into_headers_are_known() {
    let registry = ToolRegistry::new(10);
    registry.register(tool("plain")).unwrap();
    let mut marked = tool("marked");
    let mut schema = (*marked.descriptor.input_schema).clone();
    schema["properties"]["q"]["x-mcp-header"] = Value::from("Query");
    marked.descriptor.input_schema = Arc::new(schema);
    registry.register(marked).unwrap();
    assert!(!registry.mirrors_params("plain"));
    assert!(registry.mirrors_params("marked"));
    assert!(!registry.mirrors_params("unknown"));
}

#[test]
fn a_forged_cursor_is_refused() {
    let registry = ToolRegistry::new(10);
    let caller = Caller::anonymous("test");
    assert_eq!(
        registry.list(Some("not base64!"), &caller).err(),
        Some(RegistryError::BadCursor)
    );
    let forged = URL_SAFE_NO_PAD.encode("v0:x");
    assert_eq!(
        registry.list(Some(&forged), &caller).err(),
        Some(RegistryError::BadCursor)
    );
}

#[test]
fn callers_see_and_get_only_their_tools() {
    let registry = ToolRegistry::new(10);
    registry.register(tool("a_tool")).unwrap();
    registry.register(tool("b_tool")).unwrap();
    let caller = Caller::with_tools("alice", ["b_tool".to_string()]);
    let page = registry.list(None, &caller).unwrap();
    assert_eq!(
        page.tools.iter().map(|t| t.name()).collect::<Vec<_>>(),
        vec!["b_tool"]
    );
    assert!(registry.get("a_tool", &caller).is_none());
    assert!(registry.get("b_tool", &caller).is_some());
}

#[test]
fn registration_bumps_the_version_and_refuses_duplicates() {
    let registry = ToolRegistry::new(10);
    let rx = registry.subscribe();
    registry.register(tool("a_tool")).unwrap();
    assert_eq!(*rx.borrow(), 1);
    assert_eq!(
        registry.register(tool("a_tool")).err(),
        Some(RegistryError::Duplicate("a_tool".into()))
    );
    assert!(registry.unregister("a_tool"));
    assert_eq!(*rx.borrow(), 2);
    assert!(registry.is_empty());
}

#[test]
fn a_family_is_replaced_as_one_change_and_not_at_all_when_unchanged() {
    let registry = ToolRegistry::new(10);
    registry.register(tool("hand_written")).unwrap();
    let generated = |names: &[&str]| names.iter().map(|n| tool(n)).collect::<Vec<_>>();
    let tables = Membership {
        family: "tables".into(),
        base: "postgres_query".into(),
        callers: None,
    };
    let version = registry.version();
    let change = registry.replace_family(&tables, generated(&["t_a", "t_b", "hand_written"]));
    assert_eq!(change.tools, 2);
    assert_eq!(change.clashes, vec!["hand_written".to_owned()]);
    assert!(change.changed);
    assert_eq!(registry.version(), version + 1, "one change, one version");
    assert_eq!(registry.len(), 3);

    let change = registry.replace_family(&tables, generated(&["t_a", "t_b"]));
    assert!(!change.changed, "{change:?}");
    assert_eq!(
        registry.version(),
        version + 1,
        "the same family again changes nothing"
    );

    let change = registry.replace_family(&tables, generated(&["t_b", "t_c"]));
    assert_eq!((change.tools, change.unchanged, change.removed), (2, 1, 2));
    assert_eq!(registry.version(), version + 2);
    assert!(!registry.contains("t_a") && registry.contains("t_c"));
    assert!(
        registry.contains("hand_written"),
        "tools outside the family stay"
    );
    assert_eq!(
        registry
            .get("t_c", &Caller::anonymous("test"))
            .and_then(|t| t.family.clone()),
        Some(Arc::new(tables))
    );
}

#[test]
fn a_familys_tools_are_for_callers_of_its_base_and_a_scoped_one_for_its_callers_only() {
    let registry = ToolRegistry::new(10);
    let member = |family: &str, callers: Option<&[&str]>| Membership {
        family: family.into(),
        base: "s3_read".into(),
        callers: callers.map(|c| c.iter().map(|p| (*p).to_owned()).collect()),
    };
    registry.replace_family(&member("notes", Some(&["console"])), vec![tool("s3_notes")]);
    registry.replace_family(&member("open", None), vec![tool("s3_open")]);
    let names = |caller: &Caller| {
        let page = registry.list(None, caller).unwrap();
        page.tools
            .iter()
            .map(|t| t.name().to_string())
            .collect::<Vec<_>>()
    };
    let reads = |principal: &str| Caller::with_tools(principal, ["s3_read".to_owned()]);
    assert_eq!(names(&reads("console")), ["s3_notes", "s3_open"]);
    assert_eq!(names(&reads("reader")), ["s3_open"]);
    assert!(registry.get("s3_notes", &reads("reader")).is_none());
    assert!(registry.get("s3_notes", &reads("console")).is_some());
    let invokes = Caller::with_tools("console", ["lambda_invoke".to_owned()]);
    assert!(
        names(&invokes).is_empty(),
        "in the scope but not allowed the base"
    );
    assert_eq!(
        names(&Caller::anonymous("127.0.0.1")),
        ["s3_open"],
        "an unauthenticated caller is in no scope"
    );
}
