//! The embedded runtime as a [`Backend`]: one data dir, its writer opened on the first change
//! (and kept), its reader opened on the first query.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use mailshot_domain::SystemEvent;
use mailshot_engine::backend::{Backend, BackendError, Queries, TableUsage, Usage};
use mailshot_engine::clock::now;
use mailshot_engine::lines::LineSource;
use mailshot_engine::reactions::RunnerStats;
use mailshot_engine::report::{IngestSummary, Rejection, VerifyReport};
use mailshot_projections::query::Query;
use mailshot_projections::{Projection, ProjectionReader, Subscriber};
use mailshot_reactors::Reactor;
use serde_json::{Value, json};

use crate::outbox::{OutboxEffects, outbox_dir};
use crate::reactor_runner::ReactorRunner;
use crate::{EmbeddedError, Reader, Writer, queries, rebuild, verify};

/// The embedded runtime over the data dir it was made for.
pub struct EmbeddedBackend {
    dir: PathBuf,
    writer: Option<Writer>,
    queries: Arc<DataDirQueries>,
}

impl EmbeddedBackend {
    /// The backend of the data dir `dir`. Nothing is opened yet.
    pub fn new(dir: &Path) -> EmbeddedBackend {
        EmbeddedBackend {
            dir: dir.to_path_buf(),
            writer: None,
            queries: Arc::new(DataDirQueries::new(dir)),
        }
    }

    /// The data dir.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The writer, opened by `open` on first use.
    fn writer_with(
        &mut self,
        open: fn(&Path) -> Result<Writer, EmbeddedError>,
    ) -> Result<&mut Writer, BackendError> {
        if self.writer.is_none() {
            // One process opens an LMDB environment once: a reader this backend opened for
            // an earlier call (`unsuppress` reads the subscriber first) is closed, and queries
            // read the writer's store from now on.
            self.queries.close_reader();
            self.writer = Some(open(&self.dir).map_err(BackendError::failed)?);
        }
        Ok(self.writer.as_mut().expect("opened above"))
    }

    /// The writer, opened for appends on first use.
    pub fn writer(&mut self) -> Result<&mut Writer, BackendError> {
        self.writer_with(Writer::open)
    }
}

impl Backend for EmbeddedBackend {
    fn place(&self) -> String {
        self.queries.place()
    }

    fn query(&self, query: &Query) -> Result<Value, BackendError> {
        match &self.writer {
            // One process opens an LMDB environment once: with the writer open, read its store.
            Some(writer) => {
                let snapshot = writer.store.snapshot().map_err(BackendError::failed)?;
                Ok(queries::answer(&writer.log, &snapshot, query, now())?)
            }
            None => self.queries.query(query),
        }
    }

    fn queries(&self) -> Arc<dyn Queries> {
        self.queries.clone()
    }

    fn command_prefix(&self) -> String {
        format!("mailshot --data {}", self.dir.display())
    }

    fn quarantine_place(&self) -> String {
        format!("{}/quarantine/", self.dir.display())
    }

    fn ingest(
        &mut self,
        sources: &[LineSource],
        max_input_bytes: u64,
        on_reject: &mut dyn FnMut(&Rejection),
    ) -> Result<IngestSummary, BackendError> {
        let writer = self.writer()?;
        writer.set_max_input_bytes(max_input_bytes);
        writer
            .ingest(sources, on_reject, |_| {})
            .map_err(BackendError::failed)
    }

    fn folds_at_ingest(&self) -> bool {
        true
    }

    fn settle(&mut self) -> Result<Option<Value>, BackendError> {
        Ok(None)
    }

    fn effects_are_real(&self) -> bool {
        false
    }

    fn attach_reactors(&mut self, reactor: Reactor) -> Result<(), BackendError> {
        let writer = self.writer()?;
        let effects = OutboxEffects::new(writer.dir());
        writer
            .attach_reactors(ReactorRunner::new(reactor, Box::new(effects)))
            .map_err(BackendError::failed)
    }

    fn reactor_stats(&self) -> Option<RunnerStats> {
        self.writer.as_ref().and_then(Writer::reactor_stats)
    }

