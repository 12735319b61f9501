//! Damage at the end of the log after records were acknowledged (a truncated segment, a
//! flipped byte in the last record, deleted segment files, a deleted `log/`): never silent.
//! Every writer and query refuses the data dir naming how many acknowledged records are
//! missing, nothing is appended, `mailshot repair` cuts the store back to the log and reports
//! exactly what was lost, the lost offsets are never given out again, and ingesting the
//! original inputs again restores every answer.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{generate, run_cli, success_json, write_lines};
use mailshot_log::SegmentLog;
use serde_json::{Value, json};

const INPUTS: u64 = 1_500;

/// The damage done to a healthy data dir.
#[derive(Debug, Clone, Copy)]
enum Damage {
    /// The segment cut in the middle of record `k`.
    TruncateInsideRecord(u64),
    /// One byte of the last record's payload flipped.
    FlipByteInLastRecord,
    /// The segment file and its index deleted.
    DeleteSegmentFiles,
    /// The whole `log/` directory deleted.
    DeleteLogDir,
}

fn segment(data: &Path) -> PathBuf {
    data.join("log").join(format!("{:020}.seg", 0))
}

/// File positions where the segment's records start (`u32 LE length | crc | payload`).
fn record_starts(seg: &Path) -> Vec<u64> {
    let bytes = fs::read(seg).expect("segment");
    let mut starts = Vec::new();
    let mut pos = 0usize;
    while pos + 8 <= bytes.len() {
        starts.push(pos as u64);
        let len = u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        pos += 8 + len;
    }
    assert_eq!(
        pos,
        bytes.len(),
        "the healthy segment ends on a record boundary"
    );
    starts
}

/// A healthy data dir of a generated workload: its input file, record count, and the
/// answers that must come back after repair and a second ingest.
struct Healthy {
    data: tempfile::TempDir,
    input: PathBuf,
    records: u64,
    answers: Value,
}

fn answers(data: &Path) -> Value {
    json!({
        "stats": success_json("stats", &run_cli(data, &["stats", "--json"])),
        "suppressed": success_json(
            "suppressed",
            &run_cli(data, &["suppressed", "--limit", "1000", "--json"])
        ),
    })
}

fn healthy() -> Healthy {
    let data = tempfile::tempdir().expect("tempdir");
    let input = data.path().join("inputs.ndjson");
    let (lines, truth) = generate(INPUTS, 11);
    write_lines(&input, &lines);
    let dir = data.path().join("data");
    let summary = success_json(
        "ingest",
        &run_cli(&dir, &["ingest", input.to_str().unwrap()]),
    );
    assert_eq!(summary["accepted"], truth.accepted);
    let records = truth.accepted;
    assert_eq!(record_starts(&segment(&dir)).len() as u64, records);
    let answers = answers(&dir);
    Healthy {
        data,
        input,
        records,
        answers,
    }
}

