//! The fixed vocabulary of the workload: names, templates, sequences, links, user agents,
//! bounce kinds. Everything here is invented (example.* domains, TEST-NET addresses).

/// First names of subscribers (ASCII, no separators).
pub(crate) const FIRST: [&str; 48] = [
    "Jordan", "Avery", "Riley", "Morgan", "Casey", "Taylor", "Jamie", "Alex", "Sam", "Quinn",
    "Harper", "Rowan", "Emma", "Liam", "Olivia", "Noah", "Ava", "Mateo", "Sofia", "Lucas", "Mia",
    "Ethan", "Amara", "Kenji", "Priya", "Omar", "Elena", "Hugo", "Chloe", "Leo", "Ines", "Tariq",
    "Nora", "Felix", "Yuki", "Zara", "Mila", "Arjun", "Freya", "Diego", "Hana", "Ravi", "Lena",
    "Oscar", "Aisha", "Jonas", "Clara", "Mei",
];

/// Last names of subscribers (ASCII, no separators).
pub(crate) const LAST: [&str; 48] = [
    "Lee",
    "Patel",
    "Garcia",
    "Smith",
    "Nguyen",
    "Kim",
    "Johnson",
    "Brown",
    "Martin",
    "Rossi",
    "Muller",
    "Silva",
    "Khan",
    "Cohen",
    "Dubois",
    "Novak",
    "Tanaka",
    "Okafor",
    "Larsen",
    "Moreau",
    "Costa",
    "Singh",
    "Walsh",
    "Fischer",
    "Haddad",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Murphy",
    "Nakamura",
    "Oliveira",
    "Park",
    "Reyes",
    "Sato",
    "Torres",
    "Usman",
    "Varga",
    "Weber",
    "Xu",
    "Young",
    "Zimmerman",
    "Baker",
    "Carter",
    "Diaz",
    "Evans",
    "Ford",
    "Hughes",
];

/// Subscriber domains, lower-case and in a mixed-case spelling.
pub(crate) const DOMAINS: [(&str, &str); 3] = [
    ("example.com", "Example.COM"),
    ("example.net", "Example.NET"),
    ("example.org", "Example.ORG"),
];

/// Sequences (`X-Sequence-Id` / tag `sequenceId`). The last is the default (docs/design.md §3.3).
pub(crate) const SEQUENCES: [&str; 6] = [
    "onboarding",
    "post-purchase",
    "cart-recovery",
    "winback",
    "newsletter",
    "fire_and_forget",
];

/// Index of `fire_and_forget` in [`SEQUENCES`].
pub(crate) const FIRE_AND_FORGET: usize = 5;

/// What a subject line interpolates.
#[derive(Clone, Copy)]
pub(crate) enum Slot {
    None,
    FirstName,
    OrderNumber,
}

/// One link of a template: path, extra (already percent-encoded) query, link tags.
pub(crate) struct Link {
    pub path: &'static str,
    pub extra_query: &'static str,
    pub name: &'static str,
    pub placement: &'static str,
}

/// One email template.
pub(crate) struct Template {
    /// `X-Template-Key` (may contain `/`).
    pub key: &'static str,
    /// The tag spelling: `/` written as `--`.
    pub tag: &'static str,
    /// The key percent-encoded for `utm_campaign`.
    pub campaign: &'static str,
    /// Index into [`SEQUENCES`].
    pub sequence: usize,
    /// Marketing mail: `marketing-prod` configuration set, List-Unsubscribe headers.
    pub marketing: bool,
    /// Subject: prefix, interpolation, suffix.
    pub subject: (&'static str, Slot, &'static str),
    /// SES template name, for rendering failures.
    pub ses_template: &'static str,
    /// A rendering-failure message.
    pub render_error: &'static str,
    /// The tracked links.
    pub links: &'static [Link],
    /// Relative frequency.
    pub weight: u32,
}

