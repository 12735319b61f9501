//! Replay (docs/design.md §5.8): rebuilds equal the live fold, batch sizes do not matter, an old
//! data dir backfills a new (or re-versioned) projection on open, and `verify` catches corruption.

mod common;

use common::*;
use mailshot_embedded::{LineSource, Writer, rebuild, verify};
use mailshot_projections::Projection;
use mailshot_store::Table;
use serde_json::json;

#[test]
fn rebuild_equals_the_live_fold() {
    let (lines, truth) = generate(5_000, 13);
    assert!(truth.duplicates > 0);
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Writer::open(dir.path()).unwrap();
    ingest_lines(&mut writer, &lines);
    let live = all_rows(&writer.store);
    for &p in Projection::all() {
        assert!(!live[p.name()].is_empty(), "{p} is empty");
    }
    let stats = q(&writer, "get_delivery_stats", json!({}));

    // One projection alone, then all of them.
    rebuild(&writer, &[Projection::ROLLUPS]).unwrap();
    assert!(
        all_rows(&writer.store) == live,
        "rebuilding rollups changed a projection"
    );
    let folded = rebuild(&writer, Projection::all()).unwrap();
    assert_eq!(folded, truth.accepted, "every log record replayed once");
    assert!(
        all_rows(&writer.store) == live,
        "rebuilding every projection changed one"
    );
    assert_eq!(q(&writer, "get_delivery_stats", json!({})), stats);

    for report in verify(&writer).unwrap() {
        assert!(report.matches, "{report:?}");
        assert_eq!(report.live_digest, report.rebuilt_digest);
        assert_eq!(report.first_difference, None);
        assert!(report.rows > 0);
    }
    // Verify leaves the live projections alone.
    assert!(all_rows(&writer.store) == live);
}

#[test]
fn batch_sizes_do_not_change_the_projections() {
    let (lines, _) = generate(5_000, 17);
    let one = tempfile::tempdir().unwrap();
    let mut writer = Writer::open(one.path()).unwrap();
    ingest_lines(&mut writer, &lines);
    let reference = all_rows(&writer.store);
    drop(writer);

    // The same lines in files of 333 lines, ingested by several calls and reopenings.
    let many = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let mut sources = Vec::new();
    for (i, chunk) in lines.chunks(333).enumerate() {
        let path = files.path().join(format!("{i}.ndjson"));
        write_lines(&path, chunk);
        sources.push(LineSource::File(path));
    }
    let (first, rest) = sources.split_at(5);
    let mut writer = Writer::open(many.path()).unwrap();
    writer.ingest(first, |_| {}, |_| {}).unwrap();
    drop(writer);
    let mut writer = Writer::open(many.path()).unwrap();
    for source in rest {
        writer
            .ingest(std::slice::from_ref(source), |_| {}, |_| {})
            .unwrap();
    }
    assert!(
        all_rows(&writer.store) == reference,
        "batch sizes changed a projection"
    );
}

#[test]
fn an_old_data_dir_backfills_a_new_projection_on_open() {
    let (lines, _) = generate(4_000, 19);
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Writer::open(dir.path()).unwrap();
    ingest_lines(&mut writer, &lines);
    let links = q(&writer, "get_link_stats", json!({}));
    assert!(links["links"].as_array().unwrap().len() > 3, "{links}");
    let rows_before = rows(&writer.store, Projection::LINKS);
    let everything = all_rows(&writer.store);

    // A data dir written before the links projection existed.
    writer.store.forget_projection(Projection::LINKS).unwrap();
    assert_eq!(
        q(&writer, "get_link_stats", json!({})),
        json!({"links": []})
    );
    let progress = writer.store.progress(Projection::LINKS, false).unwrap();
    assert_eq!((progress.checkpoint, progress.version), (None, None));
    drop(writer);

    let writer = Writer::open(dir.path()).unwrap();
    assert_eq!(q(&writer, "get_link_stats", json!({})), links);
    assert!(rows(&writer.store, Projection::LINKS) == rows_before);
    assert!(all_rows(&writer.store) == everything);
    let progress = writer.store.progress(Projection::LINKS, false).unwrap();
    assert_eq!(progress.checkpoint, Some(writer.log.end_offset().unwrap()));
    assert_eq!(progress.version, Some(Projection::LINKS.version()));
}

