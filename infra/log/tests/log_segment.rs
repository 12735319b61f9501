//! The segment log in one process: round trips, rolling, reopening, torn tails, mid-log
//! corruption, the writer lock, index rebuilds and a concurrent read-only reader.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mailshot_domain::log::{LogAppender, LogReader, LogRecord, NewRecord, Offset};
use mailshot_domain::{FactId, Timestamp};
use mailshot_log::{DamagedTail, LogError, LogOptions, SegmentLog, VerifyOnOpen};

/// The deterministic record for offset `i`: 0–2 identities, varied sizes, non-ASCII text.
fn rec(i: u64) -> NewRecord {
    let identities = (0..i % 3)
        .map(|k| FactId::of_parts(&[b"test", &i.to_be_bytes(), &k.to_be_bytes()]))
        .collect();
    NewRecord {
        ingest_time: Timestamp(1_717_000_000_000 + i as i64),
        identities,
        raw: format!(
            r#"{{"n":{i},"text":"héllo ✉","pad":"{}"}}"#,
            "x".repeat((i % 37) as usize)
        ),
        // Every other record carries a compact section (its bytes are opaque to the log).
        compact: (i % 2 == 1).then(|| vec![1, i as u8, 0xFE]),
    }
}

fn expected(i: u64) -> LogRecord {
    let r = rec(i);
    LogRecord {
        offset: i,
        ingest_time: r.ingest_time,
        identities: r.identities,
        raw: r.raw,
        compact: r.compact,
    }
}

/// Bytes the frame of `rec(i)` takes on disk: header, fixed payload, identities, compact
/// section, raw.
fn frame_len(i: u64) -> u64 {
    let r = rec(i);
    let compact = r.compact.map_or(0, |c| 5 + c.len());
    (8 + 18 + 16 * r.identities.len() + compact + r.raw.len()) as u64
}

fn small(segment_bytes: u64) -> LogOptions {
    LogOptions {
        segment_bytes,
        verify_on_open: VerifyOnOpen::All,
        ..LogOptions::default()
    }
}

fn append_range(log: &mut SegmentLog, from: u64, to: u64) -> Offset {
    let batch: Vec<NewRecord> = (from..to).map(rec).collect();
    log.append(&batch).expect("append")
}

fn read_all(log: &SegmentLog) -> Vec<LogRecord> {
    log.read_from(0)
        .expect("read_from")
        .collect::<Result<Vec<_>, _>>()
        .expect("records")
}

fn segments(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir.join("log"))
        .expect("log dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".seg"))
        .collect();
    names.sort();
    names
}

fn seg_path(dir: &Path, base: u64) -> PathBuf {
    dir.join("log").join(format!("{base:020}.seg"))
}

fn idx_path(dir: &Path, base: u64) -> PathBuf {
    dir.join("log").join(format!("{base:020}.idx"))
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to.join("log")).expect("mkdir");
    for e in fs::read_dir(from.join("log")).expect("read_dir") {
        let e = e.expect("entry");
        fs::copy(e.path(), to.join("log").join(e.file_name())).expect("copy");
    }
}

fn flip_byte(path: &Path, at: u64) {
    let mut bytes = fs::read(path).expect("read");
    bytes[at as usize] ^= 0x40;
    fs::write(path, bytes).expect("write");
}

fn expect_corrupt(err: LogError) -> (PathBuf, u64, Offset) {
    match err {
        LogError::Corrupt {
            segment,
            position,
            offset,
            ..
        } => (segment, position, offset),
        other => panic!("expected Corrupt, got {other}"),
    }
}

