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

/// Reads NDJSON: numbers every line from 1 (blank ones included), strips the line ending
/// (`\n` or `\r\n`), skips blank lines, and advances a progress display by the bytes read.
/// A line that lies whole in the read buffer is handed out from there, uncopied; one that
/// crosses the buffer's end is gathered in a second buffer, which serves every such line.
pub struct NdjsonLines<R> {
    reader: BufReader<R>,
    /// Bytes of the read buffer handed out as the last line, consumed on the next call.
    handed_out: usize,
    line: Vec<u8>,
    line_no: u64,
    /// `None` once finished.
    progress: Option<Progress>,
}

impl<R: Read> NdjsonLines<R> {
    /// Lines of `reader`, with `progress` advanced as they are read.
    pub fn new(reader: R, progress: Progress) -> NdjsonLines<R> {
        NdjsonLines {
            reader: BufReader::with_capacity(1 << 20, reader),
            handed_out: 0,
            line: Vec::with_capacity(64 * 1024),
            line_no: 0,
            progress: Some(progress),
        }
    }

    /// The next non-blank line and its number, or `None` at the end of the input (the
    /// progress display is then finished).
    pub fn next_line(&mut self) -> std::io::Result<Option<(u64, &[u8])>> {
        let (in_buffer, start, end) = loop {
            self.reader.consume(std::mem::take(&mut self.handed_out));
            let buffered = self.reader.fill_buf()?;
            let (in_buffer, n) = match memchr::memchr(b'\n', buffered) {
                Some(end) => (true, end + 1),
                None => {
                    self.line.clear();
                    (false, self.reader.read_until(b'\n', &mut self.line)?)
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
                progress.inc(n as u64);
            }
            let line = if in_buffer {
                self.handed_out = n;
                &self.reader.buffer()[..n]
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
            if !line[start..end].iter().all(u8::is_ascii_whitespace) {
                break (in_buffer, start, end);
            }
        };
        let line = if in_buffer {
            &self.reader.buffer()[start..end]
        } else {
            &self.line[start..end]
        };
        Ok(Some((self.line_no, line)))
    }
}

/// The UTF-8 byte-order mark.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_numbered_stripped_and_blank_ones_skipped() {
        let text = "{\"a\":1}\r\n\n   \n{\"b\":2}\n{\"c\":3}";
        let mut lines = NdjsonLines::new(text.as_bytes(), Progress::new("test", None, "bytes"));
        let mut got = Vec::new();
        while let Some((n, line)) = lines.next_line().unwrap() {
            got.push((n, String::from_utf8(line.to_vec()).unwrap()));
        }
        assert_eq!(
            got,
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
            let mut lines = NdjsonLines::new(reader, Progress::new("test", None, "bytes"));
            let mut got = Vec::new();
            while let Some((n, line)) = lines.next_line().unwrap() {
                got.push((n, String::from_utf8(line.to_vec()).unwrap()));
            }
            assert_eq!(got, expected, "reads of {chunk} bytes");
        }
    }

    #[test]
    fn a_byte_order_mark_opening_the_file_is_dropped_and_only_there() {
        let text = "\u{FEFF}{\"a\":1}\n\u{FEFF}{\"b\":2}\n";
        let mut lines = NdjsonLines::new(text.as_bytes(), Progress::new("test", None, "bytes"));
        let (n, first) = lines.next_line().unwrap().unwrap();
        assert_eq!((n, first), (1, &b"{\"a\":1}"[..]));
        // Inside the file it is data: the input is rejected as not JSON, not silently changed.
        let (n, second) = lines.next_line().unwrap().unwrap();
        assert_eq!((n, second), (2, "\u{FEFF}{\"b\":2}".as_bytes()));
        assert_eq!(lines.next_line().unwrap(), None);
    }
}
