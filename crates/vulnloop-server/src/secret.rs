//! Random ids, bearer tokens and their stored hashes.
//!
//! A token reads `<prefix>_<id>_<secret>`. The id finds the database row and
//! the secret is checked against the row's SHA-256 digest of it, so a stolen
//! database does not yield working tokens.
//!
//! A plain digest is enough because every secret is 256 random bits from the
//! operating system: nobody can guess one, so the slow, salted hashes made for
//! passwords chosen by people would only add cost to every request.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

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
        secret_hash: hash(&secret),
    })
}

/// Splits a token of kind `prefix` into its id and secret.
pub fn parse<'a>(prefix: &str, token: &'a str) -> Option<(&'a str, &'a str)> {
    let rest = token.strip_prefix(prefix)?.strip_prefix('_')?;
    let (id, secret) = rest.split_once('_')?;
    let hex = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_hexdigit());
    (hex(id) && hex(secret)).then_some((id, secret))
}

/// Returns the SHA-256 digest of `secret` as lowercase hex, the form stored in the database.
pub fn hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Returns whether `secret` matches the stored digest `secret_hash`.
///
/// The digests are compared in constant time, so the response time does not
/// tell an attacker how many leading bytes of a guess were right.
pub fn verify(secret: &str, secret_hash: &str) -> bool {
    hash(secret).as_bytes().ct_eq(secret_hash.as_bytes()).into()
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
        assert!(!verify(secret, ""));
    }

    #[test]
    fn hash_is_sha256_hex() {
        // SHA-256 of "abc" from FIPS 180-2, appendix B.1.
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn parse_rejects_other_kinds() {
        let issued = issue(AGENT_TOKEN, "ab").unwrap();
        assert!(parse(USER_TOKEN, &issued.token).is_none());
        assert!(parse(USER_TOKEN, "vlu_ab").is_none());
        assert!(parse(USER_TOKEN, "vlu_ab_zz").is_none());
    }
}