#[test]
fn round_trip_keeps_identities_raw_bytes_and_times() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = SegmentLog::open(dir.path(), LogOptions::default()).expect("open");
    assert_eq!(log.end_offset().expect("end"), 0);
    assert_eq!(log.read_at(0).expect("read_at"), None);
    assert_eq!(append_range(&mut log, 0, 5), 0);
    assert_eq!(append_range(&mut log, 5, 6), 5);
    assert_eq!(log.append(&[]).expect("empty batch"), 6);
    assert_eq!(LogAppender::next_offset(&log), 6);
    let all = read_all(&log);
    assert_eq!(all, (0..6).map(expected).collect::<Vec<_>>());
    assert_eq!(all[2].identities.len(), 2);
    assert_eq!(all[4].raw, rec(4).raw);
    for i in 0..6 {
        assert_eq!(log.read_at(i).expect("read_at"), Some(expected(i)));
    }
    assert_eq!(log.read_at(6).expect("read_at"), None);
    // Through the core's traits, as the fold driver sees it.
    let via_trait: Vec<LogRecord> = LogReader::read_from(&log, 3)
        .expect("read_from")
        .collect::<Result<_, _>>()
        .expect("records");
    assert_eq!(via_trait, (3..6).map(expected).collect::<Vec<_>>());
    assert_eq!(LogReader::end_offset(&log).expect("end"), 6);
    // Frame layout on disk: 8-byte header then the payload starting with the offset.
    let bytes = fs::read(seg_path(dir.path(), 0)).expect("segment");
    assert_eq!(bytes.len() as u64, (0..6).map(frame_len).sum::<u64>());
    let len0 = u32::from_le_bytes(bytes[0..4].try_into().expect("4")) as usize;
    assert_eq!(len0 as u64, frame_len(0) - 8);
    assert_eq!(
        u32::from_le_bytes(bytes[4..8].try_into().expect("4")),
        crc32c::crc32c(&bytes[8..8 + len0])
    );
    let off1 = frame_len(0) as usize + 8;
    assert_eq!(&bytes[off1..off1 + 8], &1u64.to_le_bytes());
}

#[test]
fn read_from_every_offset_yields_exactly_the_rest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = SegmentLog::open(dir.path(), small(700)).expect("open");
    for start in (0..60).step_by(7) {
        append_range(&mut log, start, (start + 7).min(60));
    }
    assert!(segments(dir.path()).len() > 3);
    for from in 0..=62 {
        let got: Vec<LogRecord> = log
            .read_from(from)
            .expect("read_from")
            .collect::<Result<_, _>>()
            .expect("records");
        let want: Vec<LogRecord> = (from.min(60)..60).map(expected).collect();
        assert_eq!(got, want, "from {from}");
    }
}

#[test]
fn segments_roll_at_the_size_limit_and_never_split_a_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let limit = 1000;
    let mut log = SegmentLog::open(dir.path(), small(limit)).expect("open");
    let batches: Vec<(u64, u64)> = vec![(0, 3), (3, 9), (9, 10), (10, 25), (25, 26), (26, 40)];
    // The documented rule: a batch that would take a non-empty segment past the limit
    // starts a new segment named after its first offset.
    let mut want_bases = vec![0u64];
    let mut tail = 0u64;
    for &(a, b) in &batches {
        let bytes: u64 = (a..b).map(frame_len).sum();
        if tail > 0 && tail + bytes > limit {
            want_bases.push(a);
            tail = 0;
        }
        tail += bytes;
        assert_eq!(append_range(&mut log, a, b), a);
    }
    assert!(want_bases.len() >= 3, "test must roll several times");
    let want_names: Vec<String> = want_bases.iter().map(|b| format!("{b:020}.seg")).collect();
    assert_eq!(segments(dir.path()), want_names);
    assert_eq!(want_names[0], "00000000000000000000.seg");
    assert_eq!(read_all(&log), (0..40).map(expected).collect::<Vec<_>>());
    drop(log);
    let log = SegmentLog::open(dir.path(), small(limit)).expect("reopen");
    assert_eq!(log.end_offset().expect("end"), 40);
    for i in 0..40 {
        assert_eq!(log.read_at(i).expect("read_at"), Some(expected(i)));
    }
}

#[test]
fn reopen_after_clean_close_continues_the_same_tail() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let mut log = SegmentLog::open(dir.path(), LogOptions::default()).expect("open");
        append_range(&mut log, 0, 10);
    }
    for mode in [VerifyOnOpen::All, VerifyOnOpen::LastSegment] {
        let log = SegmentLog::open(
            dir.path(),
            LogOptions {
                segment_bytes: 1 << 20,
                verify_on_open: mode,
                ..LogOptions::default()
            },
        )
        .expect("reopen");
        assert_eq!(log.end_offset().expect("end"), 10);
        assert_eq!(read_all(&log), (0..10).map(expected).collect::<Vec<_>>());
    }
    let mut log = SegmentLog::open(dir.path(), LogOptions::default()).expect("reopen");
    assert_eq!(append_range(&mut log, 10, 12), 10);
    drop(log);
    let log = SegmentLog::open(dir.path(), LogOptions::default()).expect("reopen");
    assert_eq!(read_all(&log), (0..12).map(expected).collect::<Vec<_>>());
    assert_eq!(
        segments(dir.path()),
        vec!["00000000000000000000.seg".to_owned()]
    );
}

