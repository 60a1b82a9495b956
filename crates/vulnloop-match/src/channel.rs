//! Channels: builds of a package that only their own channel's advisories judge.

/// Channel of an installed build: `esm` for Ubuntu Pro builds (`+esm`,
/// `~esm`), `backports` for Debian backports, `ksplice` and `fips` for
/// Oracle's special builds, `module:NAME:STREAM` for RHEL module packages,
/// none for the main archive.
pub(crate) fn installed_channel(version: &str, module: Option<&str>) -> Option<String> {
    if let Some(label) = module {
        let mut parts = label.split(':');
        let (name, stream) = (parts.next().unwrap_or(label), parts.next().unwrap_or(""));
        return Some(format!("module:{name}:{stream}"));
    }
    let channel = if version.contains("+esm") || version.contains("~esm") {
        "esm"
    } else if version.contains("~bpo") {
        "backports"
    } else if version.contains("ksplice") {
        "ksplice"
    } else if version.contains("fips") {
        "fips"
    } else {
        return None;
    };
    Some(channel.to_string())
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

/// Decides whether a statement for `channel` applies to an installed build.
///
/// Main-archive statements apply to main-archive builds, to Ubuntu Pro builds
/// (which sort above them) and to Debian backports. They do not apply to a
/// RHEL module build or an Oracle Ksplice or FIPS build, whose versions follow
/// their own stream. An Ubuntu Pro (`esm`) fix applies to a main-archive
/// build too, because the host runs the vulnerable version either way, and
/// the finding then notes that the fix needs Ubuntu Pro. Statements for any
/// other channel apply only to builds of that channel.
pub(crate) fn channel_rule(
    installed: &str,
    module: Option<&str>,
    channel: Option<&str>,
) -> ChannelRule {
    let build = installed_channel(installed, module);
    match (channel, build.as_deref()) {
        (None, None | Some("esm" | "backports")) => ChannelRule::Applies,
        (None, Some(_)) => ChannelRule::Skip,
        (Some(channel), Some(build)) if channel == build => ChannelRule::Applies,
        (Some("esm"), _) => {
            ChannelRule::AppliesWithNote("the fix is published through Ubuntu Pro (ESM)")
        }
        (Some(_), _) => ChannelRule::Skip,
    }
}