const fn link(
    path: &'static str,
    extra_query: &'static str,
    name: &'static str,
    placement: &'static str,
) -> Link {
    Link {
        path,
        extra_query,
        name,
        placement,
    }
}

/// The templates. Several keys contain `/`.
pub(crate) const TEMPLATES: [Template; 12] = [
    Template {
        key: "onboarding/welcome",
        tag: "onboarding--welcome",
        campaign: "onboarding%2Fwelcome",
        sequence: 0,
        marketing: false,
        subject: ("Welcome to Example Shop, ", Slot::FirstName, "!"),
        ses_template: "onboarding_welcome_v4",
        render_error: "Attribute 'firstName' is not present in the rendering data.",
        links: &[
            link("/", "", "logo", "header"),
            link(
                "/new-arrivals",
                "&sort=newest",
                "new-arrivals",
                "hero-button",
            ),
            link("/account/preferences", "", "preferences", "body"),
            link(
                "/help/getting-started",
                "&section=first%20steps",
                "help",
                "footer",
            ),
        ],
        weight: 8,
    },
    Template {
        key: "onboarding/day-2",
        tag: "onboarding--day-2",
        campaign: "onboarding%2Fday-2",
        sequence: 0,
        marketing: false,
        subject: ("", Slot::FirstName, ", here's how to get started"),
        ses_template: "onboarding_day2_v2",
        render_error: "Attribute 'firstName' is not present in the rendering data.",
        links: &[
            link("/collections/bestsellers", "", "bestsellers", "hero-button"),
            link(
                "/guides/size-guide",
                "&ref=onboarding%2Bday2",
                "size-guide",
                "body",
            ),
            link("/app", "&platform=ios%2Candroid", "get-the-app", "body"),
        ],
        weight: 7,
    },
    Template {
        key: "onboarding/day-7",
        tag: "onboarding--day-7",
        campaign: "onboarding%2Fday-7",
        sequence: 0,
        marketing: false,
        subject: ("Your first week with Example Shop", Slot::None, ""),
        ses_template: "onboarding_day7_v2",
        render_error: "Template 'onboarding_day7_v2' does not exist.",
        links: &[
            link(
                "/collections/summer",
                "&q=summer%20sale",
                "summer-sale",
                "hero-button",
            ),
            link("/rewards", "", "rewards", "body"),
            link("/refer", "&code=WELCOME%2010", "refer-a-friend", "body"),
            link("/account/preferences", "", "preferences", "footer"),
        ],
        weight: 6,
    },
    Template {
        key: "post-purchase/thank-you",
        tag: "post-purchase--thank-you",
        campaign: "post-purchase%2Fthank-you",
        sequence: 1,
        marketing: false,
        subject: ("Thanks for your order #", Slot::OrderNumber, ""),
        ses_template: "post_purchase_thank_you_v3",
        render_error: "Attribute 'orderNumber' is not present in the rendering data.",
        links: &[
            link("/orders", "&view=latest", "view-order", "hero-button"),
            link("/help/returns", "", "returns", "body"),
            link(
                "/collections/accessories",
                "&q=gift%20ideas",
                "accessories",
                "body",
            ),
        ],
        weight: 8,
    },
    Template {
        key: "post-purchase/review-request",
        tag: "post-purchase--review-request",
        campaign: "post-purchase%2Freview-request",
        sequence: 1,
        marketing: false,
        subject: ("How did we do? Review your order #", Slot::OrderNumber, ""),
        ses_template: "post_purchase_review_v1",
        render_error: "Attribute 'productName' is not present in the rendering data.",
        links: &[
            link("/reviews/new", "&rating=5", "five-stars", "hero-button"),
            link("/reviews/new", "&rating=1", "one-star", "body"),
            link("/reviews/new", "", "write-review", "body"),
            link("/help/contact", "&topic=order%20issue", "contact", "footer"),
            link("/account/preferences", "", "preferences", "footer"),
        ],
        weight: 5,
    },
    Template {
        key: "cart/abandoned-1",
        tag: "cart--abandoned-1",
        campaign: "cart%2Fabandoned-1",
        sequence: 2,
        marketing: false,
        subject: ("You left something in your cart", Slot::None, ""),
        ses_template: "cart_abandoned_1_v5",
        render_error: "Attribute 'cartItems' is not present in the rendering data.",
        links: &[
            link("/cart", "&restore=1", "restore-cart", "hero-button"),
            link("/collections/bestsellers", "", "bestsellers", "body"),
            link("/help/shipping", "&region=EU%2FUK", "shipping", "footer"),
        ],
        weight: 7,
    },
    Template {
        key: "cart/abandoned-2",
        tag: "cart--abandoned-2",
        campaign: "cart%2Fabandoned-2",
        sequence: 2,
        marketing: false,
        subject: ("Still thinking it over? 10% off your cart", Slot::None, ""),
        ses_template: "cart_abandoned_2_v5",
        render_error: "Attribute 'discountCode' is not present in the rendering data.",
        links: &[
            link(
                "/cart",
                "&restore=1&code=CART10",
                "restore-cart",
                "hero-button",
            ),
            link("/cart", "&restore=1", "restore-cart-text", "body"),
            link("/help/returns", "", "returns", "body"),
            link("/account/preferences", "", "preferences", "footer"),
        ],
        weight: 5,
    },
    Template {
        key: "winback/we-miss-you",
        tag: "winback--we-miss-you",
        campaign: "winback%2Fwe-miss-you",
        sequence: 3,
        marketing: true,
        subject: ("We miss you, ", Slot::FirstName, " — here's 15% off"),
        ses_template: "winback_miss_you_v2",
        render_error: "Attribute 'firstName' is not present in the rendering data.",
        links: &[
            link(
                "/collections/new",
                "&code=BACK15",
                "shop-new",
                "hero-button",
            ),
            link(
                "/collections/sale",
                "&q=last%20chance&code=BACK15",
                "sale",
                "body",
            ),
            link("/account/preferences", "", "preferences", "footer"),
        ],
        weight: 5,
    },
    Template {
        key: "winback/last-chance",
        tag: "winback--last-chance",
        campaign: "winback%2Flast-chance",
        sequence: 3,
        marketing: true,
        subject: ("Last chance: your 15% off expires tonight", Slot::None, ""),
        ses_template: "winback_last_chance_v2",
        render_error: "Template 'winback_last_chance_v2' does not exist.",
        links: &[
            link("/collections/sale", "&code=BACK15", "sale", "hero-button"),
            link(
                "/collections/bestsellers",
                "&code=BACK15",
                "bestsellers",
                "body",
            ),
            link("/stores", "&near=me%20now", "stores", "body"),
            link("/account/preferences", "", "preferences", "footer"),
        ],
        weight: 4,
    },
    Template {
        key: "weekly-digest",
        tag: "weekly-digest",
        campaign: "weekly-digest",
        sequence: 4,
        marketing: true,
        subject: ("This week at Example Shop", Slot::None, ""),
        ses_template: "weekly_digest_v12",
        render_error: "Attribute 'featuredProducts' is not present in the rendering data.",
        links: &[
            link("/blog/whats-new", "&issue=24", "whats-new", "hero-button"),
            link("/collections/editors-picks", "", "editors-picks", "body"),
            link(
                "/collections/sale",
                "&q=up%20to%2050%25%20off",
                "sale",
                "body",
            ),
            link("/events", "&city=S%C3%A3o%20Paulo", "events", "body"),
            link("/account/preferences", "", "preferences", "footer"),
        ],
        weight: 20,
    },
    Template {
        key: "order-shipped",
        tag: "order-shipped",
        campaign: "order-shipped",
        sequence: 5,
        marketing: false,
        subject: ("Your order #", Slot::OrderNumber, " has shipped"),
        ses_template: "order_shipped_v3",
        render_error: "Attribute 'trackingNumber' is not present in the rendering data.",
        links: &[
            link(
                "/orders/tracking",
                "&note=gift%20wrap",
                "track-order",
                "hero-button",
            ),
            link("/orders", "", "view-order", "body"),
            link(
                "/help/delivery",
                "&carrier=UPS%20Ground",
                "delivery-help",
                "footer",
            ),
        ],
        weight: 12,
    },
    Template {
        key: "password-reset",
        tag: "password-reset",
        campaign: "password-reset",
        sequence: 5,
        marketing: false,
        subject: ("Reset your Example Shop password", Slot::None, ""),
        ses_template: "password_reset_v1",
        render_error: "Attribute 'resetUrl' is not present in the rendering data.",
        links: &[
            link(
                "/account/reset",
                "&token=r%2Bk9%3D",
                "reset-password",
                "hero-button",
            ),
            link("/help/security", "", "security-help", "body"),
            link(
                "/help/contact",
                "&topic=account%20access",
                "contact",
                "footer",
            ),
        ],
        weight: 3,
    },
];