/// Direct appends rewrite the partly filled 4 KiB block a segment ends in and cut their
/// padding off again: the files must come out byte for byte as appends through the page
/// cache write them, across blocks, batches, reopens and segment rolls.
#[test]
fn direct_and_buffered_appends_write_the_same_files() {
    let mut logs = Vec::new();
    for direct_io in [true, false] {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = LogOptions {
            segment_bytes: 16 * 1024,
            direct_io,
            ..LogOptions::default()
        };
        let mut next = 0;
        for sizes in [&[1u64, 2, 3, 50, 7][..], &[120, 1, 300, 64]] {
            let mut log = SegmentLog::open(dir.path(), options.clone()).expect("open");
            for &size in sizes {
                assert_eq!(append_range(&mut log, next, next + size), next);
                next += size;
            }
        }
        let log = SegmentLog::open(dir.path(), options).expect("reopen");
        assert_eq!(read_all(&log), (0..next).map(expected).collect::<Vec<_>>());
        let files: Vec<(String, Vec<u8>)> = segments(dir.path())
            .into_iter()
            .map(|name| {
                let bytes = fs::read(dir.path().join("log").join(&name)).expect("segment");
                (name, bytes)
            })
            .collect();
        logs.push(files);
    }
    assert!(logs[0].len() >= 3, "several segments: {}", logs[0].len());
    assert!(
        logs[0] == logs[1],
        "direct and buffered segment files differ"
    );
}

/// A log of 20 records over several segments; returns the last segment's base and the
/// position where its last frame starts.
fn pristine_log(dir: &Path) -> (u64, u64) {
    let mut log = SegmentLog::open(dir, small(600)).expect("open");
    for i in 0..20 {
        append_range(&mut log, i, i + 1);
    }
    drop(log);
    let names = segments(dir);
    assert!(names.len() >= 3, "several segments: {names:?}");
    let last_base: u64 = names[names.len() - 1]
        .trim_end_matches(".seg")
        .parse()
        .expect("base");
    let len = fs::metadata(seg_path(dir, last_base)).expect("meta").len();
    (last_base, len - frame_len(19))
}

/// After damage at the tail: a writer open recovers 19 or 20 whole records, intact, and
/// appends go on with dense offsets, also after another reopen.
fn check_recovers(dir: &Path, whole: u64, last_seg: &Path, whole_len: u64) {
    let mut log = SegmentLog::open(dir, small(600)).expect("recovering open");
    assert_eq!(log.end_offset().expect("end"), whole);
    assert_eq!(fs::metadata(last_seg).expect("meta").len(), whole_len);
    assert_eq!(read_all(&log), (0..whole).map(expected).collect::<Vec<_>>());
    assert_eq!(append_range(&mut log, whole, 22), whole);
    drop(log);
    let log = SegmentLog::open(dir, small(600)).expect("reopen");
    assert_eq!(read_all(&log), (0..22).map(expected).collect::<Vec<_>>());
}

#[test]
fn torn_tail_is_cut_back_at_every_cut_point() {
    let pristine = tempfile::tempdir().expect("tempdir");
    let (last_base, last_start) = pristine_log(pristine.path());
    let full_len = last_start + frame_len(19);
    let mut cases = 0;
    for cut in last_start..full_len {
        let dir = tempfile::tempdir().expect("tempdir");
        copy_dir(pristine.path(), dir.path());
        let seg = seg_path(dir.path(), last_base);
        OpenOptions::new()
            .write(true)
            .open(&seg)
            .and_then(|f| f.set_len(cut))
            .expect("truncate");
        check_recovers(dir.path(), 19, &seg, last_start);
        cases += 1;
    }
    assert_eq!(cases, frame_len(19));
}