/// Damages the data dir; returns how many records the log still holds whole.
fn damage(dir: &Path, how: Damage, records: u64) -> u64 {
    let seg = segment(dir);
    match how {
        Damage::TruncateInsideRecord(k) => {
            let starts = record_starts(&seg);
            let f = fs::OpenOptions::new().write(true).open(&seg).unwrap();
            f.set_len(starts[k as usize] + 13).unwrap();
            k
        }
        Damage::FlipByteInLastRecord => {
            let starts = record_starts(&seg);
            let mut bytes = fs::read(&seg).unwrap();
            let at = *starts.last().unwrap() as usize + 8 + 30;
            bytes[at] ^= 0x40;
            fs::write(&seg, bytes).unwrap();
            records - 1
        }
        Damage::DeleteSegmentFiles => {
            fs::remove_file(&seg).unwrap();
            fs::remove_file(seg.with_extension("idx")).unwrap();
            0
        }
        Damage::DeleteLogDir => {
            fs::remove_dir_all(dir.join("log")).unwrap();
            0
        }
    }
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn check(how: Damage) {
    let h = healthy();
    let dir = h.data.path().join("data");
    let kept = damage(&dir, how, h.records);
    let missing = h.records - kept;
    let seg_len = fs::metadata(segment(&dir)).map(|m| m.len()).ok();

    // Every writer and every query refuses, naming the count and the way out.
    let input = h.input.to_str().unwrap();
    for args in [
        &["ingest", input][..],
        &["stats", "--json"],
        &["replay"],
        &["verify"],
    ] {
        let out = run_cli(&dir, args);
        assert_eq!(out.status.code(), Some(2), "{how:?} {args:?}");
        let stderr = stderr_of(&out);
        let writer = args[0] != "stats";
        match how {
            // A writer checks the log's tail and finds the damaged record; a query reads only
            // whole, valid records, so to it the record is missing.
            Damage::FlipByteInLastRecord if writer => assert!(
                stderr.contains(&format!("log corrupt at offset {kept}"))
                    && stderr.contains("CRC32C mismatch in a whole record at the end of the log: damage, not a torn write; nothing was changed"),
                "{how:?} {args:?}: {stderr}"
            ),
            _ => assert!(
                stderr.contains(&format!(
                    "mailshot: {} acknowledged records are missing from the log in {}: the log ends at offset {kept}, but the dedup index has taken in records up to offset {}. Nothing was appended.",
                    h.records - kept,
                    dir.display(),
                    h.records
                )) && stderr.contains("run `mailshot repair`"),
                "{how:?} {args:?}: {stderr}"
            ),
        }
    }
    if let Damage::FlipByteInLastRecord = how {
        assert_eq!(
            fs::metadata(segment(&dir)).map(|m| m.len()).ok(),
            seg_len,
            "a damaged record is never cut without the operator's choice"
        );
    }
    let log = SegmentLog::open_read_only(&dir).unwrap();
    assert_eq!(log.end_offset().unwrap(), kept, "nothing was appended");
    drop(log);

    let report = success_json("repair", &run_cli(&dir, &["repair", "--json"]));
    assert_eq!(
        report["lost"],
        json!({
            "from": kept,
            "to": h.records,
            "records": missing,
            "facts": report["lost"]["facts"],
            "subscribers": report["lost"]["subscribers"],
        })
    );
    assert!(report["lost"]["facts"].as_u64().unwrap() >= missing);
    assert!(report["lost"]["subscribers"].as_u64().unwrap() >= 1);
    assert_eq!(report["rebuilt"], true);
    assert_eq!(report["logRecords"], kept);
    assert_eq!(report["nextOffset"], h.records);
    if let Damage::FlipByteInLastRecord = how {
        let cut = &report["cut"];
        assert_eq!(cut["damaged"], true);
        assert_eq!(cut["offset"], kept);
        assert_eq!(cut["reason"], "CRC32C mismatch");
        let kept_in = PathBuf::from(cut["keptIn"].as_str().unwrap());
        assert_eq!(
            fs::metadata(&kept_in).unwrap().len(),
            cut["bytes"].as_u64().unwrap()
        );
    }

    // The data dir is whole again and agrees with its log.
    let verify = run_cli(&dir, &["verify"]);
    assert!(verify.status.success(), "verify: {}", stderr_of(&verify));
    // A second repair finds nothing to do.
    let again = success_json("repair", &run_cli(&dir, &["repair", "--json"]));
    assert_eq!(
        (&again["cut"], &again["lost"], &again["rebuilt"]),
        (&Value::Null, &Value::Null, &json!(false))
    );

    // The original inputs restore exactly the lost records, under new offsets.
    let summary = success_json("ingest again", &run_cli(&dir, &["ingest", input]));
    assert_eq!(summary["accepted"], missing, "{how:?}: {summary}");
    let now = answers(&dir);
    assert_eq!(
        now["stats"], h.answers["stats"],
        "{how:?}: the stats are back"
    );
    // The same suppressions; those whose cause was lost now name its new record, past the gap.
    let suppressed = |a: &Value| a["suppressed"]["items"].as_array().unwrap().clone();
    let (before, after) = (suppressed(&h.answers), suppressed(&now));
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        let (bo, ao) = (b["offset"].as_u64().unwrap(), a["offset"].as_u64().unwrap());
        let mut a_without = a.clone();
        a_without["offset"] = b["offset"].clone();
        assert_eq!(&a_without, b);
        if bo < kept {
            assert_eq!(ao, bo, "a suppression whose cause was kept is unchanged");
        } else {
            assert!(
                ao >= h.records,
                "{how:?}: a lost cause comes back past the gap: {a}"
            );
        }
    }

    // The lost offsets name no record, ever: the log goes on after them.
    let log = SegmentLog::open_read_only(&dir).unwrap();
    let offsets: Vec<u64> = log
        .read_from(0)
        .unwrap()
        .map(|r| r.unwrap().offset)
        .collect();
    let expected: Vec<u64> = (0..kept).chain(h.records..h.records + missing).collect();
    assert_eq!(offsets, expected);
    assert!(log.read_at(kept).unwrap().is_none());
}

#[test]
fn a_segment_truncated_inside_a_record_is_refused_then_repaired_without_reusing_offsets() {
    check(Damage::TruncateInsideRecord(1_000));
}

#[test]
fn a_flipped_byte_in_the_last_record_is_corruption_then_repaired_keeping_its_bytes() {
    check(Damage::FlipByteInLastRecord);
}

#[test]
fn deleted_segment_files_are_refused_then_repaired_without_reusing_offsets() {
    check(Damage::DeleteSegmentFiles);
}

#[test]
fn a_deleted_log_dir_is_refused_then_repaired_without_reusing_offsets() {
    check(Damage::DeleteLogDir);
}

#[test]
fn repair_of_a_healthy_data_dir_changes_nothing() {
    let h = healthy();
    let dir = h.data.path().join("data");
    let report = success_json("repair", &run_cli(&dir, &["repair", "--json"]));
    assert_eq!(
        report,
        json!({"cut": null, "lost": null, "rebuilt": false, "logRecords": h.records, "nextOffset": h.records})
    );
    assert_eq!(answers(&dir), h.answers);
}

/// A repair that stopped midway (its marker still there) leaves the data dir refused by every
/// writer and query until `repair` runs again and finishes the rebuild.
#[test]
fn an_interrupted_repair_is_refused_until_repair_runs_again() {
    let h = healthy();
    let dir = h.data.path().join("data");
    // The state a kill leaves after the gap was recorded and before the store was rebuilt.
    fs::write(dir.join("repair.pending"), "").unwrap();
    for args in [
        &["ingest", h.input.to_str().unwrap()][..],
        &["stats", "--json"],
    ] {
        let out = run_cli(&dir, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(
            stderr_of(&out),
            format!(
                "mailshot: a `mailshot repair` of {} stopped before it finished: run `mailshot repair` again to finish it\n",
                dir.display()
            )
        );
    }
    let report = success_json("repair", &run_cli(&dir, &["repair", "--json"]));
    assert_eq!(
        report,
        json!({"cut": null, "lost": null, "rebuilt": true, "logRecords": h.records, "nextOffset": h.records})
    );
    assert!(!dir.join("repair.pending").exists());
    assert_eq!(answers(&dir), h.answers);
}
