//! A target's extra headers: `${VAR}` in a value is replaced by the environment variable,
//! and a missing variable or a value HTTP cannot carry stops the run before it starts.

use anyhow::anyhow;
use mcp_slo_engine::reqwest::header::{HeaderName, HeaderValue};

/// Resolves `headers` of target `target` with `lookup` (the environment in a run).
pub fn resolve(
    target: &str,
    headers: &[(String, String)],
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Vec<(HeaderName, HeaderValue)>, anyhow::Error> {
    let mut out = Vec::with_capacity(headers.len());
    let mut problems = Vec::new();
    for (name, template) in headers {
        let value = match expand(template, &lookup) {
            Ok(v) => v,
            Err(var) => {
                problems.push(format!(
                    "targets.{target}.headers.{name}: environment variable {var} is not set"
                ));
                continue;
            }
        };
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            (Ok(n), Ok(mut v)) => {
                v.set_sensitive(true);
                out.push((n, v));
            }
            _ => problems.push(format!(
                "targets.{target}.headers.{name}: not a valid header once expanded"
            )),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(anyhow!("{}", problems.join("\n")))
    }
}

/// `${VAR}` replaced by its value; `Err(VAR)` for the first one not set.
pub(crate) fn expand(
    template: &str,
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let var = &after[..end];
        out.push_str(&lookup(var).ok_or_else(|| var.to_owned())?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(var: &str) -> Option<String> {
        (var == "API_KEY").then(|| "s3cret".to_owned())
    }

    #[test]
    fn variables_are_expanded_and_missing_ones_named() {
        let headers = vec![
            ("X-Api-Key".to_owned(), "${API_KEY}".to_owned()),
            ("X-Tenant".to_owned(), "team-${API_KEY}-a".to_owned()),
            ("X-Plain".to_owned(), "no variables".to_owned()),
        ];
        let resolved = resolve("t", &headers, env).expect("all set");
        let values: Vec<&str> = resolved.iter().map(|(_, v)| v.to_str().unwrap()).collect();
        assert_eq!(values, ["s3cret", "team-s3cret-a", "no variables"]);
        assert!(resolved[0].1.is_sensitive(), "kept out of debug output");
        let missing = vec![("X-Other".to_owned(), "${NOT_SET}".to_owned())];
        let err = resolve("t", &missing, env).unwrap_err().to_string();
        assert_eq!(
            err,
            "targets.t.headers.X-Other: environment variable NOT_SET is not set"
        );
    }
}