#[test]
fn garbage_after_the_last_record_is_cut_off() {
    let pristine = tempfile::tempdir().expect("tempdir");
    let (last_base, last_start) = pristine_log(pristine.path());
    let full_len = last_start + frame_len(19);
    let mut rng = fastrand::Rng::with_seed(7);
    let mut garbages: Vec<Vec<u8>> = vec![
        vec![0; 4096],
        vec![0xff; 33],
        vec![1],
        // A header claiming more bytes than the file has.
        [&1000u32.to_le_bytes()[..], &[0u8; 30]].concat(),
    ];
    for len in [2usize, 7, 8, 9, 25, 26, 100, 1000] {
        garbages.push((0..len).map(|_| rng.u8(..)).collect());
    }
    for garbage in garbages {
        let dir = tempfile::tempdir().expect("tempdir");
        copy_dir(pristine.path(), dir.path());
        let seg = seg_path(dir.path(), last_base);
        let mut f = OpenOptions::new().append(true).open(&seg).expect("open");
        f.write_all(&garbage).expect("garbage");
        drop(f);
        check_recovers(dir.path(), 20, &seg, full_len);
    }
}

/// A whole record at the end that fails its checks (a flipped byte in the last record, or a
/// plausible whole frame whose CRC does not match) is damage, not a torn write: the writer
/// refuses to open and changes nothing, unless told to cut it, and then it keeps the bytes.
#[test]
fn a_whole_record_failing_its_checks_at_the_end_is_damage_cut_only_by_choice() {
    let pristine = tempfile::tempdir().expect("tempdir");
    let (last_base, last_start) = pristine_log(pristine.path());
    let full_len = last_start + frame_len(19);
    // A plausible header (length 40) whose CRC does not match its payload, after record 19.
    let bad_frame = [&40u32.to_le_bytes()[..], &[9, 9, 9, 9], &[0u8; 40]].concat();
    let cases: [(&str, u64, u64, u64); 2] = [
        ("flipped byte in the last record", 19, last_start, full_len),
        ("whole frame with a bad CRC", 20, full_len, full_len + 48),
    ];
    for (what, whole, cut_at, damaged_len) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        copy_dir(pristine.path(), dir.path());
        let seg = seg_path(dir.path(), last_base);
        if whole == 19 {
            flip_byte(&seg, last_start + 8 + 20);
        } else {
            let mut f = OpenOptions::new().append(true).open(&seg).expect("open");
            f.write_all(&bad_frame).expect("append");
        }
        let damaged = fs::read(&seg).expect("read");
        assert_eq!(damaged.len() as u64, damaged_len, "{what}");
        for mode in [VerifyOnOpen::All, VerifyOnOpen::LastSegment] {
            let options = LogOptions {
                verify_on_open: mode,
                ..small(600)
            };
            let err = SegmentLog::open(dir.path(), options).expect_err(what);
            assert!(
                err.to_string()
                    .contains("CRC32C mismatch in a whole record at the end of the log: damage, not a torn write; nothing was changed"),
                "{what}: {err}"
            );
            assert_eq!(expect_corrupt(err), (seg.clone(), cut_at, whole), "{what}");
            assert_eq!(fs::read(&seg).expect("read"), damaged, "{what}: untouched");
        }
        let keep = dir.path().join("damaged");
        let options = LogOptions {
            damaged_tail: DamagedTail::CutKeepingBytesIn(keep.clone()),
            ..small(600)
        };
        let log = SegmentLog::open(dir.path(), options).expect("cutting open");
        let cut = log.tail_cut().expect("a cut").clone();
        assert_eq!(
            (cut.position, cut.offset, cut.bytes, cut.damaged),
            (cut_at, whole, damaged_len - cut_at, true),
            "{what}"
        );
        assert_eq!(cut.reason, "CRC32C mismatch");
        let kept = cut.kept_in.expect("kept");
        assert_eq!(
            kept,
            keep.join(format!("{last_base:020}.seg.{cut_at}.damaged"))
        );
        assert_eq!(fs::read(&kept).expect("kept"), &damaged[cut_at as usize..]);
        drop(log);
        check_recovers(dir.path(), whole, &seg, cut_at);
    }
}

