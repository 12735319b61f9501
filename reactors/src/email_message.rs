//! The outgoing message: its parts (what SESv2 `SendEmail` takes) and its RFC 5322 bytes (what
//! the embedded outbox writes as `.eml`, and what raw sending would send).
//!
//! The `.eml` is a single-part `text/html; charset=utf-8` message with quoted-printable body,
//! CRLF line endings, header lines folded to at most 78 characters where possible and never more
//! than 998, and non-ASCII header text as RFC 2047 `=?utf-8?B?…?=` encoded words.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mailshot_domain::{SystemAction, Timestamp};
use sha2::{Digest, Sha256};

/// A rendered email, ready for an executor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    /// The `From` mailbox as configured (`addr` or `Name <addr>`).
    pub from: String,
    /// The recipient (normalised address).
    pub to: String,
    pub reply_to: Option<String>,
    /// Rendered, on one line.
    pub subject: String,
    /// The rendered HTML body.
    pub html: String,
    /// Extra headers, in order: `List-Unsubscribe`, `List-Unsubscribe-Post`, `X-Template-Key`,
    /// `X-Sequence-Id`.
    pub headers: Vec<(String, String)>,
    /// SES message tags: `templateKey` (`/` written `--`) and `sequenceId`.
    pub tags: Vec<(String, String)>,
    pub template_key: String,
    pub sequence_id: String,
    /// The `Date` header: the triggering event's time.
    pub date: Timestamp,
    /// The `Message-ID` header, with angle brackets.
    pub message_id: String,
}

impl OutgoingEmail {
    /// The `email.sent` outcome once the executor has the SES message id.
    pub fn sent(&self, ses_message_id: &str, trigger_event_id: &str) -> SystemAction {
        SystemAction::EmailSent {
            template_key: self.template_key.clone(),
            sequence_id: self.sequence_id.clone(),
            subject: self.subject.clone(),
            ses_message_id: ses_message_id.to_string(),
            trigger_event_id: trigger_event_id.to_string(),
        }
    }

    /// The whole message as RFC 5322 bytes (`.eml`).
    pub fn to_eml(&self) -> Vec<u8> {
        let mut out = String::new();
        push_header(&mut out, "From", &mailbox(&self.from));
        push_header(&mut out, "To", &mailbox(&self.to));
        if let Some(r) = &self.reply_to {
            push_header(&mut out, "Reply-To", &mailbox(r));
        }
        push_header(&mut out, "Subject", &unstructured("Subject", &self.subject));
        push_header(&mut out, "Date", &rfc5322_date(self.date));
        push_header(&mut out, "Message-ID", &self.message_id);
        push_header(&mut out, "MIME-Version", "1.0");
        for (name, value) in &self.headers {
            push_header(&mut out, name, &unstructured(name, value));
        }
        push_header(&mut out, "Content-Type", "text/html; charset=utf-8");
        push_header(&mut out, "Content-Transfer-Encoding", "quoted-printable");
        out.push_str("\r\n");
        out.push_str(&quoted_printable(&self.html));
        out.into_bytes()
    }
}

/// A deterministic `Message-ID` for one (event, template) pair, at the sender's domain.
pub fn message_id(event_id: &str, template_key: &str, from: &str) -> String {
    let mut h = Sha256::new();
    h.update(event_id.as_bytes());
    h.update([0u8]);
    h.update(template_key.as_bytes());
    let hex: String = h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let (_, addr) = split_mailbox(from);
    let domain = addr.rsplit_once('@').map_or("mailshot.invalid", |(_, d)| d);
    format!("<{hex}@{domain}>")
}

fn push_header(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str(": ");
    out.push_str(value);
    out.push_str("\r\n");
}

/// `Name <addr>` → (Some(name), addr); `addr` → (None, addr). Quotes around the name dropped.
fn split_mailbox(s: &str) -> (Option<String>, String) {
    let s = s.trim();
    if s.ends_with('>')
        && let Some(open) = s.rfind('<')
    {
        let name = s[..open].trim();
        let name = name
            .strip_prefix('"')
            .and_then(|n| n.strip_suffix('"'))
            .map(|n| n.replace("\\\"", "\"").replace("\\\\", "\\"))
            .unwrap_or_else(|| name.to_string());
        let addr = s[open + 1..s.len() - 1].trim().to_string();
        return ((!name.is_empty()).then_some(name), addr);
    }
    (None, s.to_string())
}

