//! The ten SES event types and their three spellings.

use std::fmt;

/// An SES engagement event type. `ALL` lists them in a fixed order that rollups rely on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventType {
    Send,
    Delivery,
    Open,
    Click,
    Bounce,
    Complaint,
    Reject,
    RenderingFailure,
    DeliveryDelay,
    Subscription,
}

impl EventType {
    /// Every type, in rollup slot order (`as usize` is the slot).
    pub const ALL: [EventType; 10] = [
        EventType::Send,
        EventType::Delivery,
        EventType::Open,
        EventType::Click,
        EventType::Bounce,
        EventType::Complaint,
        EventType::Reject,
        EventType::RenderingFailure,
        EventType::DeliveryDelay,
        EventType::Subscription,
    ];

    /// The name in SES records (`eventType` / `notificationType`): `Rendering Failure` has a space.
    pub fn ses_name(self) -> &'static str {
        match self {
            EventType::Send => "Send",
            EventType::Delivery => "Delivery",
            EventType::Open => "Open",
            EventType::Click => "Click",
            EventType::Bounce => "Bounce",
            EventType::Complaint => "Complaint",
            EventType::Reject => "Reject",
            EventType::RenderingFailure => "Rendering Failure",
            EventType::DeliveryDelay => "DeliveryDelay",
            EventType::Subscription => "Subscription",
        }
    }

    /// The lower-camel name used in every query answer and sort key (`renderingFailure`).
    pub fn camel_name(self) -> &'static str {
        match self {
            EventType::Send => "send",
            EventType::Delivery => "delivery",
            EventType::Open => "open",
            EventType::Click => "click",
            EventType::Bounce => "bounce",
            EventType::Complaint => "complaint",
            EventType::Reject => "reject",
            EventType::RenderingFailure => "renderingFailure",
            EventType::DeliveryDelay => "deliveryDelay",
            EventType::Subscription => "subscription",
        }
    }

    /// Parses the SES spelling exactly (as it appears in records).
    pub fn from_ses_name(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.ses_name() == name)
    }

    /// Parses a user-supplied filter: camel, SES or SESv2 (`RENDERING_FAILURE`) spelling, any case.
    pub fn from_filter(name: &str) -> Option<EventType> {
        let squashed: String = name
            .chars()
            .filter(|c| !matches!(c, ' ' | '_' | '-'))
            .flat_map(char::to_lowercase)
            .collect();
        EventType::ALL
            .into_iter()
            .find(|t| t.camel_name().to_ascii_lowercase() == squashed)
    }

    /// The rollup slot of this type.
    pub fn slot(self) -> usize {
        self as usize
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.camel_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_accept_every_spelling() {
        for s in [
            "renderingFailure",
            "Rendering Failure",
            "RENDERING_FAILURE",
            "renderingfailure",
        ] {
            assert_eq!(
                EventType::from_filter(s),
                Some(EventType::RenderingFailure),
                "{s}"
            );
        }
        assert_eq!(EventType::from_filter("opened"), None);
        assert_eq!(
            EventType::from_ses_name("Rendering Failure"),
            Some(EventType::RenderingFailure)
        );
        assert_eq!(EventType::from_ses_name("open"), None);
    }

    #[test]
    fn slots_follow_all() {
        for (i, t) in EventType::ALL.into_iter().enumerate() {
            assert_eq!(t.slot(), i);
        }
    }
}