/// After `skip_to`, the skipped offsets name no record: reads pass over them, appends go on
/// after them, in this handle, after a reopen (checking either way), and in a read-only
/// handle opened before the skip. A gap recorded just before a crash (its next segment not
/// yet started) is completed on open.
#[test]
fn skipped_offsets_are_never_given_out_and_every_read_passes_over_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = SegmentLog::open(dir.path(), small(600)).expect("open");
    append_range(&mut log, 0, 20);
    let reader = SegmentLog::open_read_only(dir.path()).expect("reader");
    assert_eq!(reader.end_offset().expect("end"), 20);
    log.skip_to(30, "test: offsets 20..30 lost").expect("skip");
    log.skip_to(25, "not past the end: nothing happens")
        .expect("no-op");
    assert_eq!(log.next_offset(), 30);
    assert_eq!(append_range(&mut log, 30, 35), 30);
    let want: Vec<LogRecord> = (0..20).chain(30..35).map(expected).collect();
    let gap = log.gaps();
    assert_eq!(
        gap.iter()
            .map(|g| (g.from, g.to, g.reason.as_str()))
            .collect::<Vec<_>>(),
        [(20, 30, "test: offsets 20..30 lost")]
    );
    for handle in [&log, &reader] {
        assert_eq!(read_all(handle), want);
        assert_eq!(handle.end_offset().expect("end"), 35);
        for lost in 20..30 {
            assert!(handle.read_at(lost).expect("read_at").is_none());
        }
        assert_eq!(handle.read_at(31).expect("read_at"), Some(expected(31)));
        let from_gap: Vec<Offset> = handle
            .read_from(22)
            .expect("read_from")
            .map(|r| r.expect("record").offset)
            .collect();
        assert_eq!(from_gap, (30..35).collect::<Vec<_>>());
    }
    drop(log);
    drop(reader);
    for mode in [VerifyOnOpen::All, VerifyOnOpen::LastSegment] {
        let log = SegmentLog::open(
            dir.path(),
            LogOptions {
                verify_on_open: mode,
                ..small(600)
            },
        )
        .expect("reopen");
        assert_eq!(read_all(&log), want);
        assert_eq!(log.next_offset(), 35);
    }
    let reader = SegmentLog::open_read_only(dir.path()).expect("reader");
    assert_eq!(read_all(&reader), want);
    drop(reader);

    // A crash after the gap was recorded but before the segment after it was started.
    let crashed = tempfile::tempdir().expect("tempdir");
    let mut log = SegmentLog::open(crashed.path(), small(600)).expect("open");
    append_range(&mut log, 0, 5);
    log.skip_to(9, "test").expect("skip");
    drop(log);
    fs::remove_file(seg_path(crashed.path(), 9)).expect("rm seg");
    fs::remove_file(idx_path(crashed.path(), 9)).expect("rm idx");
    let mut log = SegmentLog::open(crashed.path(), small(600)).expect("reopen");
    assert_eq!(log.next_offset(), 9, "the gap is never filled");
    assert_eq!(append_range(&mut log, 9, 10), 9);
    assert_eq!(
        read_all(&log),
        (0..5).chain(9..10).map(expected).collect::<Vec<_>>()
    );
}

#[test]
fn an_empty_or_wholly_torn_last_segment_ends_at_its_base() {
    let pristine = tempfile::tempdir().expect("tempdir");
    let (last_base, _) = pristine_log(pristine.path());
    for cut in [0u64, 3, 8, 20] {
        let dir = tempfile::tempdir().expect("tempdir");
        copy_dir(pristine.path(), dir.path());
        let seg = seg_path(dir.path(), last_base);
        OpenOptions::new()
            .write(true)
            .open(&seg)
            .and_then(|f| f.set_len(cut))
            .expect("truncate");
        let mut log = SegmentLog::open(dir.path(), small(600)).expect("open");
        assert_eq!(log.end_offset().expect("end"), last_base);
        assert_eq!(fs::metadata(&seg).expect("meta").len(), 0);
        assert_eq!(append_range(&mut log, last_base, 20), last_base);
        assert_eq!(read_all(&log), (0..20).map(expected).collect::<Vec<_>>());
    }
}

