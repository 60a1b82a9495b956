//! Records a parser skipped, grouped by reason.
//!
//! A live feed can skip the same way thousands of times (every `sid` entry of
//! the Debian tracker), so each reason is kept once with a count and a few
//! example record ids instead of one line per record.

use std::collections::BTreeMap;

/// Example ids kept per reason.
const EXAMPLES_PER_REASON: usize = 3;

/// Skipped records, grouped by reason in the order the reasons first appeared.
#[derive(Debug, Default)]
pub(crate) struct Skipped {
    order: Vec<String>,
    groups: BTreeMap<String, Group>,
}

#[derive(Debug, Default)]
struct Group {
    count: usize,
    examples: Vec<String>,
}

impl Skipped {
    /// Counts one record `example` (an id or an archive entry) skipped for `reason`.
    pub(crate) fn add(&mut self, reason: impl Into<String>, example: &str) {
        let reason = reason.into();
        if !self.groups.contains_key(&reason) {
            tracing::debug!(%reason, record = example, "skipped a feed record");
            self.order.push(reason.clone());
        }
        let group = self.groups.entry(reason).or_default();
        group.count += 1;
        if group.examples.len() < EXAMPLES_PER_REASON {
            group.examples.push(example.to_string());
        }
    }

    /// Returns one line per reason, such as `ecosystem AlmaLinux:9 is not read: 3 records (ALSA-1, …)`.
    pub(crate) fn into_lines(mut self) -> Vec<String> {
        let mut lines = Vec::with_capacity(self.order.len());
        for reason in &self.order {
            let Some(group) = self.groups.remove(reason) else {
                continue;
            };
            lines.push(format_group(reason, &group));
        }
        lines
    }
}

fn format_group(reason: &str, group: &Group) -> String {
    let mut examples = group.examples.join(", ");
    if group.count > group.examples.len() {
        examples.push_str(", …");
    }
    let noun = if group.count == 1 {
        "record"
    } else {
        "records"
    };
    format!("{reason}: {} {noun} ({examples})", group.count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_group_with_counts() {
        let mut skipped = Skipped::default();
        for id in ["a", "b", "c", "d"] {
            skipped.add("release sid has no number", id);
        }
        skipped.add("invalid JSON", "x.json");
        let lines = skipped.into_lines();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0],
            "release sid has no number: 4 records (a, b, c, …)"
        );
        assert_eq!(lines[1], "invalid JSON: 1 record (x.json)");
    }
}
