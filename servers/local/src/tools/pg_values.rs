//! JSON values to Postgres parameters and Postgres values to JSON, by the types Postgres
//! itself gives: a statement's parameter types come from preparing it, so `42` binds as
//! `int4` where the column is `int4`, and `"2024-05-01"` as a `date` where a date is due.

use std::borrow::Cow;
use std::error::Error;

use base64::Engine as _;

use bytes::BytesMut;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use mcp_server_core::registry::ToolError;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, IsNull, Kind, ToSql, Type, to_sql_checked};

use super::sql_rows::bytes_to_json;

/// One parameter, converted to the type Postgres expects for it.
#[derive(Debug)]
pub enum Param<'a> {
    Null,
    Bool(bool),
    I16(i16),
    I32(i32),
    I64(i64),
    Oid(u32),
    F32(f32),
    F64(f64),
    Numeric(Decimal),
    Json(&'a Value),
    Uuid(uuid::Uuid),
    TimestampTz(DateTime<Utc>),
    Timestamp(NaiveDateTime),
    Date(NaiveDate),
    Time(NaiveTime),
    Bytes(Cow<'a, [u8]>),
    Text(Cow<'a, str>),
}

/// Converts `values` to the statement's parameter `types`; an error names the parameter.
pub fn bind<'a>(types: &[Type], values: &'a [Value]) -> Result<Vec<Param<'a>>, ToolError> {
    if types.len() != values.len() {
        return Err(ToolError::invalid(format!(
            "the statement takes {} parameter(s) but {} were given in `params`",
            types.len(),
            values.len()
        )));
    }
    types
        .iter()
        .zip(values)
        .enumerate()
        .map(|(i, (ty, value))| {
            param(ty, value).map_err(|why| {
                ToolError::invalid(format!("params[{i}] (${}, {}): {why}", i + 1, ty.name()))
            })
        })
        .collect()
}

fn param<'a>(ty: &Type, value: &'a Value) -> Result<Param<'a>, String> {
    if value.is_null() {
        return Ok(Param::Null);
    }
    let int = || numeric(value, "an integer", serde_json::Number::as_i64);
    let float = || numeric(value, "a number", serde_json::Number::as_f64);
    let text = || -> Result<&'a str, String> {
        value
            .as_str()
            .ok_or_else(|| format!("expected a string, got {}", kind(value)))
    };
    let range = |n: i64| format!("{n} is out of range");
    Ok(match *ty {
        Type::BOOL => match value {
            Value::Bool(b) => Param::Bool(*b),
            other => return Err(format!("expected true or false, got {}", kind(other))),
        },
        Type::INT2 => {
            let n = int()?;
            Param::I16(n.try_into().map_err(|_| range(n))?)
        }
        Type::INT4 => {
            let n = int()?;
            Param::I32(n.try_into().map_err(|_| range(n))?)
        }
        Type::INT8 => Param::I64(int()?),
        Type::OID => {
            let n = int()?;
            Param::Oid(n.try_into().map_err(|_| range(n))?)
        }
        // Narrowing to f32 is what a float4 column stores anyway.
        Type::FLOAT4 => Param::F32(float()? as f32),
        Type::FLOAT8 => Param::F64(float()?),
        Type::NUMERIC => {
            let digits = match value {
                Value::Number(n) => n.to_string(),
                Value::String(s) => s.trim().to_owned(),
                other => return Err(format!("expected a number, got {}", kind(other))),
            };
            Param::Numeric(
                Decimal::from_str_exact(&digits)
                    .or_else(|_| Decimal::from_scientific(&digits))
                    .map_err(|e| format!("{digits:?} is not a decimal: {e}"))?,
            )
        }
        Type::JSON | Type::JSONB => Param::Json(value),
        Type::UUID => Param::Uuid(text()?.parse().map_err(|e| format!("not a UUID: {e}"))?),
        Type::TIMESTAMPTZ => Param::TimestampTz(
            DateTime::<FixedOffset>::parse_from_rfc3339(text()?)
                .map_err(|e| format!("not an RFC 3339 timestamp: {e}"))?
                .with_timezone(&Utc),
        ),
        Type::TIMESTAMP => {
            let s = text()?;
            Param::Timestamp(
                NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                    .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f"))
                    .map_err(|e| format!("not a timestamp (YYYY-MM-DDTHH:MM:SS): {e}"))?,
            )
        }
        Type::DATE => Param::Date(
            text()?
                .parse()
                .map_err(|e| format!("not a date (YYYY-MM-DD): {e}"))?,
        ),
        Type::TIME => Param::Time(
            text()?
                .parse()
                .map_err(|e| format!("not a time (HH:MM:SS): {e}"))?,
        ),
        // What a bytea column comes back as, or a string's UTF-8 bytes.
        Type::BYTEA => match value.get("base64").and_then(Value::as_str) {
            Some(encoded) => Param::Bytes(Cow::Owned(
                base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .map_err(|e| format!("not base64: {e}"))?,
            )),
            None => Param::Bytes(Cow::Borrowed(text()?.as_bytes())),
        },
        _ if is_text(ty) => match value {
            Value::String(s) => Param::Text(Cow::Borrowed(s)),
            Value::Number(_) | Value::Bool(_) => Param::Text(Cow::Owned(value.to_string())),
            other => return Err(format!("expected a string, got {}", kind(other))),
        },
        _ => return Err(format!("cannot bind {} to this type", kind(value))),
    })
}