#[test]
fn corruption_in_a_sealed_segment_is_reported_never_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (last_base, _) = pristine_log(dir.path());
    assert!(last_base > 3);
    let seg0 = seg_path(dir.path(), 0);
    // Flip a byte inside record 2's raw JSON.
    let at = frame_len(0) + frame_len(1) + frame_len(2) - 3;
    flip_byte(&seg0, at);
    let before = fs::read(&seg0).expect("read");

    let err = SegmentLog::open(dir.path(), small(600)).expect_err("corrupt log must not open");
    let message = err.to_string();
    let (segment, position, offset) = expect_corrupt(err);
    assert_eq!(
        (segment, position, offset),
        (seg0.clone(), frame_len(0) + frame_len(1), 2)
    );
    assert!(message.contains("offset 2"), "{message}");
    assert!(!message.contains('\n'));
    assert_eq!(
        fs::read(&seg0).expect("read"),
        before,
        "the failed open changed nothing"
    );

    // Readers get the records before it, then an error for it, then nothing.
    let reader = SegmentLog::open_read_only(dir.path()).expect("read-only");
    assert_eq!(reader.end_offset().expect("end"), 20);
    let items: Vec<Result<LogRecord, LogError>> = reader.read_from(0).expect("read_from").collect();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].as_ref().expect("0"), &expected(0));
    assert_eq!(items[1].as_ref().expect("1"), &expected(1));
    let (_, _, offset) = expect_corrupt(items.into_iter().nth(2).expect("2").expect_err("2"));
    assert_eq!(offset, 2);
    let (_, _, offset) = expect_corrupt(reader.read_at(2).expect_err("read_at 2"));
    assert_eq!(offset, 2);
    // read_at goes straight to the record through the index: the damage before it is not
    // in its way.
    assert_eq!(reader.read_at(3).expect("read_at 3"), Some(expected(3)));
    assert_eq!(reader.read_at(19).expect("read_at 19"), Some(expected(19)));

    // The quick open mode does not read sealed segments, but reading still reports it.
    let log = SegmentLog::open(
        dir.path(),
        LogOptions {
            segment_bytes: 600,
            verify_on_open: VerifyOnOpen::LastSegment,
            ..LogOptions::default()
        },
    )
    .expect("quick open");
    let err = log
        .read_from(1)
        .expect("read_from")
        .find_map(Result::err)
        .expect("an error item");
    assert_eq!(expect_corrupt(err).2, 2);
}

#[test]
fn corruption_in_the_last_segment_followed_by_valid_records_is_not_a_torn_tail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = SegmentLog::open(dir.path(), LogOptions::default()).expect("open");
    append_range(&mut log, 0, 10);
    drop(log);
    let seg = seg_path(dir.path(), 0);
    let pos4: u64 = (0..4).map(frame_len).sum();
    for (what, at) in [
        ("payload byte", pos4 + 30),
        ("length field", pos4 + 1),
        ("crc field", pos4 + 5),
        ("offset field", pos4 + 8),
    ] {
        let copy = tempfile::tempdir().expect("tempdir");
        copy_dir(dir.path(), copy.path());
        let seg = seg_path(copy.path(), 0);
        flip_byte(&seg, at);
        let len = fs::metadata(&seg).expect("meta").len();
        let err = SegmentLog::open(copy.path(), LogOptions::default()).expect_err(what);
        assert_eq!(expect_corrupt(err), (seg.clone(), pos4, 4), "{what}");
        assert_eq!(
            fs::metadata(&seg).expect("meta").len(),
            len,
            "{what}: not truncated"
        );
    }
    // Damage to the last record but one: only one valid record follows it.
    let pos8: u64 = (0..8).map(frame_len).sum();
    flip_byte(&seg, pos8 + 30);
    let err = SegmentLog::open(dir.path(), LogOptions::default()).expect_err("corrupt");
    assert_eq!(expect_corrupt(err).2, 8);
}

#[test]
fn a_missing_segment_breaks_density_and_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (last_base, _) = pristine_log(dir.path());
    let names = segments(dir.path());
    let middle: u64 = names[1].trim_end_matches(".seg").parse().expect("base");
    fs::remove_file(seg_path(dir.path(), middle)).expect("rm");
    let err = SegmentLog::open(dir.path(), small(600)).expect_err("gap");
    let (segment, _, offset) = expect_corrupt(err);
    assert_eq!(segment, seg_path(dir.path(), 0));
    assert_eq!(offset, middle, "segment 0 ends where the missing one began");
    assert!(last_base > middle);
    fs::remove_file(seg_path(dir.path(), 0)).expect("rm");
    let err = SegmentLog::open(dir.path(), small(600)).expect_err("no start");
    assert_eq!(expect_corrupt(err).2, 0);
}