/// Number of templates; scope index `N_TEMPLATES` stands for the empty key `""`.
pub(crate) const N_TEMPLATES: usize = TEMPLATES.len();

/// Open user agents (image proxies dominate), with weights.
pub(crate) const OPEN_AGENTS: [(&str, u32); 6] = [
    (
        "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
        35,
    ),
    ("Mozilla/5.0", 25),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
        15,
    ),
    (
        "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17531; Pro)",
        10,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
        10,
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Thunderbird/115.11.0",
        5,
    ),
];

/// Click user agents (browsers), with weights.
pub(crate) const CLICK_AGENTS: [(&str, u32); 5] = [
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        35,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
        25,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.6422.113 Mobile Safari/537.36",
        20,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
        12,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
        8,
    ),
];

/// A bounce kind: type, subtype, DSN action/status/diagnostic (empty = omitted).
pub(crate) struct BounceKind {
    pub bounce_type: &'static str,
    pub sub_type: &'static str,
    pub action: &'static str,
    pub status: &'static str,
    pub diagnostic: &'static str,
    pub reporting_mta: bool,
}

const fn bounce(
    bounce_type: &'static str,
    sub_type: &'static str,
    action: &'static str,
    status: &'static str,
    diagnostic: &'static str,
    reporting_mta: bool,
) -> BounceKind {
    BounceKind {
        bounce_type,
        sub_type,
        action,
        status,
        diagnostic,
        reporting_mta,
    }
}