/// A JSON number, or a string holding one, as `T`.
fn numeric<T: std::str::FromStr>(
    value: &Value,
    what: &str,
    from: impl Fn(&serde_json::Number) -> Option<T>,
) -> Result<T, String> {
    match value {
        Value::Number(n) => from(n).ok_or_else(|| format!("{n} is not {what}")),
        Value::String(s) => s.trim().parse().map_err(|_| format!("{s:?} is not {what}")),
        other => Err(format!("expected {what}, got {}", kind(other))),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Types whose binary form is their UTF-8 text.
fn is_text(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN
    ) || matches!(ty.kind(), Kind::Enum(_))
        || matches!(ty.name(), "citext" | "ltree" | "lquery")
}

impl ToSql for Param<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self {
            Param::Null => Ok(IsNull::Yes),
            Param::Bool(v) => v.to_sql(ty, out),
            Param::I16(v) => v.to_sql(ty, out),
            Param::I32(v) => v.to_sql(ty, out),
            Param::I64(v) => v.to_sql(ty, out),
            Param::Oid(v) => v.to_sql(ty, out),
            Param::F32(v) => v.to_sql(ty, out),
            Param::F64(v) => v.to_sql(ty, out),
            Param::Numeric(v) => v.to_sql(ty, out),
            Param::Json(v) => tokio_postgres::types::Json(v).to_sql(ty, out),
            Param::Uuid(v) => v.to_sql(ty, out),
            Param::TimestampTz(v) => v.to_sql(ty, out),
            Param::Timestamp(v) => v.to_sql(ty, out),
            Param::Date(v) => v.to_sql(ty, out),
            Param::Time(v) => v.to_sql(ty, out),
            Param::Bytes(v) => v.as_ref().to_sql(ty, out),
            Param::Text(v) => {
                out.extend_from_slice(v.as_bytes());
                Ok(IsNull::No)
            }
        }
    }

    /// Every parameter was converted for its type by [`bind`].
    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A column's type name as the result reports it (`INT8`, `TEXT`, ...).
pub fn type_name(ty: &Type) -> String {
    ty.name().to_ascii_uppercase()
}

/// One row as a JSON object keyed by column name.
pub fn row_to_json(row: &Row) -> Result<Value, ToolError> {
    let mut out = serde_json::Map::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        out.insert(column.name().to_owned(), cell(row, i, column.type_())?);
    }
    Ok(Value::Object(out))
}

fn get<'a, T: FromSql<'a>>(row: &'a Row, i: usize) -> Result<Option<T>, ToolError> {
    row.try_get::<_, Option<T>>(i)
        .map_err(|e| ToolError::backend(format!("cannot decode column {i}: {e}")))
}

fn cell(row: &Row, i: usize, ty: &Type) -> Result<Value, ToolError> {
    Ok(match *ty {
        Type::BOOL => json!(get::<bool>(row, i)?),
        Type::INT2 => json!(get::<i16>(row, i)?),
        Type::INT4 => json!(get::<i32>(row, i)?),
        Type::INT8 => json!(get::<i64>(row, i)?),
        Type::OID => json!(get::<u32>(row, i)?),
        Type::FLOAT4 => json!(get::<f32>(row, i)?),
        Type::FLOAT8 => json!(get::<f64>(row, i)?),
        // Exact decimals travel as strings so no precision is lost.
        Type::NUMERIC => json!(get::<Decimal>(row, i)?.map(|d| d.to_string())),
        Type::JSON | Type::JSONB => get::<Value>(row, i)?.unwrap_or(Value::Null),
        Type::TIMESTAMPTZ => json!(get::<DateTime<Utc>>(row, i)?.map(|t| t.to_rfc3339())),
        Type::TIMESTAMP => json!(get::<NaiveDateTime>(row, i)?.map(|t| t.to_string())),
        Type::DATE => json!(get::<NaiveDate>(row, i)?.map(|t| t.to_string())),
        Type::TIME => json!(get::<NaiveTime>(row, i)?.map(|t| t.to_string())),
        Type::UUID => json!(get::<uuid::Uuid>(row, i)?.map(|u| u.to_string())),
        Type::BYTEA => get::<Vec<u8>>(row, i)?.map_or(Value::Null, |b| bytes_to_json(&b)),
        _ => match get::<Raw>(row, i)? {
            None => Value::Null,
            Some(Raw(bytes)) if is_text(ty) => json!(String::from_utf8_lossy(bytes)),
            Some(_) => json!(format!(
                "<{} value not representable as JSON>",
                type_name(ty)
            )),
        },
    })
}

/// Any value's wire bytes, for types the decoder above does not know.
struct Raw<'a>(&'a [u8]);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        Ok(Raw(raw))
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}