#[test]
fn a_second_writer_in_the_same_process_is_refused_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut first = SegmentLog::open(dir.path(), LogOptions::default()).expect("open");
    append_range(&mut first, 0, 3);
    let started = Instant::now();
    let err = SegmentLog::open(dir.path(), LogOptions::default()).expect_err("second writer");
    assert!(started.elapsed() < Duration::from_secs(2));
    let message = err.to_string();
    assert!(matches!(err, LogError::Locked { .. }), "{message}");
    assert!(
        message.contains(&format!(
            "another mailshot process is writing to {}",
            dir.path().display()
        )),
        "{message}"
    );
    assert!(
        message.contains(&format!("pid {}", std::process::id())),
        "{message}"
    );
    // Readers are not writers: they open and read while the writer holds the lock.
    let reader = SegmentLog::open_read_only(dir.path()).expect("reader");
    assert_eq!(read_all(&reader), (0..3).map(expected).collect::<Vec<_>>());
    let mut reader = reader;
    assert!(matches!(
        reader.append(&[rec(3)]),
        Err(LogError::ReadOnly { .. })
    ));
    drop(first);
    let mut again = SegmentLog::open(dir.path(), LogOptions::default()).expect("lock released");
    assert_eq!(append_range(&mut again, 3, 4), 3);
}

#[test]
fn a_read_only_handle_on_a_missing_log_is_empty_and_follows_its_creation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let reader = SegmentLog::open_read_only(dir.path()).expect("reader");
    assert_eq!(reader.end_offset().expect("end"), 0);
    assert_eq!(reader.read_at(0).expect("read_at"), None);
    assert_eq!(reader.read_from(0).expect("read_from").count(), 0);
    assert!(!dir.path().join("log").exists(), "a reader creates nothing");
    let mut log = SegmentLog::open(dir.path(), LogOptions::default()).expect("open");
    append_range(&mut log, 0, 2);
    assert_eq!(reader.end_offset().expect("end"), 2);
    assert_eq!(reader.read_at(1).expect("read_at"), Some(expected(1)));
}

#[test]
fn a_reader_stops_cleanly_at_a_partial_frame_and_sees_it_once_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = SegmentLog::open(dir.path(), LogOptions::default()).expect("open");
    append_range(&mut log, 0, 5);
    drop(log);
    // Simulate a writer midway through writing record 5: its bytes arrive in two parts.
    let mut frame = Vec::new();
    {
        let scratch = tempfile::tempdir().expect("tempdir");
        let mut other = SegmentLog::open(scratch.path(), LogOptions::default()).expect("open");
        append_range(&mut other, 0, 6);
        let bytes = fs::read(seg_path(scratch.path(), 0)).expect("read");
        frame.extend_from_slice(&bytes[bytes.len() - frame_len(5) as usize..]);
    }
    let seg = seg_path(dir.path(), 0);
    let mut f = OpenOptions::new().append(true).open(&seg).expect("open");
    f.write_all(&frame[..frame.len() / 2]).expect("first half");
    let reader = SegmentLog::open_read_only(dir.path()).expect("reader");
    assert_eq!(reader.end_offset().expect("end"), 5);
    assert_eq!(reader.read_at(5).expect("read_at"), None);
    assert_eq!(reader.read_from(0).expect("read_from").count(), 5);
    f.write_all(&frame[frame.len() / 2..]).expect("second half");
    assert_eq!(reader.end_offset().expect("end"), 6);
    assert_eq!(reader.read_at(5).expect("read_at"), Some(expected(5)));
}

#[test]
fn a_reader_thread_follows_a_writer_that_appends_continuously() {
    const TOTAL: u64 = 3000;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = SegmentLog::open(dir.path(), small(8 * 1024)).expect("open");
    let reader = SegmentLog::open_read_only(dir.path()).expect("reader");
    let handle = std::thread::spawn(move || -> Result<(u64, u64), String> {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut cursor = 0;
        let mut polls = 0;
        while cursor < TOTAL {
            if Instant::now() > deadline {
                return Err(format!("reader stuck at {cursor}"));
            }
            polls += 1;
            let end = reader.end_offset().map_err(|e| e.to_string())?;
            if end < cursor {
                return Err(format!("end went back from {cursor} to {end}"));
            }
            for item in reader.read_from(cursor).map_err(|e| e.to_string())? {
                let record = item.map_err(|e| format!("at {cursor}: {e}"))?;
                if record != expected(cursor) {
                    return Err(format!("record {cursor} differs: {record:?}"));
                }
                cursor += 1;
            }
            if cursor < end {
                return Err(format!("read_from stopped at {cursor} before end {end}"));
            }
            if cursor > 0 {
                let last = reader.read_at(cursor - 1).map_err(|e| e.to_string())?;
                if last != Some(expected(cursor - 1)) {
                    return Err(format!("read_at {} differs", cursor - 1));
                }
            }
        }
        Ok((cursor, polls))
    });
    let mut rng = fastrand::Rng::with_seed(11);
    let mut next = 0;
    while next < TOTAL {
        let n = rng.u64(1..=25).min(TOTAL - next);
        assert_eq!(append_range(&mut log, next, next + n), next);
        next += n;
    }
    let (seen, polls) = handle.join().expect("reader thread").expect("reader");
    assert_eq!(seen, TOTAL);
    assert!(polls > 1, "the reader polled while the writer appended");
    assert!(segments(dir.path()).len() > 10, "rolled while being read");
}

