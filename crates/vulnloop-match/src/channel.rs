//! Channels: builds of a package that only their own channel's advisories judge.

/// Channel of an installed version: `esm` for Ubuntu Pro builds (`+esm`,
/// `~esm`), `backports` for Debian backports, none for the main archive.
pub(crate) fn installed_channel(version: &str) -> Option<&'static str> {
    if version.contains("+esm") || version.contains("~esm") {
        Some("esm")
    } else if version.contains("~bpo") {
        Some("backports")
    } else {
        None
    }
}

/// Rule for a statement that is limited to a channel.
pub(crate) enum ChannelRule {
    /// The statement applies as it is.
    Applies,
    /// The statement applies, and the finding notes how to reach the fix.
    AppliesWithNote(&'static str),
    /// The statement is about another channel's builds.
    Skip,
}

/// Decides whether a statement for `channel` applies to an installed version.
///
/// Main-archive statements apply to every build. An Ubuntu Pro (`esm`) fix
/// applies to a main-archive build too, because the host runs the vulnerable
/// version either way. The finding then notes that the fix needs Ubuntu Pro.
/// Statements for other channels apply only to builds of that channel.
pub(crate) fn channel_rule(installed: &str, channel: Option<&str>) -> ChannelRule {
    match channel {
        None => ChannelRule::Applies,
        Some(channel) if installed_channel(installed) == Some(channel) => ChannelRule::Applies,
        Some("esm") => ChannelRule::AppliesWithNote("the fix is published through Ubuntu Pro (ESM)"),
        Some(_) => ChannelRule::Skip,
    }
}

