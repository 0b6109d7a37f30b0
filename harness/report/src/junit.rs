//! `junit.xml`: one test suite per run, one test case per objective, so CI test views show
//! which objective failed and by how much. Hand-written XML: the shape is tiny.

use std::fmt::Write as _;

use mcp_slo_core::result::{ObjectiveResult, RunResult};

/// JUnit XML for the run. Every objective is judged over the whole run, so each test case
/// carries the run's duration.
pub fn junit_xml(r: &RunResult) -> String {
    let suite = format!("mcp-slo.{}", r.scenario.name);
    let tests = r.objectives.len();
    let failures = r.objectives.iter().filter(|o| !o.passed).count();
    let time = format!("{:.3}", r.duration_s);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"mcp-slo\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" time=\"{time}\">"
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"{time}\" timestamp=\"{}\">",
        escape(&suite),
        escape(&r.started_at)
    );
    let _ = writeln!(out, "    <properties>");
    let properties = [
        ("scenario.file", r.scenario.file.clone()),
        ("verdict", r.verdict.as_str().to_owned()),
        ("load.model", r.load.model.clone()),
        ("load.offered_rate", format!("{:.1}", r.load.offered_rate)),
        ("load.achieved_rate", format!("{:.1}", r.load.achieved_rate)),
        ("harness.version", r.harness.version.clone()),
    ];
    for (name, value) in properties {
        let _ = writeln!(
            out,
            "      <property name=\"{name}\" value=\"{}\"/>",
            escape(&value)
        );
    }
    let _ = writeln!(out, "    </properties>");
    for o in &r.objectives {
        testcase(&mut out, &suite, &time, o);
    }
    let _ = writeln!(out, "  </testsuite>");
    let _ = writeln!(out, "</testsuites>");
    out
}

fn testcase(out: &mut String, suite: &str, time: &str, o: &ObjectiveResult) {
    let open = format!(
        "    <testcase classname=\"{}\" name=\"{}\" time=\"{time}\"",
        escape(suite),
        escape(&o.name)
    );
    if o.passed {
        let _ = writeln!(out, "{open}/>");
        return;
    }
    let mut details = format!(
        "kind: {}\ntool: {}\n",
        o.kind,
        o.tool.as_deref().unwrap_or("(all calls)")
    );
    let _ = write!(
        details,
        "objective: {}\nmeasured: {}\ntarget value: {}\nmeasured value: {}",
        o.target, o.measured, o.target_value, o.measured_value
    );
    if let Some(detail) = &o.detail {
        let _ = write!(details, "\ndetail: {detail}");
    }
    if let Some(why) = &o.inconclusive {
        let _ = write!(details, "\ninconclusive: {why}");
    }
    let _ = writeln!(out, "{open}>");
    let _ = writeln!(
        out,
        "      <failure message=\"{}\" type=\"{}\">{}</failure>",
        escape(&format!("measured {}, objective {}", o.measured, o.target)),
        o.kind,
        escape(&details)
    );
    let _ = writeln!(out, "    </testcase>");
}

/// Escapes text for XML attributes and content. Characters XML 1.0 cannot hold at all
/// (control characters other than tab, newline and carriage return) become U+FFFD.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escape_covers_the_five_entities_and_control_characters() {
        let cases = [
            ("plain", "plain"),
            ("p99 < 100ms & \"x\"", "p99 &lt; 100ms &amp; &quot;x&quot;"),
            ("a > b's", "a &gt; b&apos;s"),
            ("tab\tand\nnewline", "tab\tand\nnewline"),
            ("bell\u{7}", "bell\u{FFFD}"),
            ("µs ✅", "µs ✅"),
        ];
        for (input, expected) in cases {
            assert_eq!(escape(input), expected, "{input:?}");
        }
    }
}
