//! The SQL classifier on any text, in both dialects: it never panics, and what it admits
//! is exactly one statement, of the class it says (SELECT, INSERT, UPDATE or DELETE), as
//! the parser itself reads it; a read-only one is a SELECT.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_server_core::sql::{SqlDialect, StatementClass, classify};
use sqlparser::ast::Statement;
use sqlparser::dialect::{Dialect, MySqlDialect, PostgreSqlDialect};
use sqlparser::parser::Parser;

fuzz_target!(|data: &[u8]| {
    let Ok(sql) = std::str::from_utf8(data) else {
        return;
    };
    for (dialect, parser) in [
        (SqlDialect::Postgres, &PostgreSqlDialect {} as &dyn Dialect),
        (SqlDialect::MySql, &MySqlDialect {} as &dyn Dialect),
    ] {
        let Ok(classified) = classify(sql, dialect) else {
            continue;
        };
        let statements = Parser::parse_sql(parser, sql).expect("an admitted statement parses");
        assert_eq!(statements.len(), 1, "admitted {sql:?} holds {statements:?}");
        let matches = matches!(
            (&statements[0], classified.class),
            (Statement::Query(_), StatementClass::Select)
                | (Statement::Insert(_), StatementClass::Insert)
                | (Statement::Update(_), StatementClass::Update)
                | (Statement::Delete(_), StatementClass::Delete)
        );
        assert!(
            matches,
            "{sql:?} classified {classified:?} but parses as {statements:?}"
        );
        assert!(
            !classified.read_only || classified.class == StatementClass::Select,
            "{sql:?}: only a SELECT may be read-only ({classified:?})"
        );
    }
});