/// Bounce kinds: 0–2 Permanent (General, NoEmail, Suppressed), 3 Permanent
/// OnAccountSuppressionList, 4–7 Transient, 8 Undetermined.
pub(crate) const BOUNCES: [BounceKind; 9] = [
    bounce(
        "Permanent",
        "General",
        "failed",
        "5.3.0",
        "smtp; 550 5.3.0 Requested action not taken: mailbox unavailable",
        true,
    ),
    bounce(
        "Permanent",
        "NoEmail",
        "failed",
        "5.1.1",
        "smtp; 550 5.1.1 Recipient address rejected: User unknown in virtual mailbox table",
        true,
    ),
    bounce(
        "Permanent",
        "Suppressed",
        "failed",
        "5.1.1",
        "Amazon SES has suppressed sending to this address because it has a recent history of bouncing as an invalid address. For more information about how to remove an address from the suppression list, see the Amazon SES Developer Guide: https://docs.aws.amazon.com/ses/latest/dg/sending-email-global-suppression-list.html ",
        false,
    ),
    bounce(
        "Permanent",
        "OnAccountSuppressionList",
        "failed",
        "5.1.1",
        "Amazon SES did not send the message to this address because it is on the suppression list for your account. For more information about removing addresses from the suppression list, see the Amazon SES Developer Guide at https://docs.aws.amazon.com/ses/latest/dg/sending-email-suppression-list.html",
        false,
    ),
    bounce(
        "Transient",
        "General",
        "failed",
        "4.4.7",
        "smtp; 421 4.4.7 Message expired: unable to deliver in 840 minutes.<421 4.4.0 Unable to lookup DNS for the recipient domain>",
        true,
    ),
    bounce(
        "Transient",
        "MailboxFull",
        "failed",
        "5.2.2",
        "smtp; 552 5.2.2 mailbox over quota",
        true,
    ),
    bounce(
        "Transient",
        "MessageTooLarge",
        "failed",
        "5.3.4",
        "smtp; 552 5.3.4 Message size exceeds fixed maximum message size",
        true,
    ),
    bounce(
        "Transient",
        "ContentRejected",
        "failed",
        "5.7.1",
        "smtp; 554 5.7.1 Message rejected due to content restrictions \"policy 12\"",
        true,
    ),
    bounce("Undetermined", "Undetermined", "", "", "", false),
];

