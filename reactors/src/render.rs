//! Liquid rendering of subjects and HTML bodies, strictly: an undefined variable is an error.
//!
//! The context every template sees:
//! - `email`: the subscriber's normalised address;
//! - `firstName`: the first name, or nil when unknown (use `{{ firstName | default: "there" }}`);
//! - `attributes`: the mapped attributes (an object: `{{ attributes.orderId }}`); a missing key
//!   is an error, so guard optional ones with `{% if attributes contains "key" %}`;
//! - `unsubscribeUrl`: the one-click unsubscribe link for this subscriber;
//! - `currentYear`: the year of the triggering event's time (UTC), not the wall clock.
//!
//! Liquid does not escape HTML by itself: write `{{ attributes.note | escape }}` for text that
//! comes from events.

use serde_json::Value;

/// The variables a template is rendered with.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderContext {
    pub email: String,
    pub first_name: Option<String>,
    pub attributes: Value,
    pub unsubscribe_url: String,
    pub current_year: i32,
}

/// Why a template could not be rendered: a syntax error or a rendering error (undefined
/// variable, bad filter argument, …), as liquid explains it on one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// The template does not parse.
    #[error("Liquid syntax error: {0}")]
    Syntax(String),
    /// The template parsed but rendering failed.
    #[error("Liquid rendering error: {0}")]
    Render(String),
}

/// A Liquid engine with the standard library of tags and filters.
pub struct Renderer {
    parser: liquid::Parser,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Renderer")
    }
}

impl Default for Renderer {
    fn default() -> Self {
        Renderer::new()
    }
}

/// liquid's errors span several lines (`liquid: Unknown index`, `with:`, `  variable=…`);
/// make them one: `Unknown index (variable=attributes, requested index=couponCode, …)`.
fn one_line(e: &liquid::Error) -> String {
    let text = e.to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let head = lines
        .next()
        .unwrap_or("")
        .trim_start_matches("liquid:")
        .trim()
        .to_string();
    let context: Vec<&str> = lines.filter(|l| *l != "with:" && *l != "from:").collect();
    if context.is_empty() {
        head
    } else {
        format!("{head} ({})", context.join(", "))
    }
}

impl Renderer {
    /// A renderer with liquid's standard library.
    pub fn new() -> Renderer {
        Renderer {
            parser: liquid::ParserBuilder::with_stdlib()
                .build()
                .expect("the standard library builds"),
        }
    }

    /// Renders `template` with `ctx`.
    pub fn render(&self, template: &str, ctx: &RenderContext) -> Result<String, RenderError> {
        let parsed = self
            .parser
            .parse(template)
            .map_err(|e| RenderError::Syntax(one_line(&e)))?;
        let globals = ctx.to_liquid();
        parsed
            .render(&globals)
            .map_err(|e| RenderError::Render(one_line(&e)))
    }
}

/// Checks that `template` parses as Liquid (used to validate subjects on config load).
pub fn check_syntax(template: &str) -> Result<(), String> {
    Renderer::new()
        .parser
        .parse(template)
        .map(|_| ())
        .map_err(|e| one_line(&e))
}

impl RenderContext {
    fn to_liquid(&self) -> liquid::Object {
        let mut o = liquid::Object::new();
        o.insert(
            "email".into(),
            liquid::model::Value::scalar(self.email.clone()),
        );
        o.insert(
            "firstName".into(),
            match &self.first_name {
                Some(n) => liquid::model::Value::scalar(n.clone()),
                None => liquid::model::Value::Nil,
            },
        );
        o.insert("attributes".into(), json_to_liquid(&self.attributes));
        o.insert(
            "unsubscribeUrl".into(),
            liquid::model::Value::scalar(self.unsubscribe_url.clone()),
        );
        o.insert(
            "currentYear".into(),
            liquid::model::Value::scalar(i64::from(self.current_year)),
        );
        o
    }
}

fn json_to_liquid(v: &Value) -> liquid::model::Value {
    use liquid::model::Value as L;
    match v {
        Value::Null => L::Nil,
        Value::Bool(b) => L::scalar(*b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => L::scalar(i),
            (None, Some(f)) => L::scalar(f),
            (None, None) => L::scalar(n.to_string()),
        },
        Value::String(s) => L::scalar(s.clone()),
        Value::Array(items) => L::Array(items.iter().map(json_to_liquid).collect()),
        Value::Object(map) => L::Object(
            map.iter()
                .map(|(k, v)| (k.clone().into(), json_to_liquid(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ctx() -> RenderContext {
        RenderContext {
            email: "jordan.lee@example.net".into(),
            first_name: Some("Jordan".into()),
            attributes: json!({"orderId": "A-1", "items": 3, "tags": ["x", "y"]}),
            unsubscribe_url: "https://example.com/u?token=t".into(),
            current_year: 2024,
        }
    }

    #[test]
    fn renders_every_context_variable() {
        let out = Renderer::new()
            .render(
                "{{ email }}|{{ firstName }}|{{ attributes.orderId }}|{{ attributes.items | plus: 1 }}|{{ attributes.tags | join: ',' }}|{{ unsubscribeUrl }}|{{ currentYear }}",
                &ctx(),
            )
            .unwrap();
        assert_eq!(
            out,
            "jordan.lee@example.net|Jordan|A-1|4|x,y|https://example.com/u?token=t|2024"
        );
    }

    #[test]
    fn unknown_first_name_is_nil_and_takes_a_default() {
        let mut c = ctx();
        c.first_name = None;
        let out = Renderer::new()
            .render("Hi {{ firstName | default: 'there' }}", &c)
            .unwrap();
        assert_eq!(out, "Hi there");
    }

    #[test]
    fn undefined_variables_are_errors() {
        let r = Renderer::new();
        let e = r.render("Hi {{ lastName }}", &ctx()).unwrap_err();
        assert!(
            matches!(&e, RenderError::Render(m) if m.contains("Unknown variable")),
            "{e}"
        );
        let e = r.render("{{ attributes.nope }}", &ctx()).unwrap_err();
        assert!(
            matches!(&e, RenderError::Render(m) if m.contains("Unknown index")),
            "{e}"
        );
        assert!(!e.to_string().contains('\n'));
    }

    #[test]
    fn syntax_errors_are_reported() {
        let e = Renderer::new().render("{% if %}", &ctx()).unwrap_err();
        assert!(matches!(e, RenderError::Syntax(_)), "{e}");
        assert!(check_syntax("{{ a ").is_err());
        assert!(check_syntax("Hello {{ firstName }}").is_ok());
    }
}
