//! Statement classification with a real SQL parser, shared by every SQL tool of both tiers.
//!
//! A tool call runs exactly one statement, and only the classes the seed lists (SELECT,
//! INSERT, UPDATE, DELETE). Everything else (DDL, COPY, SET, transaction control, several
//! statements in one string, `SELECT ... INTO`) is refused before it reaches a database.

use sqlparser::ast::{Query, SetExpr, Statement};
use sqlparser::dialect::{Dialect, MySqlDialect, PostgreSqlDialect};
use sqlparser::parser::Parser;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlDialect {
    Postgres,
    MySql,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum StatementClass {
    Select,
    Insert,
    Update,
    Delete,
}

impl StatementClass {
    pub fn as_str(self) -> &'static str {
        match self {
            StatementClass::Select => "SELECT",
            StatementClass::Insert => "INSERT",
            StatementClass::Update => "UPDATE",
            StatementClass::Delete => "DELETE",
        }
    }
}

/// A statement that may run, with what we learned about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classified {
    pub class: StatementClass,
    /// True when the statement cannot change data (no writing CTE, no row locks): only these
    /// results may be cached.
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqlError {
    #[error("the query is empty")]
    Empty,
    #[error("SQL syntax error: {0}")]
    Syntax(String),
    #[error("one statement per call: found {0} statements")]
    Multiple(usize),
    #[error("{0} statements are not allowed: only SELECT, INSERT, UPDATE and DELETE may run")]
    Refused(String),
}

/// `classify` with a memory: load repeats the same statements, and parsing is a few
/// percent of a call's CPU. Holds at most `CACHED` statements (cleared when full).
pub struct Classifier {
    dialect: SqlDialect,
    cache: std::sync::Mutex<std::collections::HashMap<String, Result<Classified, SqlError>>>,
}

const CACHED: usize = 4096;

impl Classifier {
    pub fn new(dialect: SqlDialect) -> Self {
        Classifier {
            dialect,
            cache: Default::default(),
        }
    }

    pub fn classify(&self, sql: &str) -> Result<Classified, SqlError> {
        if let Ok(cache) = self.cache.lock()
            && let Some(known) = cache.get(sql)
        {
            return known.clone();
        }
        let result = classify(sql, self.dialect);
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHED {
                cache.clear();
            }
            cache.insert(sql.to_owned(), result.clone());
        }
        result
    }
}

/// Parses `sql` and decides whether it may run.
pub fn classify(sql: &str, dialect: SqlDialect) -> Result<Classified, SqlError> {
    if sql.trim().trim_matches(';').trim().is_empty() {
        return Err(SqlError::Empty);
    }
    let dialect: &dyn Dialect = match dialect {
        SqlDialect::Postgres => &PostgreSqlDialect {},
        SqlDialect::MySql => &MySqlDialect {},
    };
    let statements =
        Parser::parse_sql(dialect, sql).map_err(|e| SqlError::Syntax(e.to_string()))?;
    match statements.as_slice() {
        [] => Err(SqlError::Empty),
        [one] => classify_statement(one),
        many => Err(SqlError::Multiple(many.len())),
    }
}

fn classify_statement(statement: &Statement) -> Result<Classified, SqlError> {
    let class = match statement {
        Statement::Query(query) => return classify_query(query),
        Statement::Insert(insert) => {
            if let Some(source) = &insert.source {
                check_query(source)?;
            }
            StatementClass::Insert
        }
        Statement::Update(_) => StatementClass::Update,
        Statement::Delete(_) => StatementClass::Delete,
        other => return Err(SqlError::Refused(statement_kind(other))),
    };
    Ok(Classified {
        class,
        read_only: false,
    })
}

fn classify_query(query: &Query) -> Result<Classified, SqlError> {
    let writes = check_query(query)?;
    Ok(Classified {
        class: StatementClass::Select,
        read_only: !writes && query.locks.is_empty() && query.for_clause.is_none(),
    })
}

/// Walks a query; returns whether any part of it writes (a data-modifying CTE).
fn check_query(query: &Query) -> Result<bool, SqlError> {
    let mut writes = false;
    if let Some(with) = &query.with {
        for cte in &with.cte_tables {
            writes |= check_query(&cte.query)?;
        }
    }
    writes |= check_set_expr(&query.body)?;
    Ok(writes)
}