/// A mailbox for an address header: the name plain, quoted, or encoded as needed.
fn mailbox(s: &str) -> String {
    match split_mailbox(s) {
        (None, addr) => addr,
        (Some(name), addr) => {
            let atext = |c: char| c.is_ascii_alphanumeric() || " !#$%&'*+-/=?^_`{|}~".contains(c);
            let shown = if name.chars().all(atext) && !name.contains("=?") {
                name
            } else if name.chars().all(|c| c.is_ascii() && !c.is_ascii_control())
                && !name.contains("=?")
            {
                format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
            } else {
                encoded_words(&name).join(" ")
            };
            format!("{shown} <{addr}>")
        }
    }
}

/// An unstructured header value: plain ASCII folded at spaces, or RFC 2047 encoded words when
/// it holds non-ASCII, control characters, `=?`, or a word too long to fit a line.
fn unstructured(name: &str, value: &str) -> String {
    let value: String = value
        .chars()
        .map(|c| {
            if c == '\r' || c == '\n' || c == '\t' {
                ' '
            } else {
                c
            }
        })
        .collect();
    let plain =
        value.chars().all(|c| c.is_ascii() && !c.is_ascii_control()) && !value.contains("=?");
    let first_budget = 998 - name.len() - 2;
    if plain && value.split(' ').all(|w| w.len() < first_budget) {
        return fold_words(&value, name.len() + 2);
    }
    encoded_words(&value).join("\r\n ")
}

/// Folds ASCII text at spaces so that lines stay within 78 characters where words allow.
fn fold_words(value: &str, first_line_used: usize) -> String {
    let mut out = String::new();
    let mut line_len = first_line_used;
    for (i, word) in value.split(' ').enumerate() {
        if i > 0 {
            if line_len + 1 + word.len() > 78 && line_len > 1 {
                out.push_str("\r\n ");
                line_len = 1;
            } else {
                out.push(' ');
                line_len += 1;
            }
        }
        out.push_str(word);
        line_len += word.len();
    }
    out
}

/// RFC 2047 B-encoded words of at most 75 characters, split on character boundaries.
fn encoded_words(text: &str) -> Vec<String> {
    const MAX_BYTES: usize = 42; // 56 base64 characters + 12 of framing = 68: "Subject: " + 68 ≤ 78
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        if chunk.len() + c.len_utf8() > MAX_BYTES {
            words.push(format!("=?utf-8?B?{}?=", STANDARD.encode(&chunk)));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() || words.is_empty() {
        words.push(format!("=?utf-8?B?{}?=", STANDARD.encode(&chunk)));
    }
    words
}

/// `Mon, 03 Jun 2024 14:02:10 +0000`.
pub fn rfc5322_date(t: Timestamp) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let day = t.day();
    let (y, m, d) = day.civil();
    let weekday = DAYS[day.0.rem_euclid(7) as usize];
    let secs = t.as_secs().rem_euclid(86_400);
    format!(
        "{weekday}, {d:02} {} {y:04} {:02}:{:02}:{:02} +0000",
        MONTHS[(m - 1) as usize],
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Quoted-printable (RFC 2045 §6.7) with CRLF hard line breaks and lines of at most 76
/// characters. Any `\n`, `\r\n` or lone `\r` in the text is a line break.
pub fn quoted_printable(text: &str) -> String {
    let normalised = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for (i, line) in normalised.split('\n').enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        let bytes = line.as_bytes();
        let mut len = 0;
        for (j, &b) in bytes.iter().enumerate() {
            let last = j + 1 == bytes.len();
            let literal =
                (b == b' ' || b == b'\t') && !last || (33..=126).contains(&b) && b != b'=';
            let piece = if literal {
                (b as char).to_string()
            } else {
                format!("={b:02X}")
            };
            // Keep room for a soft break "=" unless this piece ends the line.
            let limit = if last { 76 } else { 75 };
            if len + piece.len() > limit {
                out.push_str("=\r\n");
                len = 0;
            }
            out.push_str(&piece);
            len += piece.len();
        }
    }
    out
}

#[cfg(test)]
mod tests;
