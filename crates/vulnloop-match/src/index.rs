use std::collections::HashMap;
use std::sync::Arc;

use vulnloop_advisory::{Advisory, Affected, Ecosystem, PackageKind};

/// One advisory statement about one package, as the matcher receives it.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The advisory's metadata, shared by its statements; its `affected` list is not used.
    pub advisory: Arc<Advisory>,
    /// The statement about the looked-up package, shared so that a
    /// candidate is cheap to clone out of a lookup cache.
    pub affected: Arc<Affected>,
}

/// A feed that contributed advisories, as the index describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    /// Feed name, the `source` of its advisories.
    pub name: String,
    /// Snapshot date of the feed (RFC 3339 or `YYYY-MM-DD`), when known.
    pub snapshot: Option<String>,
}

/// Read access to advisories, keyed the way the matcher looks them up.
pub trait AdvisoryIndex {
    /// Error of the underlying store.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Returns every statement about `name` (a source or binary package) in `ecosystem`.
    fn candidates(
        &self,
        ecosystem: &Ecosystem,
        kind: PackageKind,
        name: &str,
    ) -> Result<Vec<Candidate>, Self::Error>;

    /// Returns the statements whose package is a pattern (see [`vulnloop_advisory::Affected::is_pattern`]).
    fn pattern_candidates(&self, ecosystem: &Ecosystem) -> Result<Vec<Candidate>, Self::Error>;

    /// Returns the feeds that hold advisories for `ecosystem`.
    fn sources_for(&self, ecosystem: &Ecosystem) -> Result<Vec<SourceInfo>, Self::Error>;
}

/// An index held in memory, built from parsed advisories.
#[derive(Debug, Default)]
pub struct MemoryIndex {
    by_package: HashMap<(Ecosystem, PackageKind, String), Vec<Candidate>>,
    patterns: HashMap<Ecosystem, Vec<Candidate>>,
    sources: HashMap<Ecosystem, Vec<SourceInfo>>,
}

impl MemoryIndex {
    /// Creates an empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds every affected entry of `advisory`, from a feed with the given snapshot date.
    pub fn insert(&mut self, advisory: &Advisory, snapshot: Option<&str>) {
        let mut metadata = advisory.clone();
        metadata.affected.clear();
        let metadata = Arc::new(metadata);
        for affected in &advisory.affected {
            let candidate = Candidate {
                advisory: Arc::clone(&metadata),
                affected: Arc::new(affected.clone()),
            };
            if affected.is_pattern() {
                self.patterns
                    .entry(affected.ecosystem.clone())
                    .or_default()
                    .push(candidate);
            } else {
                let key = (
                    affected.ecosystem.clone(),
                    affected.kind,
                    affected.package.clone(),
                );
                self.by_package.entry(key).or_default().push(candidate);
            }
            let sources = self.sources.entry(affected.ecosystem.clone()).or_default();
            if !sources.iter().any(|s| s.name == advisory.source) {
                sources.push(SourceInfo {
                    name: advisory.source.clone(),
                    snapshot: snapshot.map(String::from),
                });
            }
        }
    }
}

impl AdvisoryIndex for MemoryIndex {
    type Error = std::convert::Infallible;

    fn candidates(
        &self,
        ecosystem: &Ecosystem,
        kind: PackageKind,
        name: &str,
    ) -> Result<Vec<Candidate>, Self::Error> {
        let key = (ecosystem.clone(), kind, name.to_string());
        Ok(self.by_package.get(&key).cloned().unwrap_or_default())
    }

    fn pattern_candidates(&self, ecosystem: &Ecosystem) -> Result<Vec<Candidate>, Self::Error> {
        Ok(self.patterns.get(ecosystem).cloned().unwrap_or_default())
    }

    fn sources_for(&self, ecosystem: &Ecosystem) -> Result<Vec<SourceInfo>, Self::Error> {
        Ok(self.sources.get(ecosystem).cloned().unwrap_or_default())
    }
}
