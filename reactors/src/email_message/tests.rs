use super::*;

fn message() -> OutgoingEmail {
    OutgoingEmail {
        from: "Example Shop <hello@example.com>".into(),
        to: "jordan.lee@example.net".into(),
        reply_to: Some("support@example.com".into()),
        subject: "Your order A-1 is on its way".into(),
        html: "<p>Hi Jordan,</p>\n<p>Your order is on its way. Thanks for shopping with us — see you soon!</p>\n".into(),
        headers: vec![
            ("List-Unsubscribe".into(), "<https://example.com/unsubscribe?token=abc.1.def>".into()),
            ("List-Unsubscribe-Post".into(), "List-Unsubscribe=One-Click".into()),
            ("X-Template-Key".into(), "order/shipped".into()),
            ("X-Sequence-Id".into(), "fire_and_forget".into()),
        ],
        tags: vec![
            ("templateKey".into(), "order--shipped".into()),
            ("sequenceId".into(), "fire_and_forget".into()),
        ],
        template_key: "order/shipped".into(),
        sequence_id: "fire_and_forget".into(),
        date: Timestamp::parse("2024-06-03T14:02:10Z").unwrap(),
        message_id: "<0123@example.com>".into(),
    }
}

fn split(eml: &[u8]) -> (String, String) {
    let text = String::from_utf8(eml.to_vec()).unwrap();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .expect("a blank line before the body");
    (head.to_string(), body.to_string())
}

fn decode_qp(body: &str) -> String {
    let joined = body.replace("=\r\n", "");
    let mut out = Vec::new();
    let b = joined.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' {
            out.push(
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap(), 16).unwrap(),
            );
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap().replace("\r\n", "\n")
}

#[test]
fn eml_has_the_headers_in_order_and_crlf_everywhere() {
    let eml = message().to_eml();
    let text = String::from_utf8(eml.clone()).unwrap();
    assert!(!text.replace("\r\n", "").contains('\n'), "bare LF");
    assert!(!text.replace("\r\n", "").contains('\r'), "bare CR");
    assert!(text.lines().all(|l| l.trim_end_matches('\r').len() <= 998));
    let (head, body) = split(&eml);
    assert_eq!(
        head,
        [
            "From: Example Shop <hello@example.com>",
            "To: jordan.lee@example.net",
            "Reply-To: support@example.com",
            "Subject: Your order A-1 is on its way",
            "Date: Mon, 03 Jun 2024 14:02:10 +0000",
            "Message-ID: <0123@example.com>",
            "MIME-Version: 1.0",
            "List-Unsubscribe: <https://example.com/unsubscribe?token=abc.1.def>",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            "X-Template-Key: order/shipped",
            "X-Sequence-Id: fire_and_forget",
            "Content-Type: text/html; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
        ]
        .join("\r\n")
    );
    assert!(body.lines().all(|l| l.trim_end_matches('\r').len() <= 76));
    assert_eq!(decode_qp(&body), message().html);
    assert!(body.contains("=E2=80=94"), "the em dash is encoded: {body}");
}

#[test]
fn non_ascii_subjects_and_names_are_encoded_words() {
    let mut m = message();
    m.subject = "Ihre Bestellung ist unterwegs — schöne Grüße ".repeat(4);
    m.from = "Café Crème <hello@example.com>".into();
    let (head, _) = split(&m.to_eml());
    let subject: Vec<&str> = head
        .split("\r\n")
        .skip_while(|l| !l.starts_with("Subject:"))
        .take_while(|l| l.starts_with("Subject:") || l.starts_with(' '))
        .collect();
    assert!(subject.len() > 1, "folded: {subject:?}");
    assert!(subject.iter().all(|l| l.len() <= 78), "{subject:?}");
    assert!(subject[0].starts_with("Subject: =?utf-8?B?"));
    let decoded: Vec<u8> = subject
        .iter()
        .map(|l| l.trim_start_matches("Subject:").trim())
        .flat_map(|w| {
            STANDARD
                .decode(w.trim_start_matches("=?utf-8?B?").trim_end_matches("?="))
                .unwrap()
        })
        .collect();
    assert_eq!(String::from_utf8(decoded).unwrap(), m.subject);
    assert!(head.starts_with("From: =?utf-8?B?"), "{head}");
    assert!(head.contains("?= <hello@example.com>\r\n"));
}

