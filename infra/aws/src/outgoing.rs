//! What the runtime puts to the stream.

/// One record to put: its partition key (`Input::partition_key()`) and bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The partition key: records of one key keep their order on one shard.
    pub partition_key: String,
    /// The record's JSON.
    pub data: String,
}
