//! Where NDJSON input comes from, and reading it line by line: the part of `ingest` the
//! embedded and AWS runtimes share.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;

use crate::progress::Progress;

/// Where NDJSON comes from.
#[derive(Debug, Clone)]
pub enum LineSource {
    File(PathBuf),
    Stdin,
}

impl LineSource {
    /// `-` is stdin; anything else a file path.
    pub fn parse(arg: &str) -> LineSource {
        if arg == "-" {
            LineSource::Stdin
        } else {
            LineSource::File(PathBuf::from(arg))
        }
    }

    /// The name rejections and progress show: the path, or `stdin`.
    pub fn name(&self) -> String {
        match self {
            LineSource::File(p) => p.display().to_string(),
            LineSource::Stdin => "stdin".to_string(),
        }
    }

    /// Opens the source; a file's size is known (for the progress bar), stdin's is not.
    pub fn open(&self) -> std::io::Result<(Box<dyn Read + Send>, Option<u64>)> {
        match self {
            LineSource::Stdin => Ok((Box::new(std::io::stdin()), None)),
            LineSource::File(path) => {
                let file = File::open(path)?;
                let size = file.metadata().ok().map(|m| m.len());
                Ok((Box::new(file), size))
            }
        }
    }
}

/// The default maximum size of one input line, in bytes: 1 MiB, the largest Kinesis record.
pub const DEFAULT_MAX_INPUT_BYTES: u64 = 1 << 20;

/// How many first bytes of a line over the size limit are handed out (and quarantined).
pub const TOO_LARGE_HEAD_BYTES: usize = 1024;

/// The reason a line over the size limit is rejected with (the quarantine keeps its first
/// bytes only).
pub fn too_large_reason(size: u64, max: u64) -> String {
    format!(
        "too large: {size} bytes, over the limit of {max} (--max-input-bytes); only the first {TOO_LARGE_HEAD_BYTES} bytes are kept"
    )
}

/// One non-blank line of NDJSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line<'a> {
    /// A line within the size limit, its line ending stripped.
    Whole { line_no: u64, text: &'a [u8] },
    /// A line over the size limit: only its first [`TOO_LARGE_HEAD_BYTES`] bytes were kept,
    /// the rest was read past, never held in memory. `size` counts its bytes without the
    /// line ending.
    TooLarge {
        line_no: u64,
        head: &'a [u8],
        size: u64,
    },
}

/// Reads NDJSON: numbers every line from 1 (blank ones included), strips the line ending
/// (`\n` or `\r\n`), skips blank lines, and advances a progress display by the bytes read.
/// A line that lies whole in the read buffer is handed out from there, uncopied; one that
/// crosses the buffer's end is gathered in a second buffer, which serves every such line.
///
/// Memory stays bounded whatever the input: a line longer than the size limit is read
/// through to its newline keeping only its first bytes, and handed out as [`Line::TooLarge`]
/// (one bad line must not stop an ingest, nor make it hold gigabytes). Such a line is never
/// treated as blank, even if it is all whitespace.
pub struct NdjsonLines<R> {
    reader: BufReader<R>,
    /// Bytes of the read buffer handed out as the last line, consumed on the next call.
    handed_out: usize,
    line: Vec<u8>,
    line_no: u64,
    /// The size limit of a line, without its line ending.
    max_len: u64,
    /// `None` once finished.
    progress: Option<Progress>,
}

impl<R: Read> NdjsonLines<R> {
    /// Lines of `reader`, at most `max_len` bytes each (without the line ending), with
    /// `progress` advanced as they are read.
    pub fn new(reader: R, progress: Progress, max_len: u64) -> NdjsonLines<R> {
        NdjsonLines {
            reader: BufReader::with_capacity(1 << 20, reader),
            handed_out: 0,
            line: Vec::with_capacity(64 * 1024),
            line_no: 0,
            max_len,
            progress: Some(progress),
        }
    }