fn check_set_expr(body: &SetExpr) -> Result<bool, SqlError> {
    match body {
        SetExpr::Select(select) => {
            if select.into.is_some() {
                return Err(SqlError::Refused("SELECT ... INTO".into()));
            }
            Ok(false)
        }
        SetExpr::Query(query) => check_query(query),
        SetExpr::SetOperation { left, right, .. } => {
            Ok(check_set_expr(left)? | check_set_expr(right)?)
        }
        SetExpr::Values(_) | SetExpr::Table(_) => Ok(false),
        SetExpr::Insert(s) | SetExpr::Update(s) | SetExpr::Delete(s) => {
            classify_statement(s)?;
            Ok(true)
        }
        SetExpr::Merge(_) => Err(SqlError::Refused("MERGE".into())),
    }
}

/// A short name for a refused statement: its leading keywords, e.g. `DROP TABLE`.
fn statement_kind(statement: &Statement) -> String {
    let text = statement.to_string();
    let words: Vec<&str> = text
        .split_whitespace()
        .take(2)
        .take_while(|w| w.chars().all(|c| c.is_ascii_alphabetic() || c == '_'))
        .collect();
    match words.as_slice() {
        [] => "this kind of".to_string(),
        [first, second]
            if matches!(
                first.to_ascii_uppercase().as_str(),
                "CREATE" | "DROP" | "ALTER"
            ) =>
        {
            format!(
                "{} {}",
                first.to_ascii_uppercase(),
                second.to_ascii_uppercase()
            )
        }
        [first, ..] => first.to_ascii_uppercase(),
    }
}