    fn effects_report(&self) -> Option<String> {
        let dir = outbox_dir(&self.dir);
        let emails = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".eml"))
                    .count()
            })
            .unwrap_or(0);
        Some(format!(
            "outbox: {emails} rendered emails (.eml) in {}",
            dir.display()
        ))
    }

    fn subscriber(&mut self, email: &str) -> Result<Option<Subscriber>, BackendError> {
        let writer = self.writer()?;
        let snapshot = writer.store.snapshot().map_err(BackendError::failed)?;
        snapshot.subscriber(email).map_err(BackendError::failed)
    }

    fn actor(&self) -> Result<String, BackendError> {
        Ok(mailshot_engine::actor::os_user())
    }

    fn append_admin(&mut self, events: &[SystemEvent]) -> Result<(), BackendError> {
        let lines: Vec<String> = events.iter().map(SystemEvent::to_json).collect();
        let writer = self.writer()?;
        writer.ingest_raw(&lines).map_err(BackendError::failed)?;
        writer.run_reactors().map_err(BackendError::failed)
    }

    fn replay(&mut self, projection: Option<Projection>) -> Result<Value, BackendError> {
        let projections = match projection {
            Some(p) => vec![p],
            None => Projection::all().to_vec(),
        };
        let writer = self.writer_with(Writer::open_for_rebuild)?;
        let started = std::time::Instant::now();
        let records = rebuild(writer, &projections).map_err(BackendError::failed)?;
        let names: Vec<_> = projections.iter().map(|p| p.name()).collect();
        eprintln!(
            "replayed {} in {:.1}s",
            names.join(", "),
            started.elapsed().as_secs_f64()
        );
        Ok(json!({"projections": names, "records": records}))
    }

    fn verify(&mut self) -> Result<Vec<VerifyReport>, BackendError> {
        let writer = self.writer_with(Writer::open_for_rebuild)?;
        verify(writer).map_err(BackendError::failed)
    }

    fn usage(&mut self) -> Result<Usage, BackendError> {
        let tables = match &self.writer {
            Some(writer) => writer.store.table_stats(),
            None => self.queries.reader()?.store.table_stats(),
        }
        .map_err(BackendError::failed)?;
        Ok(Usage {
            bytes_on_disk: Some(allocated_bytes(&self.dir)),
            tables: tables
                .into_iter()
                .map(|t| TableUsage {
                    name: t.name,
                    rows: t.rows,
                    bytes: t.bytes,
                })
                .collect(),
            items_read: None,
        })
    }
}

/// The bytes allocated to the files under `path`: blocks, not apparent lengths (LMDB's map
/// file is sparse).
fn allocated_bytes(path: &Path) -> u64 {
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(path) {
        for e in entries.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => total += allocated_bytes(&e.path()),
                Ok(m) => total += std::os::unix::fs::MetadataExt::blocks(&m) * 512,
                Err(_) => {}
            }
        }
    }
    total
}

/// Queries of a data dir from any thread: its reader is opened read-only on the first query
/// that finds data there (a failed open is retried on the next), and every query reads a
/// fresh snapshot, so it answers what a concurrent `ingest` has committed.
pub struct DataDirQueries {
    dir: PathBuf,
    reader: Mutex<Option<Arc<Reader>>>,
}

impl DataDirQueries {
    /// Queries of the data dir `dir`. Nothing is opened yet.
    pub fn new(dir: &Path) -> DataDirQueries {
        DataDirQueries {
            dir: dir.to_path_buf(),
            reader: Mutex::new(None),
        }
    }

    /// Drops the reader opened so far, if any (it closes when no query holds it any more).
    fn close_reader(&self) {
        self.reader
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
    }

    fn reader(&self) -> Result<Arc<Reader>, BackendError> {
        let mut slot = self
            .reader
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(reader) = slot.as_ref() {
            return Ok(Arc::clone(reader));
        }
        let reader = Reader::open(&self.dir).map_err(|e| {
            if self.dir.join("store").is_dir() || self.dir.join("log").is_dir() {
                BackendError::failed(e)
            } else {
                // Nothing there: most likely the wrong `--data`, or nothing ingested yet.
                BackendError::Refused(format!(
                    "no data yet in {dir} (run `mailshot --data {dir} ingest FILE` first)",
                    dir = self.dir.display()
                ))
            }
        })?;
        let reader = Arc::new(reader);
        *slot = Some(Arc::clone(&reader));
        Ok(reader)
    }
}

impl Queries for DataDirQueries {
    fn place(&self) -> String {
        format!("data dir {}", self.dir.display())
    }

    fn query(&self, query: &Query) -> Result<Value, BackendError> {
        let reader = self.reader()?;
        Ok(queries::run_query(&reader, query, now())?)
    }
}
