//! `init`: creates the stream and the tables (with their indexes, TTL and streams) when they
//! are absent. Idempotent: resources that exist are left as they are.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use serde::Serialize;

use super::{Aws, AwsError, Tables};

/// What `init` found or created.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct InitReport {
    pub stream: String,
    pub tables: Vec<String>,
    /// Resources this call created (empty when everything existed).
    pub created: Vec<String>,
    pub generation: u64,
}

fn attr(name: &str, t: ScalarAttributeType) -> Result<AttributeDefinition, AwsError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(t)
        .build()
        .map_err(|e| AwsError::Other(format!("attribute {name}: {e}")))
}

fn key_el(name: &str, t: KeyType) -> Result<KeySchemaElement, AwsError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(t)
        .build()
        .map_err(|e| AwsError::Other(format!("key {name}: {e}")))
}

fn gsi(name: &str, hash: &str) -> Result<GlobalSecondaryIndex, AwsError> {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key_el(hash, KeyType::Hash)?)
        .key_schema(key_el("sk", KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(|e| AwsError::Other(format!("index {name}: {e}")))
}

impl Aws {
    /// Creates one table (pk string, sk of `sk_type`) unless it exists. Returns true if created.
    fn ensure_table(
        &self,
        name: &str,
        sk_type: ScalarAttributeType,
        events: bool,
    ) -> Result<bool, AwsError> {
        let exists = match self.block(self.ddb.describe_table().table_name(name).send()) {
            Ok(_) => true,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                false
            }
            Err(e) => return Err(AwsError::sdk("DescribeTable", name, e)),
        };
        if exists {
            return Ok(false);
        }
        let mut req = self
            .ddb
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("pk", ScalarAttributeType::S)?)
            .attribute_definitions(attr("sk", sk_type)?)
            .key_schema(key_el("pk", KeyType::Hash)?)
            .key_schema(key_el("sk", KeyType::Range)?);
        if events {
            req = req
                .attribute_definitions(attr("templateKey", ScalarAttributeType::S)?)
                .attribute_definitions(attr("sequenceId", ScalarAttributeType::S)?)
                .global_secondary_indexes(gsi("TemplateIndex", "templateKey")?)
                .global_secondary_indexes(gsi("SequenceIndex", "sequenceId")?)
                .stream_specification(
                    StreamSpecification::builder()
                        .stream_enabled(true)
                        .stream_view_type(StreamViewType::NewAndOldImages)
                        .build()
                        .map_err(|e| AwsError::Other(format!("stream spec: {e}")))?,
                );
        }
        match self.block(req.send()) {
            Ok(_) => {}
            // Someone else created it meanwhile: fine.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_in_use_exception()) =>
            {
                return Ok(false);
            }
            Err(e) => return Err(AwsError::sdk("CreateTable", name, e)),
        }
        self.wait_table(name)?;
        if events {
            self.block(
                self.ddb
                    .update_time_to_live()
                    .table_name(name)
                    .time_to_live_specification(
                        TimeToLiveSpecification::builder()
                            .enabled(true)
                            .attribute_name("ttl")
                            .build()
                            .map_err(|e| AwsError::Other(format!("ttl spec: {e}")))?,
                    )
                    .send(),
            )
            .map_err(|e| AwsError::sdk("UpdateTimeToLive", name, e))?;
        }
        Ok(true)
    }

    fn wait_table(&self, name: &str) -> Result<(), AwsError> {
        for attempt in 0..120 {
            let out = self
                .block(self.ddb.describe_table().table_name(name).send())
                .map_err(|e| AwsError::sdk("DescribeTable", name, e))?;
            let active = out
                .table
                .and_then(|t| t.table_status)
                .is_some_and(|s| s.as_str() == "ACTIVE");
            if active {
                return Ok(());
            }
            self.backoff(attempt.min(5));
        }
        Err(AwsError::Other(format!(
            "table {name} did not become ACTIVE"
        )))
    }

    /// Creates the projection tables of one generation (those absent). Returns those created.
    pub fn create_generation(&self, tables: &Tables) -> Result<Vec<String>, AwsError> {
        let mut created = Vec::new();
        for (name, sk, events) in [
            (&tables.events, ScalarAttributeType::S, true),
            (&tables.subscribers, ScalarAttributeType::S, false),
            (&tables.rollups, ScalarAttributeType::N, false),
            (&tables.aux, ScalarAttributeType::S, false),
        ] {
            if self.ensure_table(name, sk, events)? {
                created.push(name.clone());
            }
        }
        Ok(created)
    }

    /// Creates the stream (with `shards` shards) unless it exists, and waits until it is active.
    // The SDK's error is inspected (not found?) before it becomes ours.
    #[allow(clippy::result_large_err)]
    fn ensure_stream(&self, shards: i32) -> Result<bool, AwsError> {
        let stream = self.names.stream();
        let describe = || {
            self.block(
                self.kinesis
                    .describe_stream_summary()
                    .stream_name(&stream)
                    .send(),
            )
        };
        let created = match describe() {
            Ok(_) => false,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                match self.block(
                    self.kinesis
                        .create_stream()
                        .stream_name(&stream)
                        .shard_count(shards)
                        .send(),
                ) {
                    Ok(_) => true,
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|e| e.is_resource_in_use_exception()) =>
                    {
                        false
                    }
                    Err(e) => return Err(AwsError::sdk("CreateStream", &stream, e)),
                }
            }
            Err(e) => return Err(AwsError::sdk("DescribeStreamSummary", &stream, e)),
        };
        for attempt in 0..120 {
            let out = describe().map_err(|e| AwsError::sdk("DescribeStreamSummary", &stream, e))?;
            let active = out
                .stream_description_summary
                .is_some_and(|d| d.stream_status.as_str() == "ACTIVE");
            if active {
                return Ok(created);
            }
            self.backoff(attempt.min(5));
        }
        Err(AwsError::Other(format!(
            "stream {stream} did not become ACTIVE"
        )))
    }

    /// Deletes the whole deployment of this prefix: the stream, the log table (archive,
    /// dedupe index, claims) and the tables of every generation up to the live one. For
    /// scratch deployments (`bench`); there is no undo.
    pub fn destroy(&self) -> Result<(), AwsError> {
        if let Some(live) = self.generation()? {
            for generation in 1..=live {
                self.delete_generation(&self.names.tables(generation))?;
            }
        }
        let log = self.names.log_table();
        match self.block(self.ddb.delete_table().table_name(&log).send()) {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) => {}
            Err(e) => return Err(AwsError::sdk("DeleteTable", &log, e)),
        }
        let stream = self.names.stream();
        match self.block(
            self.kinesis
                .delete_stream()
                .stream_name(&stream)
                .enforce_consumer_deletion(true)
                .send(),
        ) {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(AwsError::Sdk {
                op: "DeleteStream",
                resource: stream,
                message: aws_sdk_kinesis::error::DisplayErrorContext(&e).to_string(),
            }),
        }
    }

    /// `init`: the stream, the log table, the projection tables of the live generation
    /// (generation 1 on a fresh deployment), and the signing key of mailshot's own events
    /// (see [`super::signing`]).
    pub fn init(&self, shards: i32) -> Result<InitReport, AwsError> {
        let mut created = Vec::new();
        if self.ensure_stream(shards)? {
            created.push(self.names.stream());
        }
        let log = self.names.log_table();
        if self.ensure_table(&log, ScalarAttributeType::S, false)? {
            created.push(log.clone());
        }
        let generation = match self.generation()? {
            Some(g) => g,
            None => {
                match self.set_generation(None, 1) {
                    Ok(()) => {}
                    // A concurrent init set it first.
                    Err(_) if self.generation()?.is_some() => {}
                    Err(e) => return Err(e),
                }
                self.generation()?.unwrap_or(1)
            }
        };
        let tables = self.names.tables(generation);
        created.extend(self.create_generation(&tables)?);
        // Not a resource of its own: an item of the log table, not listed in `created`.
        self.ensure_signing_key()?;
        self.forget_signing_key();
        let mut names = vec![log];
        names.extend(tables.all().iter().map(|t| t.to_string()));
        Ok(InitReport {
            stream: self.names.stream(),
            tables: names,
            created,
            generation,
        })
    }
}