/// Postgres' numbered placeholders (`$1`, `$2`, ...) as SQLite's (`?1`, `?2`, ...): SQLite
/// reads `$1` as a *named* parameter numbered by first appearance, so `... $2 ... $1`
/// would bind the wrong values. Only placeholder tokens change: strings, quoted names and
/// comments that contain `$1` are left alone (the tokenizer knows which is which).
pub fn numbered_placeholders(sql: &str) -> Result<String, SqlError> {
    use sqlparser::tokenizer::{Token, Tokenizer};
    let dialect = PostgreSqlDialect {};
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| SqlError::Syntax(e.to_string()))?;
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(sql.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let mut out = sql.as_bytes().to_vec();
    for t in tokens {
        let Token::Placeholder(p) = &t.token else {
            continue;
        };
        let Some(digits) = p.strip_prefix('$') else {
            continue;
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let (line, column) = (t.span.start.line as usize, t.span.start.column as usize);
        let start = line_starts.get(line.wrapping_sub(1)).copied();
        let offset = start.and_then(|start| {
            sql[start..]
                .char_indices()
                .nth(column.wrapping_sub(1))
                .map(|(i, _)| start + i)
        });
        match offset {
            Some(at) if out.get(at) == Some(&b'$') => out[at] = b'?',
            _ => {
                return Err(SqlError::Syntax(format!(
                    "cannot locate placeholder {p} at line {line}, column {column}"
                )));
            }
        }
    }
    // Only ASCII '$' bytes were replaced by ASCII '?': still UTF-8.
    String::from_utf8(out).map_err(|e| SqlError::Syntax(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_classes_run() {
        let cases = [
            (
                "SELECT * FROM orders WHERE id = $1",
                StatementClass::Select,
                true,
            ),
            ("select 1;", StatementClass::Select, true),
            (
                "WITH t AS (SELECT 1) SELECT * FROM t",
                StatementClass::Select,
                true,
            ),
            ("SELECT 1 UNION SELECT 2", StatementClass::Select, true),
            (
                "SELECT * FROM orders FOR UPDATE",
                StatementClass::Select,
                false,
            ),
            (
                "WITH d AS (DELETE FROM orders RETURNING id) SELECT * FROM d",
                StatementClass::Select,
                false,
            ),
            (
                "INSERT INTO orders (id) VALUES ($1)",
                StatementClass::Insert,
                false,
            ),
            (
                "UPDATE orders SET status = 'x' WHERE id = 1",
                StatementClass::Update,
                false,
            ),
            (
                "DELETE FROM orders WHERE id = 1",
                StatementClass::Delete,
                false,
            ),
        ];
        for (sql, class, read_only) in cases {
            let c = classify(sql, SqlDialect::Postgres).unwrap_or_else(|e| panic!("{sql}: {e}"));
            assert_eq!((c.class, c.read_only), (class, read_only), "{sql}");
        }
    }

    #[test]
    fn everything_else_is_refused_with_its_kind() {
        let cases = [
            (
                "DROP TABLE orders",
                "DROP TABLE statements are not allowed: only SELECT, INSERT, UPDATE and DELETE may run",
            ),
            (
                "create table x (a int)",
                "CREATE TABLE statements are not allowed: only SELECT, INSERT, UPDATE and DELETE may run",
            ),
            (
                "TRUNCATE orders",
                "TRUNCATE statements are not allowed: only SELECT, INSERT, UPDATE and DELETE may run",
            ),
            (
                "COPY orders TO '/tmp/x'",
                "COPY statements are not allowed: only SELECT, INSERT, UPDATE and DELETE may run",
            ),
            (
                "SET statement_timeout = 0",
                "SET statements are not allowed: only SELECT, INSERT, UPDATE and DELETE may run",
            ),
            (
                "BEGIN",
                "BEGIN statements are not allowed: only SELECT, INSERT, UPDATE and DELETE may run",
            ),
            (
                "COMMIT",
                "COMMIT statements are not allowed: only SELECT, INSERT, UPDATE and DELETE may run",
            ),
            (
                "GRANT ALL ON orders TO public",
                "GRANT statements are not allowed: only SELECT, INSERT, UPDATE and DELETE may run",
            ),
            (
                "SELECT * INTO copy FROM orders",
                "SELECT ... INTO statements are not allowed: only SELECT, INSERT, UPDATE and DELETE may run",
            ),
            (
                "SELECT 1; DROP TABLE orders",
                "one statement per call: found 2 statements",
            ),
            (
                "SELECT 1; SELECT 2",
                "one statement per call: found 2 statements",
            ),
            ("  ; ", "the query is empty"),
        ];
        for (sql, message) in cases {
            let err = classify(sql, SqlDialect::Postgres).unwrap_err();
            assert_eq!(err.to_string(), message, "{sql}");
        }
    }

    #[test]
    fn syntax_errors_say_where() {
        let err = classify("SELEC * FROM orders", SqlDialect::Postgres).unwrap_err();
        assert!(matches!(err, SqlError::Syntax(_)));
        assert!(err.to_string().contains("Line: 1, Column: 1"), "{err}");
    }

    #[test]
    fn the_classifier_remembers_answers_and_stays_bounded() {
        let c = Classifier::new(SqlDialect::Postgres);
        for i in 0..(CACHED + 10) {
            let sql = format!("SELECT {i}");
            assert_eq!(c.classify(&sql), classify(&sql, SqlDialect::Postgres));
        }
        assert!(c.cache.lock().unwrap().len() <= CACHED);
        assert_eq!(
            c.classify("DROP TABLE t"),
            classify("DROP TABLE t", SqlDialect::Postgres)
        );
        assert!(
            c.classify("DROP TABLE t").is_err(),
            "a cached refusal is still a refusal"
        );
    }

    #[test]
    fn mysql_dialect_classifies_too() {
        let c = classify("SELECT * FROM orders WHERE id = ?", SqlDialect::MySql).unwrap();
        assert_eq!(c.class, StatementClass::Select);
        assert!(
            classify(
                "LOAD DATA INFILE '/etc/passwd' INTO TABLE t",
                SqlDialect::MySql
            )
            .is_err()
        );
    }

    #[test]
    fn numbered_placeholders_change_only_placeholders() {
        let n = |q: &str| super::numbered_placeholders(q);
        assert_eq!(
            n("SELECT * FROM t WHERE a = $2 AND b = $1").as_deref(),
            Ok("SELECT * FROM t WHERE a = ?2 AND b = ?1")
        );
        assert_eq!(
            n("SELECT 'é $1', \"$2\", $1 -- $3\n, $10").as_deref(),
            Ok("SELECT 'é $1', \"$2\", ?1 -- $3\n, ?10")
        );
        assert_eq!(
            n("SELECT 'it''s', $$body $1$$, $1").as_deref(),
            Ok("SELECT 'it''s', $$body $1$$, ?1")
        );
        assert!(matches!(n("SELECT 'open"), Err(SqlError::Syntax(_))));
    }
}