    /// The next non-blank line, or `None` at the end of the input (the progress display is
    /// then finished).
    pub fn next_line(&mut self) -> std::io::Result<Option<Line<'_>>> {
        let (in_buffer, start, end, size) = loop {
            self.reader.consume(std::mem::take(&mut self.handed_out));
            let buffered = self.reader.fill_buf()?;
            let (in_buffer, n, content_len) = match memchr::memchr(b'\n', buffered) {
                Some(end) => (true, (end + 1) as u64, None),
                None => {
                    let (n, content_len) = self.gather()?;
                    (false, n, Some(content_len))
                }
            };
            if n == 0 {
                if let Some(progress) = self.progress.take() {
                    progress.finish();
                }
                return Ok(None);
            }
            self.line_no += 1;
            if let Some(progress) = &mut self.progress {
                progress.inc(n);
            }
            let line = if in_buffer {
                self.handed_out = n as usize;
                &self.reader.buffer()[..n as usize]
            } else {
                &self.line[..]
            };
            let mut end = line.len();
            while end > 0 && matches!(line[end - 1], b'\n' | b'\r') {
                end -= 1;
            }
            // A byte-order mark opening the file (editors and exports on Windows write one)
            // is not part of the first input.
            let start = if self.line_no == 1 && line[..end].starts_with(UTF8_BOM) {
                UTF8_BOM.len()
            } else {
                0
            };
            // A gathered line may have been cut short: its length was counted as it was read.
            let size = content_len.unwrap_or(end as u64) - start as u64;
            if size > self.max_len {
                break (
                    in_buffer,
                    start,
                    end.min(start + TOO_LARGE_HEAD_BYTES),
                    Some(size),
                );
            }
            if !line[start..end].iter().all(u8::is_ascii_whitespace) {
                break (in_buffer, start, end, None);
            }
        };
        let text = if in_buffer {
            &self.reader.buffer()[start..end]
        } else {
            &self.line[start..end]
        };
        let line_no = self.line_no;
        Ok(Some(match size {
            None => Line::Whole { line_no, text },
            Some(size) => Line::TooLarge {
                line_no,
                head: text,
                size,
            },
        }))
    }

    /// Reads one line that crosses the read buffer's end into `self.line`, keeping at most
    /// `max(max_len, TOO_LARGE_HEAD_BYTES)` bytes of it (without its `\n`). Returns the bytes
    /// read (0 at the end of the input) and the line's length without its line ending.
    fn gather(&mut self) -> std::io::Result<(u64, u64)> {
        let keep = usize::try_from(self.max_len)
            .unwrap_or(usize::MAX)
            .max(TOO_LARGE_HEAD_BYTES);
        self.line.clear();
        let mut read = 0u64;
        let mut before_newline = 0u64;
        // `\r`s ending what was read so far: part of the line ending if a `\n` follows.
        let mut trailing_cr = 0u64;
        loop {
            let buffered = self.reader.fill_buf()?;
            if buffered.is_empty() {
                break;
            }
            let (chunk, done) = match memchr::memchr(b'\n', buffered) {
                Some(i) => (&buffered[..i], true),
                None => (buffered, false),
            };
            let room = keep.saturating_sub(self.line.len());
            self.line.extend_from_slice(&chunk[..chunk.len().min(room)]);
            trailing_cr = match chunk.iter().rposition(|&b| b != b'\r') {
                Some(p) => (chunk.len() - 1 - p) as u64,
                None => trailing_cr + chunk.len() as u64,
            };
            before_newline += chunk.len() as u64;
            let used = chunk.len() + usize::from(done);
            self.reader.consume(used);
            read += used as u64;
            if done {
                break;
            }
        }
        Ok((read, before_newline - trailing_cr))
    }
}

