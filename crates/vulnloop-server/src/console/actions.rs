//! The fix, verify and ignore buttons of the finding page.

use maud::{html, Markup};

use super::finding::FindingKey;
use super::session::Session;
use crate::auth::Role;

/// Renders the actions that `session` may take on a finding in `status`.
pub fn buttons(session: &Session, _key: &FindingKey, _status: &str, _fixable: bool) -> Markup {
    html! {
        section.actions {
            h2 { "Actions" }
            @if session.role < Role::Operator {
                p { "Your role (" (session.role.as_str()) ") reads findings; an operator or admin fixes, verifies and ignores them." }
            } @else {
                // TODO: the fix, verify and ignore forms post to the task API
                // and the ignore rules, which this branch does not have yet.
                p { "Fix, verify and ignore are not available in this build." }
            }
        }
    }
}
