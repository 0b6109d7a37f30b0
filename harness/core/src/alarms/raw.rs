//! Alarm files as written. Each alarm is kept as its fields in order, every key and value
//! with its line and column, so that validation reports unknown fields and wrongly typed
//! values together with every other problem, each with its path.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::spec::raw::Located;

/// The whole file: one key, `alarms`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlarmsFile {
    pub alarms: Vec<Located<RawAlarm>>,
}

/// One alarm's mapping, as written.
#[derive(Debug)]
pub struct RawAlarm {
    pub fields: Vec<(Located<String>, Located<Value>)>,
}

impl<'de> Deserialize<'de> for RawAlarm {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RawAlarm, D::Error> {
        struct Fields;

        impl<'de> Visitor<'de> for Fields {
            type Value = RawAlarm;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an alarm: a mapping of field names to values")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawAlarm, A::Error> {
                let mut fields = Vec::new();
                while let Some(key) = map.next_key::<Located<String>>()? {
                    let value = map.next_value::<Located<Value>>()?;
                    fields.push((key, value));
                }
                Ok(RawAlarm { fields })
            }
        }

        deserializer.deserialize_map(Fields)
    }
}
