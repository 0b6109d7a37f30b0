//! How a tier serves MCP.

/// Sessions or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// MCP 2025-06-18 / 2025-11-25 sessions: `initialize`, `Mcp-Session-Id`, SSE answers.
    Session,
    /// No sessions: each POST answered with one JSON body.
    Stateless,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Session => "session",
            Mode::Stateless => "stateless",
        }
    }
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "session" => Ok(Mode::Session),
            "stateless" => Ok(Mode::Stateless),
            other => Err(format!("{other:?} is not a mode (session, stateless)")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_read_and_write_the_same_names() {
        for mode in [Mode::Session, Mode::Stateless] {
            assert_eq!(mode.as_str().parse::<Mode>(), Ok(mode));
            assert_eq!(
                serde_json::to_value(mode).unwrap(),
                serde_json::json!(mode.as_str())
            );
        }
        assert!("sessions".parse::<Mode>().is_err());
    }
}
