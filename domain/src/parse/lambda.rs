//! Lambda events (docs/formats.md §1c, §1e): `Records[]` of SNS or Kinesis records, each one input.

use std::borrow::Cow;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::lenient::{Arr, Leaf, req_obj, req_str, wrong};
use super::{Top, dispatch, embedded_error, parse_input, read_top};
use crate::{Envelope, Input, InputError};

/// The `kinesis` object of a Lambda Kinesis record: only `data` is read.
#[derive(Deserialize)]
pub(crate) struct Kinesis<'a> {
    #[serde(borrow)]
    data: Option<Leaf<'a>>,
}

/// One result per record; a bad record is rejected as [`InputError::LambdaRecord`] alone.
pub(crate) fn records(records: Arr<&RawValue>) -> Vec<Result<Input<'_>, InputError>> {
    let list = match records {
        Arr::Ok(list) => list,
        Arr::Wrong => return vec![Err(wrong("Records", "an array of objects"))],
    };
    if list.is_empty() {
        // Nothing to accept, but an empty delivery must not vanish silently.
        return vec![Err(wrong("Records", "a non-empty array"))];
    }
    list.into_iter()
        .enumerate()
        .map(|(index, raw)| {
            record(raw.get()).map_err(|e| InputError::LambdaRecord {
                index,
                source: Box::new(e),
            })
        })
        .collect()
}

/// One `Records[i]` object; its verbatim text becomes the input's `raw`.
fn record(text: &str) -> Result<Input<'_>, InputError> {
    let top = read_top(text)?;
    if top.sns.is_none() && top.kinesis.is_none() {
        return Err(InputError::UnknownShape(
            "a Lambda record with neither `Sns` nor `kinesis`".into(),
        ));
    }
    dispatch(text, top)
}

/// A Kinesis record: `kinesis.data` is base64 of an input (normally an EventBridge event).
/// The decoded text is the input's `raw`, so the result owns everything.
pub(crate) fn kinesis_record(top: Top<'_>) -> Result<Input<'static>, InputError> {
    let kinesis = req_obj(top.kinesis, "kinesis")?;
    let data = req_str(kinesis.data, "kinesis.data")?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data.as_bytes())
        .map_err(|e| InputError::BadBase64 {
            path: "kinesis.data".into(),
            reason: e.to_string(),
        })?;
    let text = String::from_utf8(bytes).map_err(|e| InputError::EmbeddedNotJson {
        path: "kinesis.data".into(),
        reason: format!("invalid UTF-8: {e}"),
    })?;
    let Input { body, .. } = parse_input(&text).map_err(|e| embedded_error(e, "kinesis.data"))?;
    let body = body.into_owned();
    Ok(Input {
        raw: Cow::Owned(text),
        envelope: Envelope::LambdaKinesisRecord,
        body,
    })
}