#[test]
fn long_ascii_subjects_fold_and_names_with_specials_are_quoted() {
    let mut m = message();
    m.subject = "word ".repeat(100).trim_end().to_string();
    m.from = "Example, Inc. <hello@example.com>".into();
    let (head, _) = split(&m.to_eml());
    assert!(head.split("\r\n").all(|l| l.len() <= 78), "{head}");
    assert!(head.contains("From: \"Example, Inc.\" <hello@example.com>"));
    // A subject with a line break cannot inject a header.
    m.subject = "Hi\r\nBcc: evil@example.com".into();
    let (head, _) = split(&m.to_eml());
    assert!(head.contains("Subject: Hi  Bcc: evil@example.com\r\n"));
    // A word longer than a line is encoded rather than overlong.
    m.subject = "x".repeat(2000);
    let eml = m.to_eml();
    assert!(
        String::from_utf8(eml)
            .unwrap()
            .lines()
            .all(|l| l.len() <= 998)
    );
}

#[test]
fn quoted_printable_edge_cases() {
    assert_eq!(quoted_printable("a = b"), "a =3D b");
    assert_eq!(quoted_printable("trailing \nx"), "trailing=20\r\nx");
    assert_eq!(quoted_printable("tab\t"), "tab=09");
    let long = "a".repeat(200);
    let qp = quoted_printable(&long);
    assert!(qp.split("\r\n").all(|l| l.len() <= 76));
    assert_eq!(qp.replace("=\r\n", ""), long);
    // An escape is never split across a soft break.
    let qp = quoted_printable(&"é".repeat(60));
    assert!(qp.split("=\r\n").all(|l| l.len() % 3 == 0), "{qp}");
}

#[test]
fn dates_and_message_ids() {
    assert_eq!(
        rfc5322_date(Timestamp(0)),
        "Thu, 01 Jan 1970 00:00:00 +0000"
    );
    assert_eq!(
        rfc5322_date(Timestamp::parse("2024-02-29T23:59:59.999Z").unwrap()),
        "Thu, 29 Feb 2024 23:59:59 +0000"
    );
    let id = message_id("ev-1", "order/shipped", "Shop <hello@example.com>");
    assert_eq!(id, message_id("ev-1", "order/shipped", "hello@example.com"));
    assert_ne!(id, message_id("ev-2", "order/shipped", "hello@example.com"));
    assert!(id.starts_with('<') && id.ends_with("@example.com>"), "{id}");
}

#[test]
fn sent_outcome_carries_the_ses_message_id() {
    assert_eq!(
        message().sent("0100018f-abc", "ev-1"),
        SystemAction::EmailSent {
            template_key: "order/shipped".into(),
            sequence_id: "fire_and_forget".into(),
            subject: "Your order A-1 is on its way".into(),
            ses_message_id: "0100018f-abc".into(),
            trigger_event_id: "ev-1".into(),
        }
    );
}

/// Python's `email` package (if python3 is installed) parses the message without defects and
/// gets the same subject, addresses and body back.
#[test]
fn python_email_parser_accepts_the_message() {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let mut m = message();
    m.subject = "Grüße — order A-1 ".repeat(5).trim_end().to_string();
    m.from = "Café Crème <hello@example.com>".into();
    let script = r#"
import sys, email, email.policy
msg = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
assert not msg.defects, msg.defects
for part in msg.walk():
    assert not part.defects, part.defects
print(msg["Subject"])
print(msg["From"].addresses[0].display_name)
print(msg["To"].addresses[0].addr_spec)
print(msg["List-Unsubscribe"])
print(msg.get_content_type(), msg.get_content_charset())
sys.stdout.write(msg.get_content())
"#;
    let child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("python3 not available; skipping");
        return;
    };
    child.stdin.take().unwrap().write_all(&m.to_eml()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let expected = format!(
        "{}\nCafé Crème\njordan.lee@example.net\n<https://example.com/unsubscribe?token=abc.1.def>\ntext/html utf-8\n{}",
        m.subject,
        m.html.replace('\n', "\r\n")
    );
    assert_eq!(stdout, expected);
}