#[test]
fn a_changed_fold_version_rebuilds_on_open() {
    let (lines, _) = generate(3_000, 23);
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Writer::open(dir.path()).unwrap();
    ingest_lines(&mut writer, &lines);
    let everything = all_rows(&writer.store);
    let stats = q(&writer, "get_delivery_stats", json!({}));

    // Stale rows written by "another version" of the rollups fold: a rebuild must replace them.
    let (_, key, value) = everything["rollups"][0].clone();
    let mut wrong = value.clone();
    wrong[0] ^= 0x40;
    writer
        .store
        .corrupt_row(Table::ROLLUPS, &key, &wrong)
        .unwrap();
    writer
        .store
        .set_version(Projection::ROLLUPS, Projection::ROLLUPS.version() + 1)
        .unwrap();
    assert!(rows(&writer.store, Projection::ROLLUPS) != everything["rollups"]);
    drop(writer);

    let writer = Writer::open(dir.path()).unwrap();
    assert!(
        all_rows(&writer.store) == everything,
        "the stale projection was not rebuilt"
    );
    assert_eq!(q(&writer, "get_delivery_stats", json!({})), stats);
    assert_eq!(
        writer
            .store
            .progress(Projection::ROLLUPS, false)
            .unwrap()
            .version,
        Some(Projection::ROLLUPS.version())
    );
}

#[test]
fn a_dedup_index_in_the_old_key_layout_is_rebuilt_on_open() {
    let (lines, truth) = generate(3_000, 37);
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Writer::open(dir.path()).unwrap();
    let (first, _) = ingest_lines(&mut writer, &lines);
    assert_eq!(first.accepted, truth.accepted);
    let keys = writer.store.dedup_keys().unwrap();
    assert!(keys.len() as u64 >= first.accepted, "{} keys", keys.len());
    assert!(keys.iter().all(|k| k.len() == 20));
    let everything = all_rows(&writer.store);

    // A data dir written before dedup keys carried the event day.
    writer.store.downgrade_ids_layout().unwrap();
    let old = writer.store.dedup_keys().unwrap();
    assert_eq!(old.len(), keys.len());
    assert!(old.iter().all(|k| k.len() == 16));
    drop(writer);

    let mut writer = Writer::open(dir.path()).unwrap();
    assert_eq!(writer.store.dedup_keys().unwrap(), keys);
    assert_eq!(
        writer.store.ids_checkpoint().unwrap(),
        writer.log.end_offset().unwrap()
    );
    assert!(all_rows(&writer.store) == everything);
    // The rebuilt index still recognises every input.
    let (again, _) = ingest_lines(&mut writer, &lines);
    assert_eq!(again.accepted, 0);
    assert_eq!(again.duplicates, first.accepted + first.duplicates);
}

/// A record the parser refuses, met by the reading thread halfway through a rebuild: the
/// rebuild fails naming it, and the live projections are untouched and keep answering.
#[test]
fn a_rebuild_that_meets_an_unparsable_record_fails_and_leaves_the_live_projections() {
    use mailshot_domain::Timestamp;
    use mailshot_domain::log::NewRecord;
    use mailshot_projections::ProjectionWriter;

    let (lines, _) = generate(3_000, 37);
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Writer::open(dir.path()).unwrap();
    ingest_lines(&mut writer, &lines[..2_000]);
    let bad = writer
        .log
        .append(&[NewRecord {
            ingest_time: Timestamp(0),
            identities: Vec::new(),
            raw: "{\"eventType\":".to_string(),
            compact: None,
        }])
        .unwrap();
    // Mark the record as folded, so that only a rebuild's reading thread meets it.
    let mut batch = writer.store.begin().unwrap();
    for &p in Projection::all() {
        batch.set_checkpoint(p, bad + 1).unwrap();
    }
    batch.set_ids_checkpoint(bad + 1).unwrap();
    batch.commit().unwrap();
    ingest_lines(&mut writer, &lines[2_000..]);
    let live = all_rows(&writer.store);
    let stats = q(&writer, "get_delivery_stats", json!({}));

    let err = rebuild(&writer, Projection::all()).unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("log record {bad} does not parse")),
        "{err}"
    );
    assert!(all_rows(&writer.store) == live, "a live projection changed");
    assert_eq!(q(&writer, "get_delivery_stats", json!({})), stats);
}

