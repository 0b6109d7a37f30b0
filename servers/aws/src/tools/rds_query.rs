//! `rds_query {cluster_identifier, query, params?, secret_arn?, database?}`: one statement
//! through the RDS Data API (ExecuteStatement), classified by the same rules as the local
//! tier's SQL tools, values bound as named parameters (`:name`).

use aws_sdk_rdsdata::types::{Field, SqlParameter};
use base64::Engine as _;
use futures::future::BoxFuture;
use mcp_server_core::config::ToolConfig;
use mcp_server_core::registry::{ToolCall, ToolError, ToolHandler, ToolOutput};
use mcp_server_core::sql::{Classifier, SqlDialect};
use serde_json::{Map, Value, json};

use super::sdk::{AttemptCounter, deadline, sdk_error};

pub struct RdsQuery {
    classifier: Classifier,
    client: aws_sdk_rdsdata::Client,
    role: String,
    region: String,
    max_rows: usize,
}

impl RdsQuery {
    pub fn new(client: aws_sdk_rdsdata::Client, config: &ToolConfig, region: &str) -> Self {
        RdsQuery {
            classifier: Classifier::new(SqlDialect::Postgres),
            client,
            role: config.security.iam_role.clone().unwrap_or_default(),
            region: region.to_owned(),
            max_rows: config.options.max_rows.unwrap_or(1000),
        }
    }

    /// `agents` → `arn:aws:rds:<region>:<account of the role>:cluster:agents`.
    fn cluster_arn(&self, id: &str) -> String {
        if id.starts_with("arn:") {
            return id.to_owned();
        }
        let account = self.role.split(':').nth(4).unwrap_or("000000000000");
        format!("arn:aws:rds:{}:{account}:cluster:{id}", self.region)
    }

    async fn run(&self, call: ToolCall<'_>) -> Result<ToolOutput, ToolError> {
        let cluster = call
            .str_arg("cluster_identifier")
            .ok_or_else(|| ToolError::invalid("missing required argument `cluster_identifier`"))?;
        let query = call
            .str_arg("query")
            .ok_or_else(|| ToolError::invalid("missing required argument `query`"))?;
        let secret = call.str_arg("secret_arn").ok_or_else(|| {
            ToolError::invalid(
                "missing argument `secret_arn` (the Data API needs the database secret)",
            )
        })?;
        let classified = self.classifier.classify(query).map_err(|e| match e {
            mcp_server_core::sql::SqlError::Syntax(_) | mcp_server_core::sql::SqlError::Empty => {
                ToolError::invalid(e.to_string())
            }
            other => ToolError::refused(other.to_string()),
        })?;
        let parameters = match call.args.get("params") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(k, v)| parameter(k, v))
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(ToolError::invalid(
                    "`params` must be an object of named parameters, e.g. {\"id\": 42} for :id",
                ));
            }
        };
        let arn = self.cluster_arn(cluster);
        call.report.role(&self.role);
        let attempts = AttemptCounter::default();
        let mut request = self
            .client
            .execute_statement()
            .resource_arn(&arn)
            .secret_arn(secret)
            .sql(query)
            .set_parameters(Some(parameters))
            .include_result_metadata(true);
        if let Some(db) = call.str_arg("database") {
            request = request.database(db);
        }
        let answer = request
            .customize()
            .interceptor(attempts.clone())
            .config_override(
                aws_sdk_rdsdata::config::Builder::new().timeout_config(deadline(call.remaining())),
            )
            .send()
            .await;
        attempts.report(call.report);
        let out =
            answer.map_err(|e| sdk_error(e, &self.role, "rds-data:ExecuteStatement", &arn))?;
        let columns: Vec<(String, String)> = out
            .column_metadata()
            .iter()
            .map(|c| {
                (
                    c.name().unwrap_or_default().to_owned(),
                    c.type_name().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let records = out.records();
        let truncated = records.len() > self.max_rows;
        let rows: Vec<Value> = records
            .iter()
            .take(self.max_rows)
            .map(|record| {
                let mut row = Map::new();
                for (i, field) in record.iter().enumerate() {
                    let name = columns
                        .get(i)
                        .map_or_else(|| format!("column_{i}"), |c| c.0.clone());
                    row.insert(name, field_json(field));
                }
                Value::Object(row)
            })
            .collect();
        Ok(ToolOutput::json(json!({
            "cluster": arn,
            "statement": classified.class.as_str(),
            "columns": columns.iter().map(|(n, t)| json!({"name": n, "type": t})).collect::<Vec<_>>(),
            "rows": rows,
            "row_count": rows.len(),
            "truncated": truncated,
            "rows_affected": out.number_of_records_updated(),
        })))
    }
}

fn parameter(name: &str, value: &Value) -> Result<SqlParameter, ToolError> {
    let field = match value {
        Value::Null => Field::IsNull(true),
        Value::Bool(b) => Field::BooleanValue(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Field::LongValue(i),
            None => Field::DoubleValue(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Field::StringValue(s.clone()),
        other => Field::StringValue(other.to_string()),
    };
    Ok(SqlParameter::builder().name(name).value(field).build())
}

fn field_json(field: &Field) -> Value {
    match field {
        Field::IsNull(_) => Value::Null,
        Field::BooleanValue(b) => json!(b),
        Field::LongValue(l) => json!(l),
        Field::DoubleValue(d) => json!(d),
        Field::StringValue(s) => json!(s),
        Field::BlobValue(b) => {
            json!({"base64": base64::engine::general_purpose::STANDARD.encode(b.as_ref())})
        }
        Field::ArrayValue(a) => json!(format!("{a:?}")),
        _ => Value::Null,
    }
}

impl ToolHandler for RdsQuery {
    fn call<'a>(&'a self, call: ToolCall<'a>) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(self.run(call))
    }
}