/// Index of the `OnAccountSuppressionList` bounce kind.
pub(crate) const BOUNCE_ACCOUNT_SUPPRESSED: u8 = 3;

/// Complaint feedback types, with weights: mostly `abuse`, sometimes `not-spam`, and an
/// empty string meaning the key is absent.
pub(crate) const FEEDBACK: [(&str, u32); 5] = [
    ("abuse", 80),
    ("not-spam", 10),
    ("other", 4),
    ("fraud", 1),
    ("", 5),
];

/// Index of `not-spam` in [`FEEDBACK`].
pub(crate) const FEEDBACK_NOT_SPAM: u8 = 1;

/// `deliveryDelay.delayType` values with status and diagnostic, weighted.
pub(crate) const DELAYS: [(&str, &str, &str, u32); 5] = [
    (
        "TransientCommunicationFailure",
        "4.4.1",
        "smtp; 421 4.4.1 Connection timed out while talking to the recipient MX",
        40,
    ),
    (
        "MailboxFull",
        "4.2.2",
        "smtp; 452 4.2.2 The email account that you tried to reach is over quota",
        20,
    ),
    (
        "RecipientServerError",
        "4.3.0",
        "smtp; 451 4.3.0 Temporary server error. Please try again later",
        20,
    ),
    (
        "IPFailure",
        "4.7.0",
        "smtp; 421 4.7.0 [203.0.113.45] Our system has detected an unusual rate of unsolicited mail",
        10,
    ),
    (
        "Undetermined",
        "4.0.0",
        "smtp; 450 4.0.0 Try again later",
        10,
    ),
];

/// App event detail-types.
pub(crate) const APP_TYPES: [&str; 4] = [
    "customer.created",
    "customer.first_sale",
    "cart.abandoned",
    "order.shipped",
];

/// SNS topics: 0/1 the configuration sets' event topics, 2 the identity feedback topic,
/// 3 a second subscription of the same events (for redelivery through another topic).
pub(crate) const TOPICS: [(&str, &str); 4] = [
    (
        "ses-events-txn-prod",
        "5f0c9b2e-81d4-4a6e-9c37-e2b14d7a0f65",
    ),
    (
        "ses-events-marketing-prod",
        "c1a4e7d2-3b90-4f5e-8d61-27f0b9a3e4c8",
    ),
    (
        "ses-feedback-mail-example-com",
        "9e2d7b14-6c3a-4f81-a5d0-3b8e1f4c72a9",
    ),
    ("ses-events-archive", "47b1c0e9-d2f3-4a58-9b6e-0c5d8a2f1e37"),
];

/// Index of the archive topic in [`TOPICS`].
pub(crate) const TOPIC_ARCHIVE: usize = 3;
/// Index of the identity feedback topic in [`TOPICS`].
pub(crate) const TOPIC_FEEDBACK: usize = 2;
