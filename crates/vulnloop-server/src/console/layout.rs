//! The page frame shared by every console page, and small rendering helpers.

use axum::response::Html;
use maud::{html, Markup, DOCTYPE};

use super::session::Session;
use crate::auth::Role;

/// Renders a whole page: the frame, the navigation for `session` (none on the
/// login and error pages without a session) and `body`.
pub fn page(title: &str, session: Option<&Session>, body: Markup) -> Html<String> {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · vulnloop" }
                link rel="stylesheet" href="/console/static/console.css";
            }
            body {
                header {
                    a.brand href="/console" { "vulnloop" }
                    @if let Some(session) = session {
                        nav {
                            a href="/console" { "Overview" }
                            a href="/console/vulnerabilities" { "Vulnerabilities" }
                            a href="/console/hosts" { "Hosts" }
                            a href="/console/tasks" { "Tasks" }
                            @if session.role >= Role::Admin {
                                a href="/console/settings" { "Settings" }
                            }
                        }
                        form.logout method="post" action="/console/logout" {
                            span.user { (session.user_name) " (" (session.role.as_str()) ")" }
                            (csrf_field(session))
                            button type="submit" { "Log out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    };
    Html(markup.into_string())
}

/// Renders the hidden CSRF field that every POST form of a session carries.
pub fn csrf_field(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

/// Renders a status or severity as a badge whose class gives its colour.
pub fn badge(value: &str) -> Markup {
    html! { span class={ "badge " (value) } { (value.replace('_', " ")) } }
}

/// Renders an optional text, with a dash for none.
pub fn optional(value: Option<&str>) -> Markup {
    html! {
        @match value {
            Some(value) => (value),
            None => span.none { "—" },
        }
    }
}

/// Percent-encodes `value` for one path segment or query value: every byte
/// outside the RFC 3986 unreserved set becomes `%XX`.
pub fn encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// Returns the console link of one finding.
pub fn finding_link(host_id: &str, vulnerability_id: &str, package: &str) -> String {
    format!(
        "/console/finding?host={}&vulnerability={}&package={}",
        encode(host_id),
        encode(vulnerability_id),
        encode(package)
    )
}

/// Returns the console link of one vulnerability.
pub fn vulnerability_link(id: &str) -> String {
    format!("/console/vulnerabilities/{}", encode(id))
}

/// Returns the console link of one host.
pub fn host_link(id: &str) -> String {
    format!("/console/hosts/{}", encode(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_escapes_reserved_bytes() {
        assert_eq!(encode("RHSA-2024:1234"), "RHSA-2024%3A1234");
        assert_eq!(encode("a b&c/d"), "a%20b%26c%2Fd");
        assert_eq!(encode("libssl3_3.0~x"), "libssl3_3.0~x");
    }

    #[test]
    fn page_escapes_data() {
        let body = html! { p { ("<script>alert(1)</script>") } };
        let Html(text) = page("x<y", None, body);
        assert!(
            text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{text}"
        );
        assert!(text.contains("x&lt;y"), "{text}");
        assert!(!text.contains("<script>"), "{text}");
    }
}