#[test]
fn indexes_are_rebuilt_when_deleted_truncated_or_garbled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (last_base, _) = pristine_log(dir.path());
    let names = segments(dir.path());
    let bases: Vec<u64> = names
        .iter()
        .map(|n| n.trim_end_matches(".seg").parse().expect("base"))
        .collect();
    let originals: Vec<Vec<u8>> = bases
        .iter()
        .map(|&b| fs::read(idx_path(dir.path(), b)).expect("idx"))
        .collect();
    // The index of the first segment holds the position of each of its records.
    let mut pos = 0u64;
    let mut want0 = Vec::new();
    for i in 0..bases[1] {
        want0.extend_from_slice(&pos.to_le_bytes());
        pos += frame_len(i);
    }
    assert_eq!(originals[0], want0);

    for mode in [VerifyOnOpen::All, VerifyOnOpen::LastSegment] {
        fs::remove_file(idx_path(dir.path(), bases[0])).expect("rm");
        OpenOptions::new()
            .write(true)
            .open(idx_path(dir.path(), bases[1]))
            .and_then(|f| f.set_len(5))
            .expect("truncate");
        let garbled = vec![0xab; originals[originals.len() - 1].len()];
        fs::write(idx_path(dir.path(), last_base), garbled).expect("garble");
        let mut longer = originals[2].clone();
        longer.extend_from_slice(&[0; 24]);
        fs::write(idx_path(dir.path(), bases[2]), longer).expect("lengthen");

        // Before any writer repairs them, readers still find every record.
        let reader = SegmentLog::open_read_only(dir.path()).expect("reader");
        assert_eq!(reader.end_offset().expect("end"), 20);
        for i in 0..20 {
            assert_eq!(
                reader.read_at(i).expect("read_at"),
                Some(expected(i)),
                "{i}"
            );
            assert_eq!(
                reader
                    .read_from(i)
                    .expect("read_from")
                    .next()
                    .map(|r| r.expect("ok")),
                Some(expected(i))
            );
        }
        let log = SegmentLog::open(
            dir.path(),
            LogOptions {
                segment_bytes: 600,
                verify_on_open: mode,
                ..LogOptions::default()
            },
        )
        .expect("open");
        for (b, original) in bases.iter().zip(&originals) {
            assert_eq!(
                &fs::read(idx_path(dir.path(), *b)).expect("idx"),
                original,
                "index of segment {b} rebuilt ({mode:?})"
            );
        }
        assert_eq!(read_all(&log), (0..20).map(expected).collect::<Vec<_>>());
    }
}

#[test]
fn oversized_records_are_refused_and_leave_the_log_unchanged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = SegmentLog::open(dir.path(), LogOptions::default()).expect("open");
    append_range(&mut log, 0, 2);
    let too_many = NewRecord {
        ingest_time: Timestamp(0),
        identities: vec![FactId([0; 16]); 70_000],
        raw: "{}".to_owned(),
        compact: None,
    };
    let err = log.append(&[rec(2), too_many]).expect_err("too large");
    assert!(
        matches!(err, LogError::RecordTooLarge { index: 1, .. }),
        "{err}"
    );
    assert_eq!(log.end_offset().expect("end"), 2);
    assert_eq!(append_range(&mut log, 2, 3), 2);
    assert_eq!(read_all(&log), (0..3).map(expected).collect::<Vec<_>>());
}
