//! A decision explained as text a person can follow: the request, each step
//! of the trace, the outcome and what the decision carries. `meshroute
//! explain` prints it and the bindings return it; a [`Style`] lets a terminal
//! add colour without this module knowing about terminals.

use crate::decide::{TraceEntry, Verdict};
use crate::{Decision, Request};
use serde_json::Value;
use std::fmt::Write;

/// What a piece of the text stands for, so that a [`Style`] can show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Something that matched.
    Matched,
    /// Something that failed, or a problem with a destination.
    Failed,
    /// Background: skipped steps, notes, secondary details.
    Dim,
    /// The outcome.
    Strong,
}

/// How the text shows its [`Tone`]s (colour on a terminal, nothing in a file).
pub trait Style {
    /// `text` as it should appear in `tone`.
    fn paint(&self, tone: Tone, text: &str) -> String;
}

/// No styling: the text as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct Plain;

impl Style for Plain {
    fn paint(&self, _tone: Tone, text: &str) -> String {
        text.to_string()
    }
}

/// The request line, `GET http://reviews:9080/  from namespace default, via
/// mesh`, then one line per header; from the request's JSON form (so a
/// route-test case's request reads the same). No trailing newline.
pub fn request_line(request: &Value, style: &dyn Style) -> String {
    let text = |k: &str, default: &str| {
        request
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or(default)
            .to_string()
    };
    let host = text("host", "?");
    let host = match request.get("port").and_then(Value::as_u64) {
        Some(p) if !host.contains(':') => format!("{host}:{p}"),
        _ => host,
    };
    let namespace = request
        .pointer("/source/namespace")
        .and_then(Value::as_str)
        .unwrap_or("default");
    let mut line = format!(
        "{} {}://{}{}  {}",
        text("method", "GET"),
        text("scheme", "http"),
        host,
        text("path", "/"),
        style.paint(
            Tone::Dim,
            &format!(
                "from namespace {namespace}, via {}",
                text("gateway", "mesh")
            )
        )
    );
    if let Some(Value::Object(labels)) = request.pointer("/source/labels") {
        let labels: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
            .collect();
        if !labels.is_empty() {
            line.push_str(&style.paint(Tone::Dim, &format!(", labels {}", labels.join(","))));
        }
    }
    let protocol = text("protocol", "http");
    if protocol != "http" {
        let _ = write!(line, "  [{protocol}]");
    }
    if let Some(Value::Object(headers)) = request.get("headers") {
        for (k, v) in headers {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let _ = write!(line, "\n  {k}: {v}");
        }
    }
    line
}

/// One trace step: a mark (matched, failed, skipped, note), the stage, the
/// subject and why, in columns. No trailing newline.
pub fn trace_line(t: &TraceEntry, style: &dyn Style) -> String {
    let mark = match t.verdict {
        Verdict::Matched => style.paint(Tone::Matched, "\u{2714}"),
        Verdict::Failed => style.paint(Tone::Failed, "\u{2718}"),
        Verdict::Skipped => style.paint(Tone::Dim, "-"),
        Verdict::Note => style.paint(Tone::Dim, "\u{2022}"),
    };
    let body = format!("{:<15} {:<28} {}", t.stage, t.subject, t.detail);
    let body = match t.verdict {
        Verdict::Skipped | Verdict::Note => style.paint(Tone::Dim, &body),
        Verdict::Matched | Verdict::Failed => body,
    };
    format!("  {mark} {}", body.trim_end())
}

/// The decision: each trace step, the outcome (`→ route  by VirtualService
/// default/reviews rule 1`), each destination with its share, then every
/// other field the decision carries (`timeout: "2.5s"`). Each line ends
/// with a newline.
pub fn decision_text(d: &Decision<'_>, style: &dyn Style) -> String {
    let mut out = String::new();
    for t in &d.trace {
        out.push_str(&trace_line(t, style));
        out.push('\n');
    }
    let _ = write!(
        out,
        "\u{2192} {}",
        style.paint(Tone::Strong, d.outcome.as_str())
    );
    if let Some(vs) = &d.virtual_service {
        let _ = write!(out, "  by VirtualService {vs}");
    }
    if let Some(rule) = &d.rule {
        let _ = write!(out, " rule {}", rule.index);
        if let Some(name) = &rule.name {
            let _ = write!(out, " ({name})");
        }
    }
    if let Some(root) = &d.delegated_from {
        let _ = write!(out, ", delegated from {root}");
    }
    out.push('\n');
    let total: u64 = d.destinations.iter().map(|x| u64::from(x.weight)).sum();
    for x in d.destinations.iter() {
        let _ = write!(out, "    {}", x.host);
        if let Some(p) = x.port {
            let _ = write!(out, ":{p}");
        }
        if let Some(s) = &x.subset {
            let _ = write!(out, " subset {s}");
        }
        if d.destinations.len() > 1 && total > 0 {
            let share = f64::from(x.weight) * 100.0 / total as f64;
            let _ = write!(out, "  weight {} ({share:.0}%)", x.weight);
        }
        if let Some(problem) = &x.problem {
            let _ = write!(out, "  {}", style.paint(Tone::Failed, problem));
        }
        out.push('\n');
    }
    // Shown above, or the trace itself.
    let shown = [
        "outcome",
        "virtualService",
        "delegatedFrom",
        "rule",
        "destinations",
        "trace",
    ];
    if let Value::Object(map) = d.to_json() {
        for (k, v) in map.iter().filter(|(k, _)| !shown.contains(&k.as_str())) {
            let _ = writeln!(out, "    {}: {}", style.paint(Tone::Dim, k), v);
        }
    }
    out
}

