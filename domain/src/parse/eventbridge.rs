//! EventBridge events (docs/formats.md §1d): SES records (`aws.ses`), mailshot's own events
//! (`mailshot.*`) and application events (anything else).

use std::borrow::Cow;

use serde::Deserialize;

use super::lenient::{Leaf, req_str, req_ts, wrong};
use super::{Top, read_top, ses, system};
use crate::{AppEvent, FactId, InputBody, InputError, normalise_email};

/// An app event's `detail`, read only for its optional `email`.
#[derive(Deserialize)]
struct EmailOnly<'a> {
    #[serde(borrow)]
    email: Option<Leaf<'a>>,
}

/// The body of an EventBridge event: every envelope field is required.
pub(crate) fn body(top: Top<'_>) -> Result<InputBody<'_>, InputError> {
    let event_id = req_str(top.id, "id")?;
    let detail_type = req_str(top.detail_type, "detail-type")?;
    let source = req_str(top.source, "source")?;
    let time = req_ts(top.time, "time")?;
    let detail = top.detail.ok_or_else(|| InputError::MissingField {
        path: "detail".into(),
    })?;
    let detail = detail.get();
    if !detail.starts_with('{') {
        return Err(wrong("detail", "an object"));
    }
    if source == "aws.ses" {
        let mut inner = read_top(detail).map_err(|e| e.prefixed("detail."))?;
        let facts =
            ses::facts(ses::SesRecord::take(&mut inner)).map_err(|e| e.prefixed("detail."))?;
        return Ok(InputBody::Ses(facts));
    }
    if source.starts_with("mailshot.") {
        return system::event(&event_id, &source, &detail_type, time, detail)
            .map(InputBody::System);
    }
    let email = match serde_json::from_str::<EmailOnly<'_>>(detail) {
        Ok(EmailOnly { email: None }) => None,
        Ok(EmailOnly {
            email: Some(Leaf::Str(s)),
        }) => Some(normalise_email(&s).ok_or_else(|| InputError::BadEmail {
            path: "detail.email".into(),
            value: s.into_owned(),
        })?),
        Ok(EmailOnly { email: Some(_) }) => return Err(wrong("detail.email", "a string")),
        Err(e) => return Err(InputError::Malformed(format!("in `detail`: {e}"))),
    };
    Ok(InputBody::App(AppEvent {
        id: FactId::of_event_id(&event_id),
        event_id,
        source,
        detail_type,
        time,
        email,
        detail: Cow::Borrowed(detail),
    }))
}
