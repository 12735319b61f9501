//! Sequential reads: the [`Records`] iterator behind [`SegmentLog::read_from`](super::SegmentLog::read_from).

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use mailshot_domain::log::{LogRecord, Offset};

use super::direct::SequentialReader;
use super::frame::{self, HEADER_LEN, Header};
use super::gaps::{self, Gap};
use super::segment::seg_name;
use super::{LogError, corrupt};

/// Iterator over records, from [`SegmentLog::read_from`]. Owns its file handles.
pub struct Records {
    pub(super) log_dir: PathBuf,
    pub(super) bases: Vec<Offset>,
    /// The log's gaps: a segment followed by one ends at the gap's start.
    pub(super) gaps: Vec<Gap>,
    /// Index in `bases` of the segment being read.
    pub(super) seg: usize,
    pub(super) seg_end: Offset,
    pub(super) path: PathBuf,
    pub(super) reader: Option<SequentialReader>,
    pub(super) pos: u64,
    pub(super) next: Offset,
    pub(super) end: Offset,
    pub(super) payload: Vec<u8>,
    pub(super) done: bool,
}

impl Records {
    pub(super) fn empty() -> Records {
        Records {
            log_dir: PathBuf::new(),
            bases: Vec::new(),
            gaps: Vec::new(),
            seg: 0,
            seg_end: 0,
            path: PathBuf::new(),
            reader: None,
            pos: 0,
            next: 0,
            end: 0,
            payload: Vec::new(),
            done: true,
        }
    }

    /// The next record, or `None` at the end.
    fn next_record(&mut self) -> Result<Option<LogRecord>, LogError> {
        while self.next == self.seg_end && self.next < self.end {
            // Move to the next segment: it starts exactly at this offset, or where the gap
            // recorded at this offset ends.
            self.seg += 1;
            let base = self.bases.get(self.seg).copied().unwrap_or(self.next);
            self.path = self.log_dir.join(seg_name(base));
            if base != gaps::skip(&self.gaps, self.next) {
                return Err(corrupt(
                    &self.path,
                    0,
                    self.next,
                    "no segment starts at this offset",
                ));
            }
            self.next = base;
            self.seg_end = match self.bases.get(self.seg + 1) {
                Some(&next_base) => gaps::end_before(&self.gaps, next_base),
                None => self.end,
            };
            let reader =
                SequentialReader::open(&self.path, 0).map_err(|e| LogError::io(&self.path, e))?;
            self.reader = Some(reader);
            self.pos = 0;
        }
        if self.next >= self.end {
            return Ok(None);
        }
        let Some(reader) = self.reader.as_mut() else {
            return Err(corrupt(&self.path, self.pos, self.next, "no reader"));
        };
        let missing = |e: io::Error, path: &Path, pos: u64, next: Offset| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                corrupt(path, pos, next, "segment ends inside a committed record")
            } else {
                LogError::io(path, e)
            }
        };
        let mut hb = [0u8; HEADER_LEN];
        reader
            .read_exact(&mut hb)
            .map_err(|e| missing(e, &self.path, self.pos, self.next))?;
        let Some(header) = Header::parse(&hb) else {
            return Err(corrupt(
                &self.path,
                self.pos,
                self.next,
                frame::FrameFault::BadLength.to_string(),
            ));
        };
        self.payload.resize(header.payload_len, 0);
        reader
            .read_exact(&mut self.payload)
            .map_err(|e| missing(e, &self.path, self.pos, self.next))?;
        let record = frame::check(&header, &self.payload, self.next)
            .and_then(|()| frame::decode(&self.payload))
            .map_err(|fault| corrupt(&self.path, self.pos, self.next, fault.to_string()))?;
        self.pos += header.frame_len();
        self.next += 1;
        Ok(Some(record))
    }
}

impl Iterator for Records {
    type Item = Result<LogRecord, LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.next >= self.end {
            return None;
        }
        let item = self.next_record();
        // After an error the position is unknown: stop rather than skip anything.
        self.done = !matches!(item, Ok(Some(_)));
        item.transpose()
    }
}