/// The whole explanation of `decision` for `request`: [`request_line`],
/// then [`decision_text`].
pub fn explanation(request: &Request, decision: &Decision<'_>, style: &dyn Style) -> String {
    let request = serde_json::to_value(request).unwrap_or(Value::Null);
    format!(
        "{}\n{}",
        request_line(&request, style),
        decision_text(decision, style)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::load_str;
    use crate::Mesh;

    const REVIEWS: &str = "apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: reviews}
spec:
  hosts: [reviews.example.com]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DNS
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews.example.com
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
  - {name: v3, labels: {version: v3}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews.example.com]
  http:
  - name: jason
    match: [{headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: reviews.example.com, subset: v2}}]
  - route:
    - {destination: {host: reviews.example.com, subset: v1}, weight: 75}
    - {destination: {host: reviews.example.com, subset: v3}, weight: 25}
    timeout: 2s
";

    /// Marks each tone, to see where a style is applied.
    struct Brackets;

    impl Style for Brackets {
        fn paint(&self, tone: Tone, text: &str) -> String {
            format!("<{tone:?}>{text}</>")
        }
    }

    fn explained(style: &dyn Style) -> String {
        let mesh = Mesh::compile(&load_str(REVIEWS, "r.yaml"));
        let request = Request::new("reviews.example.com").header("end-user", "mary");
        let decision = mesh.explain(&request).expect("a valid request");
        explanation(&request, &decision, style)
    }

    #[test]
    fn the_plain_explanation_reads_request_trace_outcome_and_destinations() {
        let text = explained(&Plain);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "GET http://reviews.example.com/  from namespace default, via mesh"
        );
        assert_eq!(lines[1], "  end-user: mary");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("  \u{2718} ") && l.contains("jason")),
            "the jason rule fails: {text}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("  \u{2714} ") && l.contains("http[1]")),
            "the second rule matches: {text}"
        );
        assert!(
            lines.contains(&"\u{2192} route  by VirtualService default/reviews rule 1"),
            "{text}"
        );
        assert!(
            lines.iter().any(|l| l.starts_with(
                "    reviews.example.com:80 subset v1  weight 75 (75%)  subset \"v1\" selects no endpoint"
            )),
            "the problem follows the destination: {text}"
        );
        assert!(
            lines.iter().any(|l| l.starts_with(
                "    reviews.example.com:80 subset v3  weight 25 (25%)  subset \"v3\" selects no endpoint"
            )),
            "the problem follows the destination: {text}"
        );
        assert!(lines.contains(&"    timeout: \"2s\""), "{text}");
        assert!(text.ends_with('\n') && !text.contains("  \n"), "{text:?}");
    }

    #[test]
    fn a_style_paints_marks_outcome_and_details_without_changing_the_words() {
        let styled = explained(&Brackets);
        assert!(styled.contains("<Matched>\u{2714}</>"), "{styled}");
        assert!(styled.contains("<Failed>\u{2718}</>"), "{styled}");
        assert!(styled.contains("\u{2192} <Strong>route</>"), "{styled}");
        assert!(styled.contains("<Dim>timeout</>"), "{styled}");
        let unpainted = styled
            .replace("</>", "")
            .replace("<Matched>", "")
            .replace("<Failed>", "")
            .replace("<Dim>", "")
            .replace("<Strong>", "");
        // Padding is trimmed after painting, as a terminal shows it.
        let plain: Vec<String> = explained(&Plain).lines().map(str::to_string).collect();
        let unpainted: Vec<String> = unpainted
            .lines()
            .map(|l| l.trim_end().to_string())
            .collect();
        assert_eq!(unpainted, plain);
    }
}
