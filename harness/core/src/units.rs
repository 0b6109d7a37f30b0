//! Durations (`250ms`, `1m`), rates (`90/s`, `5400/m`) and percentages (`0.1%`) as written in
//! scenarios.

use std::time::Duration;

/// The longest duration a scenario may write.
const MAX_SECONDS: f64 = 30.0 * 86_400.0;

/// `"250ms"`, `"5s"`, `"1m"`, `"1h"`, `"1.5s"`, `"100us"`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("invalid duration {text:?}: missing unit (ms, s, m, h)"))?;
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid duration {text:?}"))?;
    let seconds = match unit {
        "us" | "µs" => value / 1e6,
        "ms" => value / 1e3,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => {
            return Err(format!(
                "invalid duration {text:?}: unit must be one of us, ms, s, m, h"
            ));
        }
    };
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(format!("invalid duration {text:?}"));
    }
    if seconds > MAX_SECONDS {
        return Err(format!("invalid duration {text:?}: longer than 30 days"));
    }
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("invalid duration {text:?}"))
}

/// `"90/s"`, `"5400/m"`, `"1000/s"` → calls per second.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let (number, per) = text
        .trim()
        .split_once('/')
        .ok_or_else(|| format!("invalid rate {text:?}: write it as N/s or N/m"))?;
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("invalid rate {text:?}"))?;
    let per_second = match per.trim() {
        "s" => value,
        "m" => value / 60.0,
        "h" => value / 3600.0,
        _ => {
            return Err(format!(
                "invalid rate {text:?}: the unit must be /s, /m or /h"
            ));
        }
    };
    if !per_second.is_finite() || per_second <= 0.0 {
        return Err(format!("invalid rate {text:?}: must be positive"));
    }
    Ok(per_second)
}

/// `"0.1%"` → 0.001; `"99.9%"` → 0.999.
pub fn parse_percent(text: &str) -> Result<f64, String> {
    let number = text
        .trim()
        .strip_suffix('%')
        .ok_or_else(|| format!("invalid percentage {text:?}: write it with %, e.g. \"0.1%\""))?;
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("invalid percentage {text:?}"))?;
    if !(0.0..=100.0).contains(&value) {
        return Err(format!(
            "invalid percentage {text:?}: must be between 0% and 100%"
        ));
    }
    // Rounded to 12 decimals so `99.9%` is exactly 0.999, not 0.9990000000000001.
    Ok((value / 100.0 * 1e12).round() / 1e12)
}

/// Formats a duration for people: `850µs`, `12.3ms`, `1.50s`.
pub fn fmt_duration(d: Duration) -> String {
    let us = d.as_micros();
    if us < 1000 {
        format!("{us}µs")
    } else if us < 1_000_000 {
        format!("{:.1}ms", us as f64 / 1000.0)
    } else {
        format!("{:.2}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_parse_and_refuse() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(
            parse_duration("5 ms"),
            Err("invalid duration \"5 ms\": unit must be one of us, ms, s, m, h".into())
        );
        assert_eq!(
            parse_duration("5"),
            Err("invalid duration \"5\": missing unit (ms, s, m, h)".into())
        );
        assert_eq!(
            parse_duration("99999999999999999999999h"),
            Err("invalid duration \"99999999999999999999999h\": longer than 30 days".into())
        );
        assert_eq!(parse_rate("90/s"), Ok(90.0));
        assert_eq!(parse_rate("120/m"), Ok(2.0));
        assert!(parse_rate("90").is_err());
        assert!(parse_rate("0/s").is_err());
        assert_eq!(parse_percent("0.1%"), Ok(0.001));
        assert_eq!(parse_percent("99.9%"), Ok(0.999));
        assert!(parse_percent("0.1").is_err());
        assert!(parse_percent("101%").is_err());
        assert_eq!(fmt_duration(Duration::from_micros(850)), "850µs");
        assert_eq!(fmt_duration(Duration::from_micros(12_345)), "12.3ms");
        assert_eq!(fmt_duration(Duration::from_millis(1500)), "1.50s");
    }
}
