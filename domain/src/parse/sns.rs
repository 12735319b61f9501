//! SNS notifications (docs/formats.md §1c): the HTTP/email-json body and the `Sns` object of a
//! Lambda SNS record. Both carry the SES record as a JSON *string* in `Message`.

use serde::Deserialize;

use super::lenient::{Leaf, req_str};
use super::{embedded_error, read_top, ses};
use crate::{EngagementFact, InputError};

/// The `Sns` object of a Lambda SNS record. Only `Type` and `Message` are read; the
/// signature fields are ignored, so both `SigningCertUrl` (Lambda) and `SigningCertURL`
/// (HTTP) spellings are accepted alike.
#[derive(Deserialize)]
pub(crate) struct SnsRecord<'a> {
    #[serde(rename = "Type", borrow)]
    pub sns_type: Option<Leaf<'a>>,
    #[serde(rename = "Message", borrow)]
    pub message: Option<Leaf<'a>>,
}

/// The facts of an SNS notification whose keys sit under `prefix` (`""` or `"Sns."`).
///
/// The facts are detached from the text: `Message` had to be unescaped into a new string,
/// which does not outlive this call.
pub(crate) fn notification(
    sns_type: Option<Leaf<'_>>,
    message: Option<Leaf<'_>>,
    prefix: &str,
) -> Result<Vec<EngagementFact<'static>>, InputError> {
    let sns_type = req_str(sns_type, "Type").map_err(|e| e.prefixed(prefix))?;
    if sns_type != "Notification" {
        return Err(InputError::UnknownShape(format!(
            "`{prefix}Type` is {sns_type:?}: only an SNS Notification carries an SES record"
        )));
    }
    let message = req_str(message, "Message").map_err(|e| e.prefixed(prefix))?;
    let mut top = read_top(&message).map_err(|e| embedded_error(e, &format!("{prefix}Message")))?;
    let facts = ses::facts(ses::SesRecord::take(&mut top))
        .map_err(|e| e.prefixed(&format!("{prefix}Message.")))?;
    Ok(facts.into_iter().map(EngagementFact::into_owned).collect())
}