/// The UTF-8 byte-order mark.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line of `lines` as (number, text), `TOO LARGE (size): head` for those over the limit.
    fn all<R: Read>(mut lines: NdjsonLines<R>) -> Vec<(u64, String)> {
        let mut got = Vec::new();
        while let Some(line) = lines.next_line().unwrap() {
            got.push(match line {
                Line::Whole { line_no, text } => {
                    (line_no, String::from_utf8(text.to_vec()).unwrap())
                }
                Line::TooLarge {
                    line_no,
                    head,
                    size,
                } => (
                    line_no,
                    format!("TOO LARGE ({size}): {}", String::from_utf8_lossy(head)),
                ),
            });
        }
        got
    }

    fn lines_of(text: &[u8], max_len: u64) -> NdjsonLines<&[u8]> {
        NdjsonLines::new(text, Progress::new("test", None, "bytes"), max_len)
    }

    #[test]
    fn lines_are_numbered_stripped_and_blank_ones_skipped() {
        let text = "{\"a\":1}\r\n\n   \n{\"b\":2}\n{\"c\":3}";
        assert_eq!(
            all(lines_of(text.as_bytes(), DEFAULT_MAX_INPUT_BYTES)),
            vec![
                (1, "{\"a\":1}".to_string()),
                (4, "{\"b\":2}".to_string()),
                (5, "{\"c\":3}".to_string()),
            ]
        );
    }

    /// A reader that hands out at most `chunk` bytes per read, so lines cross the end of
    /// the read buffer (as one in a few hundred does in a big file).
    struct Trickle<'a> {
        text: &'a [u8],
        chunk: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.chunk.min(out.len()).min(self.text.len());
            out[..n].copy_from_slice(&self.text[..n]);
            self.text = &self.text[n..];
            Ok(n)
        }
    }

    #[test]
    fn lines_crossing_the_read_buffer_are_read_as_whole_ones() {
        let text = "\u{FEFF}{\"a\":1}\r\n\n  \r\n{\"bb\":22}\n{\"c\":\"\u{FEFF}\"}\n{}";
        let expected = vec![
            (1, "{\"a\":1}".to_string()),
            (4, "{\"bb\":22}".to_string()),
            (5, "{\"c\":\"\u{FEFF}\"}".to_string()),
            (6, "{}".to_string()),
        ];
        for chunk in 1..=text.len() {
            let reader = Trickle {
                text: text.as_bytes(),
                chunk,
            };
            let lines = NdjsonLines::new(
                reader,
                Progress::new("test", None, "bytes"),
                DEFAULT_MAX_INPUT_BYTES,
            );
            assert_eq!(all(lines), expected, "reads of {chunk} bytes");
        }
    }

    #[test]
    fn a_byte_order_mark_opening_the_file_is_dropped_and_only_there() {
        let text = "\u{FEFF}{\"a\":1}\n\u{FEFF}{\"b\":2}\n";
        let mut lines = lines_of(text.as_bytes(), DEFAULT_MAX_INPUT_BYTES);
        assert_eq!(
            lines.next_line().unwrap(),
            Some(Line::Whole {
                line_no: 1,
                text: b"{\"a\":1}"
            })
        );
        // Inside the file it is data: the input is rejected as not JSON, not silently changed.
        assert_eq!(
            lines.next_line().unwrap(),
            Some(Line::Whole {
                line_no: 2,
                text: "\u{FEFF}{\"b\":2}".as_bytes()
            })
        );
        assert_eq!(lines.next_line().unwrap(), None);
    }

    #[test]
    fn a_line_over_the_limit_is_handed_out_as_too_large_with_its_size_and_the_rest_read_on() {
        // Limit 10: the 10-byte line passes (CRLF and BOM not counted), the 11-byte one and
        // the 12 spaces do not; the lines around them are read as usual.
        let text = "\u{FEFF}0123456789\r\n{\"a\":1}\n0123456789a\r\n            \n{\"b\":2}\r\r\n";
        let expected = vec![
            (1, "0123456789".to_string()),
            (2, "{\"a\":1}".to_string()),
            (3, "TOO LARGE (11): 0123456789a".to_string()),
            (4, "TOO LARGE (12):             ".to_string()),
            (5, "{\"b\":2}".to_string()),
        ];
        assert_eq!(all(lines_of(text.as_bytes(), 10)), expected);
        // The same when the lines cross the read buffer's end, in reads of every size.
        for chunk in 1..=text.len() {
            let reader = Trickle {
                text: text.as_bytes(),
                chunk,
            };
            let lines = NdjsonLines::new(reader, Progress::new("test", None, "bytes"), 10);
            assert_eq!(all(lines), expected, "reads of {chunk} bytes");
        }
    }

    #[test]
    fn a_line_of_64_mib_is_read_past_keeping_only_its_first_kibibyte() {
        let huge = std::io::repeat(b'x').take(64 << 20);
        let reader = huge.chain(&b"\n{\"after\":1}\n"[..]);
        let mut lines = NdjsonLines::new(
            reader,
            Progress::new("test", None, "bytes"),
            DEFAULT_MAX_INPUT_BYTES,
        );
        let head = vec![b'x'; TOO_LARGE_HEAD_BYTES];
        assert_eq!(
            lines.next_line().unwrap(),
            Some(Line::TooLarge {
                line_no: 1,
                head: &head,
                size: 64 << 20
            })
        );
        // Never more than the limit was gathered: memory is bounded by it, not by the line.
        assert!(
            lines.line.capacity() <= 2 << 20,
            "{}",
            lines.line.capacity()
        );
        assert_eq!(
            lines.next_line().unwrap(),
            Some(Line::Whole {
                line_no: 2,
                text: b"{\"after\":1}"
            })
        );
        assert_eq!(lines.next_line().unwrap(), None);
    }
}
