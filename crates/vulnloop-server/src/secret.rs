//! Random ids, bearer tokens and their stored hashes.
//!
//! A token reads `<prefix>_<id>_<secret>`. The id finds the database row and
//! the secret is checked against the row's Argon2 hash, so a stolen database
//! does not yield working tokens.
//!
//! NOTE: every authenticated request runs one Argon2 verification with the
//! crate's default parameters (19 MiB, 2 passes). For 256-bit random secrets a
//! SHA-256 digest would be as safe and far cheaper; measure this cost before
//! the load benchmark of many agents uploading at once.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// Prefix of user API tokens.
pub const USER_TOKEN: &str = "vlu";
/// Prefix of enrollment tokens.
pub const ENROLLMENT_TOKEN: &str = "vle";
/// Prefix of agent tokens.
pub const AGENT_TOKEN: &str = "vla";

/// Returns `bytes` random bytes from the operating system as lowercase hex.
pub fn random_hex(bytes: usize) -> anyhow::Result<String> {
    let mut buffer = vec![0u8; bytes];
    getrandom::getrandom(&mut buffer)
        .map_err(|error| anyhow::anyhow!("failed to read random bytes: {error}"))?;
    Ok(buffer.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// Returns a new random row id (128 bits).
pub fn new_id() -> anyhow::Result<String> {
    random_hex(16)
}

/// A token as handed to its owner, and the hash the server keeps.
pub struct IssuedToken {
    pub id: String,
    pub token: String,
    pub secret_hash: String,
}

/// Creates a token with a 256-bit secret for the row `id`.
pub fn issue(prefix: &str, id: &str) -> anyhow::Result<IssuedToken> {
    let secret = random_hex(32)?;
    Ok(IssuedToken {
        id: id.to_string(),
        token: format!("{prefix}_{id}_{secret}"),
        secret_hash: hash(&secret)?,
    })
}

/// Splits a token of kind `prefix` into its id and secret.
pub fn parse<'a>(prefix: &str, token: &'a str) -> Option<(&'a str, &'a str)> {
    let rest = token.strip_prefix(prefix)?.strip_prefix('_')?;
    let (id, secret) = rest.split_once('_')?;
    let hex = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_hexdigit());
    (hex(id) && hex(secret)).then_some((id, secret))
}

fn hash(secret: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| anyhow::anyhow!("failed to hash a secret: {error}"))
}

/// Returns whether `secret` matches the stored Argon2 `secret_hash`.
pub fn verify(secret: &str, secret_hash: &str) -> bool {
    match PasswordHash::new(secret_hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(secret.as_bytes(), &parsed)
            .is_ok(),
        Err(error) => {
            tracing::error!(%error, "stored secret hash is not a valid PHC string");
            false
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn issued_token_verifies() {
        let issued = issue(USER_TOKEN, "00ff").unwrap();
        let (id, secret) = parse(USER_TOKEN, &issued.token).unwrap();
        assert_eq!(id, "00ff");
        assert!(verify(secret, &issued.secret_hash));
        assert!(!verify("00", &issued.secret_hash));
    }

    #[test]
    fn parse_rejects_other_kinds() {
        let issued = issue(AGENT_TOKEN, "ab").unwrap();
        assert!(parse(USER_TOKEN, &issued.token).is_none());
        assert!(parse(USER_TOKEN, "vlu_ab").is_none());
        assert!(parse(USER_TOKEN, "vlu_ab_zz").is_none());
    }
}
