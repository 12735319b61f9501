//! Segment log throughput: append with group commit, open-time verification, sequential
//! read-back and random `read_at`.
//!
//! `cargo bench -p mailshot-log --bench log_append`
//!
//! Environment: `MAILSHOT_BENCH_RECORDS` (default 1 000 000), `MAILSHOT_BENCH_BATCH` (default
//! 1000), `MAILSHOT_BENCH_DIR` (where the temporary data dir goes; default the system temp
//! dir: put it on the disk you want to measure).

use std::time::Instant;

use mailshot_domain::log::NewRecord;
use mailshot_domain::{FactId, Timestamp};
use mailshot_log::{LogOptions, SegmentLog};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A ~1.5 KB SES delivery notification, numbered so every record differs.
fn record(i: u64) -> NewRecord {
    let raw = format!(
        concat!(
            r#"{{"eventType":"Delivery","mail":{{"timestamp":"2024-06-03T14:02:10.815Z","#,
            r#""source":"news@example.com","messageId":"0100018fd-{i:012}","#,
            r#""destination":["user{i}@example.org"],"headersTruncated":false,"#,
            r#""headers":[{{"name":"X-Template-Key","value":"onboarding/welcome"}},"#,
            r#"{{"name":"X-Sequence-Id","value":"onboarding"}}],"#,
            r#""commonHeaders":{{"from":["news@example.com"],"to":["user{i}@example.org"],"#,
            r#""subject":"Welcome aboard"}},"tags":{{"templateKey":["onboarding--welcome"]}}}},"#,
            r#""delivery":{{"timestamp":"2024-06-03T14:02:11.512Z","processingTimeMillis":697,"#,
            r#""recipients":["user{i}@example.org"],"smtpResponse":"250 2.0.0 OK","#,
            r#""reportingMTA":"a8-61.smtp-out.amazonses.com"}},"pad":"{pad}"}}"#
        ),
        i = i,
        pad = "x".repeat(820),
    );
    NewRecord {
        ingest_time: Timestamp(1_717_423_330_815 + i as i64),
        identities: vec![FactId::of_parts(&[raw.as_bytes()])],
        raw,
        compact: None,
    }
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir.join("log"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".seg"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let total = env_u64("MAILSHOT_BENCH_RECORDS", 1_000_000);
    let batch_size = env_u64("MAILSHOT_BENCH_BATCH", 1000).max(1);
    let parent = std::env::var("MAILSHOT_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir());
    let tmp = tempfile::tempdir_in(&parent)?;
    let dir = tmp.path();
    println!(
        "log_append: {total} records of ~{} bytes in batches of {batch_size}, data dir under {}",
        record(0).raw.len(),
        parent.display()
    );

    // Batches are built before timing: the bench measures the log, not JSON formatting.
    let mut log = SegmentLog::open(dir, LogOptions::default())?;
    let template: Vec<NewRecord> = (0..batch_size).map(record).collect();
    let started = Instant::now();
    let mut appended = 0u64;
    let mut last_report = 0u64;
    while appended < total {
        let n = batch_size.min(total - appended) as usize;
        log.append(&template[..n])?;
        appended += n as u64;
        if appended - last_report >= total / 10 || appended == total {
            last_report = appended;
            eprintln!(
                "  appended {appended}/{total} ({:.0}%)",
                appended as f64 * 100.0 / total as f64
            );
        }
    }
    let append_secs = started.elapsed().as_secs_f64();
    let bytes = dir_bytes(dir);
    let mb = bytes as f64 / 1e6;
    println!(
        "append (group commit, fdatasync per batch): {:.2} s, {:.0} records/s, {:.1} MB/s ({:.0} batches/s)",
        append_secs,
        total as f64 / append_secs,
        mb / append_secs,
        (total as f64 / batch_size as f64) / append_secs
    );
    drop(log);

    let started = Instant::now();
    let log = SegmentLog::open(dir, LogOptions::default())?;
    let open_secs = started.elapsed().as_secs_f64();
    println!(
        "writer open with full verification (direct reads from disk): {:.2} s, {:.0} MB/s",
        open_secs,
        mb / open_secs
    );

    let started = Instant::now();
    let mut count = 0u64;
    let mut raw_bytes = 0u64;
    for item in log.read_from(0)? {
        let record = item?;
        raw_bytes += record.raw.len() as u64;
        count += 1;
    }
    let read_secs = started.elapsed().as_secs_f64();
    if count != total {
        return Err(format!("read back {count} records, appended {total}").into());
    }
    println!(
        "read back (read_from(0), CRC-checked, decoded): {:.2} s, {:.0} records/s, {:.1} MB/s",
        read_secs,
        count as f64 / read_secs,
        mb / read_secs
    );

    let lookups = 100_000u64.min(total);
    let mut rng_state = 0x9e37_79b9_7f4a_7c15u64;
    let started = Instant::now();
    for _ in 0..lookups {
        // xorshift: a cheap, dependency-free spread of offsets.
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        let offset = rng_state % total;
        match log.read_at(offset)? {
            Some(r) if r.offset == offset => raw_bytes += 1,
            _ => return Err(format!("read_at({offset}) missed").into()),
        }
    }
    let at_secs = started.elapsed().as_secs_f64();
    println!(
        "read_at (random offsets, via index; the log bypassed the page cache, so from disk): {:.1} µs per record, {:.0} records/s",
        at_secs * 1e6 / lookups as f64,
        lookups as f64 / at_secs
    );
    std::hint::black_box(raw_bytes);
    println!("log size on disk: {mb:.0} MB");
    Ok(())
}