fn ingested_data_dir(n: u64, seed: u64) -> (tempfile::TempDir, Rows, Rows) {
    let (lines, _) = generate(n, seed);
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Writer::open(dir.path()).unwrap();
    ingest_lines(&mut writer, &lines);
    let (events, rollups) = (
        rows(&writer.store, Projection::EVENTS),
        rows(&writer.store, Projection::ROLLUPS),
    );
    (dir, events, rollups)
}

#[test]
fn verify_passes_on_an_intact_store() {
    let (dir, _, _) = ingested_data_dir(2_000, 29);
    let out = run_cli(dir.path(), &["verify"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reports = reports.as_array().unwrap();
    assert_eq!(reports.len(), Projection::COUNT);
    for r in reports {
        assert_eq!(r["matches"], true, "{r}");
        assert!(r["first_difference"].is_null(), "{r}");
    }
    for &p in Projection::all() {
        assert!(stderr.contains(&format!("{p}: ok")), "{stderr}");
    }
}

#[test]
fn verify_names_a_corrupted_rollups_row() {
    let (dir, _, rollups) = ingested_data_dir(2_000, 31);
    let (_, key, value) = &rollups[rollups.len() / 2];
    let mut wrong = value.clone();
    let last = wrong.len() - 1;
    wrong[last] = wrong[last].wrapping_add(1);
    {
        let writer = Writer::open(dir.path()).unwrap();
        writer
            .store
            .corrupt_row(Table::ROLLUPS, key, &wrong)
            .unwrap();
    }
    let out = run_cli(dir.path(), &["verify"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "verify accepted a corrupted rollups row: {stderr}"
    );
    let expected_key = format!("rollups/{}", String::from_utf8_lossy(key).escape_debug());
    assert!(stderr.contains("rollups: MISMATCH"), "{stderr}");
    assert!(
        stderr.contains(&format!("first differing key {expected_key}")),
        "want {expected_key} in {stderr}"
    );
    for p in Projection::all()
        .iter()
        .filter(|p| **p != Projection::ROLLUPS)
    {
        assert!(stderr.contains(&format!("{p}: ok")), "{stderr}");
    }
}

#[test]
fn verify_names_a_corrupted_events_row() {
    let (dir, events, _) = ingested_data_dir(2_000, 37);
    let (table, key, value) = events.iter().find(|(t, _, _)| *t == "events").unwrap();
    assert_eq!(*table, "events");
    // Rows are binary (ttl, presence bits, then length-prefixed strings): byte 11 is the first
    // byte of the template key; flipping its low bit keeps it ASCII but changes the row.
    let mut bad = value.clone();
    assert!(bad[11].is_ascii_alphanumeric(), "{bad:?}");
    bad[11] ^= 1;
    {
        let writer = Writer::open(dir.path()).unwrap();
        writer.store.corrupt_row(Table::EVENTS, key, &bad).unwrap();
    }
    let out = run_cli(dir.path(), &["verify"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "verify accepted a corrupted events row: {stderr}"
    );
    let expected_key = format!("events/{}", String::from_utf8_lossy(key).escape_debug());
    assert!(stderr.contains("events: MISMATCH"), "{stderr}");
    assert!(
        stderr.contains(&format!("first differing key {expected_key}")),
        "want {expected_key} in {stderr}"
    );

    // A replay of the events projection repairs it.
    let out = run_cli(dir.path(), &["replay", "--projection", "events"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run_cli(dir.path(), &["verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn verify_names_a_row_that_only_the_live_projection_has() {
    let (dir, _, rollups) = ingested_data_dir(2_000, 39);
    // A key just after an existing one: between two real rows, in neither slot's history.
    let (_, key, value) = &rollups[rollups.len() / 3];
    let mut extra = key.clone();
    extra.push(0);
    {
        let writer = Writer::open(dir.path()).unwrap();
        writer
            .store
            .corrupt_row(Table::ROLLUPS, &extra, value)
            .unwrap();
    }
    let out = run_cli(dir.path(), &["verify"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "verify accepted an extra row: {stderr}"
    );
    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rollups_report = reports
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["projection"] == "rollups")
        .unwrap();
    assert_eq!(rollups_report["matches"], false);
    assert_eq!(
        rollups_report["first_difference"],
        format!("rollups/{}", String::from_utf8_lossy(&extra).escape_debug())
    );
}

/// `replay` opens the data dir without scanning the whole log first (its reading thread checks
/// every frame anyway): damage in the middle of the log then fails the rebuild, naming where,
/// and the live projections are untouched. The ordinary open still refuses such a log.
#[test]
fn a_replay_reads_the_log_once_and_fails_on_damage_in_the_middle() {
    let (lines, _) = generate(2_000, 41);
    let dir = tempfile::tempdir().unwrap();
    let mut writer = Writer::open(dir.path()).unwrap();
    ingest_lines(&mut writer, &lines);
    let live = all_rows(&writer.store);
    drop(writer);

    let segments: Vec<_> = std::fs::read_dir(dir.path().join("log"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    assert_eq!(segments.len(), 1, "{segments:?}");
    let segment = &segments[0];
    let mut bytes = std::fs::read(segment).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(segment, &bytes).unwrap();

    let err = Writer::open(dir.path()).map(|_| ()).unwrap_err();
    assert!(err.to_string().contains("log corrupt at offset"), "{err}");

    let writer = Writer::open_for_rebuild(dir.path()).unwrap();
    assert!(
        all_rows(&writer.store) == live,
        "opening changed a projection"
    );
    let err = rebuild(&writer, Projection::all()).unwrap_err().to_string();
    assert!(err.contains("log corrupt at offset"), "{err}");
    assert!(err.contains("00000000000000000000.seg"), "{err}");
    assert!(all_rows(&writer.store) == live, "a live projection changed");
}

/// A replay reports each phase on stderr with its count and time (the figures BENCHMARKS.md
/// breaks a replay into); `MAILSHOT_QUIET` silences them.
#[test]
fn a_replay_reports_each_phase_unless_quiet() {
    let (dir, _, _) = ingested_data_dir(400, 43);
    let out = run_cli(dir.path(), &["replay"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let records = cli_json(dir.path(), &["replay"])["records"]
        .as_u64()
        .unwrap();
    let phases: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("replaying"))
        .collect();
    assert_eq!(phases.len(), 3, "{stderr}");
    let names: Vec<&str> = Projection::all().iter().map(|p| p.name()).collect();
    assert!(names.starts_with(&["events", "subscribers", "rollups", "links"]));
    assert!(
        phases[0].starts_with(&format!(
            "replaying {}: {records} records in ",
            names.join(", ")
        )),
        "{stderr}"
    );
    assert!(
        phases[1].starts_with("replaying: loading sorted rows: ")
            && phases[1].contains(" rows in "),
        "{stderr}"
    );
    assert!(
        phases[2].starts_with("replaying: made live and flushed in "),
        "{stderr}"
    );

    let quiet = cli(dir.path())
        .arg("replay")
        .env("MAILSHOT_QUIET", "1")
        .output()
        .unwrap();
    assert!(quiet.status.success());
    let stderr = String::from_utf8_lossy(&quiet.stderr);
    assert!(!stderr.contains("replaying"), "{stderr}");
}
