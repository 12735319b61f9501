//! Readable tables for people (the `--json` output is the contract; this is not).

use std::fmt::Write;

use serde_json::Value;

fn s(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Renders a query answer for a terminal.
pub fn human(tool: &str, answer: &Value) -> String {
    let mut out = String::new();
    match tool {
        "get_delivery_stats" => {
            let p = &answer["period"];
            let _ = writeln!(
                out,
                "period      {} .. {}",
                s(&p["startDate"]),
                s(&p["endDate"])
            );
            if let Some(counts) = answer["counts"].as_object() {
                for (k, v) in counts {
                    let _ = writeln!(out, "{k:<18} {v:>10}");
                }
            }
            let _ = writeln!(
                out,
                "{:<18} {:>10}",
                "unique opens",
                s(&answer["unique"]["open"])
            );
            let _ = writeln!(
                out,
                "{:<18} {:>10}",
                "unique clicks",
                s(&answer["unique"]["click"])
            );
            if let Some(rates) = answer["rates"].as_object() {
                for (k, v) in rates {
                    let _ = writeln!(
                        out,
                        "{:<18} {:>9.2}%",
                        format!("{k} rate"),
                        v.as_f64().unwrap_or(0.0) * 100.0
                    );
                }
            }
            let _ = writeln!(out, "{:<18} {:>10}", "total", s(&answer["total"]));
        }
        "get_subscriber_events" | "get_template_events" | "get_sequence_events" => {
            let _ = writeln!(
                out,
                "{:<25} {:<17} {:<32} {:<22} subject",
                "timestamp", "type", "email", "template"
            );
            for item in answer["items"].as_array().into_iter().flatten() {
                let _ = writeln!(
                    out,
                    "{:<25} {:<17} {:<32} {:<22} {}",
                    s(&item["timestamp"]),
                    s(&item["eventType"]),
                    s(&item["email"]),
                    s(&item["templateKey"]),
                    s(&item["subject"])
                );
            }
            if !answer["nextToken"].is_null() {
                let _ = writeln!(out, "more: --next {}", s(&answer["nextToken"]));
            }
        }
        "list_suppressed" => {
            let _ = writeln!(
                out,
                "{:<34} {:<10} {:<10} {:<25} offset",
                "email", "reason", "bounce", "at"
            );
            for item in answer["items"].as_array().into_iter().flatten() {
                let _ = writeln!(
                    out,
                    "{:<34} {:<10} {:<10} {:<25} {}",
                    s(&item["email"]),
                    s(&item["reason"]),
                    s(&item["bounceType"]),
                    s(&item["at"]),
                    s(&item["offset"])
                );
            }
            if !answer["nextToken"].is_null() {
                let _ = writeln!(out, "more: --next {}", s(&answer["nextToken"]));
            }
        }
        "trace_subscriber" => {
            let _ = writeln!(out, "trace of {}", s(&answer["email"]));
            for item in answer["items"].as_array().into_iter().flatten() {
                let _ = writeln!(
                    out,
                    "#{:<8} {:<24} {:<14} {}",
                    s(&item["offset"]),
                    s(&item["eventTime"]),
                    s(&item["envelope"]),
                    s(&item["summary"])
                );
            }
        }
        "get_link_stats" => {
            let _ = writeln!(
                out,
                "{:>7} {:>7}  {:<22} url",
                "clicks", "unique", "template"
            );
            for l in answer["links"].as_array().into_iter().flatten() {
                let _ = writeln!(
                    out,
                    "{:>7} {:>7}  {:<22} {}",
                    s(&l["clicks"]),
                    s(&l["uniqueClicks"]),
                    s(&l["templateKey"]),
                    s(&l["url"])
                );
            }
        }
        "get_message" => {
            let _ = writeln!(out, "message   {}", s(&answer["messageId"]));
            let _ = writeln!(out, "template  {}", s(&answer["templateKey"]));
            let _ = writeln!(out, "sequence  {}", s(&answer["sequenceId"]));
            let _ = writeln!(out, "sent at   {}", s(&answer["sentAt"]));
            for r in answer["recipients"].as_array().into_iter().flatten() {
                let _ = writeln!(out, "\n{}", s(&r["email"]));
                let events = r["events"].as_array().map_or(&[][..], Vec::as_slice);
                if events.is_empty() {
                    let _ = writeln!(out, "  (no events kept: they expire after 365 days)");
                }
                for e in events {
                    // The detail a person asks about first: the bounce, the link, the complaint.
                    let detail = [
                        "bounceType",
                        "bounceSubType",
                        "diagnosticCode",
                        "linkUrl",
                        "feedbackType",
                    ]
                    .iter()
                    .filter_map(|k| e[*k].as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                    let _ = writeln!(
                        out,
                        "  {:<25} {:<17} {detail}",
                        s(&e["timestamp"]),
                        s(&e["eventType"])
                    );
                }
            }
        }
        _ => {
            let _ = writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(answer).unwrap_or_default()
            );
        }
    }
    out
}

/// `repair`'s report for people: what was cut, what was lost, what to do next.
pub fn repair(report: &mailshot_embedded::RepairReport) -> String {
    let mut out = String::new();
    if let Some(cut) = &report.cut {
        let what = if cut.damaged {
            "a damaged record"
        } else {
            "a torn write"
        };
        let _ = writeln!(
            out,
            "cut {what} off the end of the log: {} bytes at byte {} of {} (offset {}): {}",
            cut.bytes, cut.position, cut.segment, cut.offset, cut.reason
        );
        if let Some(kept) = &cut.kept_in {
            let _ = writeln!(out, "  the bytes cut are kept in {kept}");
        }
    }
    match &report.lost {
        Some(lost) => {
            let _ = writeln!(
                out,
                "lost: {} acknowledged records (offsets {}..{}), the log no longer holds them",
                lost.records,
                lost.from,
                lost.to - 1
            );
            let _ = writeln!(
                out,
                "  the dedup index forgot {} facts of them; {} subscribers had records among them",
                lost.facts, lost.subscribers
            );
            let _ = writeln!(
                out,
                "  offsets {}..{} are recorded as a gap and will never be given to another record",
                lost.from,
                lost.to - 1
            );
            let _ = writeln!(
                out,
                "rebuilt the dedup index and every projection from the log's {} records",
                report.log_records
            );
            let _ = writeln!(
                out,
                "to restore the lost records, ingest their original input files again: inputs still in the log count as duplicates"
            );
        }
        None if report.cut.is_none() => {
            let _ = writeln!(
                out,
                "nothing to repair: the log's {} records are whole and the store is within them",
                report.log_records
            );
        }
        None => {
            let _ = writeln!(
                out,
                "nothing acknowledged was lost: the store had not taken in the bytes cut"
            );
        }
    }
    out
}
