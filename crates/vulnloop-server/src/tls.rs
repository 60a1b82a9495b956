//! HTTPS: serving with rustls, and the self-signed certificate that the server
//! makes on first start when no certificate files are given.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use axum::Router;
use chrono::Datelike;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use sha2::{Digest, Sha256};

use crate::TlsFiles;

/// File names of the self-signed certificate and its key in the data directory.
pub const SELF_SIGNED_CERT: &str = "tls-self-signed-cert.pem";
pub const SELF_SIGNED_KEY: &str = "tls-self-signed-key.pem";

/// Years that a new self-signed certificate stays valid.
const SELF_SIGNED_YEARS: i32 = 10;

/// Returns the self-signed certificate files in `data_dir`, making them first
/// when they do not exist yet, and prints the certificate's SHA-256
/// fingerprint on stdout so that an admin can check what agents see.
///
/// The certificate names `localhost`, 127.0.0.1, ::1, the bind address when
/// it is a specific one, and this machine's host name.
/// NOTE: an existing certificate is reused as it is, so after a change of
/// host name or bind address, delete both files to make a new one.
pub fn self_signed(data_dir: &Path, bind: SocketAddr) -> anyhow::Result<TlsFiles> {
    let files = TlsFiles {
        cert: data_dir.join(SELF_SIGNED_CERT),
        key: data_dir.join(SELF_SIGNED_KEY),
    };
    let reused = files.cert.exists() && files.key.exists();
    if !reused {
        make_self_signed(&files, &subject_alt_names(bind))?;
    }

    let der = CertificateDer::from_pem_file(&files.cert).with_context(|| {
        format!(
            "failed to read the TLS certificate {}",
            files.cert.display()
        )
    })?;
    let fingerprint = fingerprint(&der);
    let origin = if reused { "reused" } else { "created" };
    println!(
        "TLS certificate ({origin}, self-signed): {}",
        files.cert.display()
    );
    println!("TLS certificate SHA-256 fingerprint: {fingerprint}");
    tracing::info!(cert = %files.cert.display(), %fingerprint, origin, "self-signed TLS certificate in use");
    Ok(files)
}

/// Returns the SHA-256 fingerprint of a DER certificate as colon-separated
/// uppercase hex, the form that `openssl x509 -fingerprint -sha256` prints.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn subject_alt_names(bind: SocketAddr) -> Vec<String> {
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    if !bind.ip().is_unspecified() && !names.contains(&bind.ip().to_string()) {
        names.push(bind.ip().to_string());
    }
    if let Some(hostname) = local_hostname() {
        if !names.contains(&hostname) {
            names.push(hostname);
        }
    }
    names
}

/// Returns the kernel's host name when it is a valid DNS name.
fn local_hostname() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()?
        .trim()
        .to_string();
    let valid = !name.is_empty()
        && name.parse::<IpAddr>().is_err()
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'.');
    valid.then_some(name)
}

fn make_self_signed(files: &TlsFiles, names: &[String]) -> anyhow::Result<()> {
    let mut params = rcgen::CertificateParams::new(names.to_vec())
        .with_context(|| format!("invalid certificate subject names {names:?}"))?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "vulnloop server (self-signed)");
    // Start yesterday, so that a client whose clock is a little behind accepts it.
    let start = chrono::Utc::now().date_naive() - chrono::Days::new(1);
    let (year, month, day) = (start.year(), start.month() as u8, start.day() as u8);
    params.not_before = rcgen::date_time_ymd(year, month, day);
    params.not_after = rcgen::date_time_ymd(year + SELF_SIGNED_YEARS, month, day.min(28));
    let key = rcgen::KeyPair::generate().context("failed to generate a TLS key pair")?;
    let cert = params
        .self_signed(&key)
        .context("failed to sign the self-signed TLS certificate")?;

    // The key is written first with mode 0600, so it is never readable by
    // others, and the certificate last, so a crash in between leaves no
    // certificate without its key.
    write_new(&files.key, key.serialize_pem().as_bytes(), 0o600)?;
    write_new(&files.cert, cert.pem().as_bytes(), 0o644)?;
    tracing::info!(cert = %files.cert.display(), key = %files.key.display(), ?names, "created a self-signed TLS certificate");
    Ok(())
}

/// Writes `contents` to a temporary file of mode `mode` and renames it to `path`.
fn write_new(path: &Path, contents: &[u8], mode: u32) -> anyhow::Result<()> {
    let partial: PathBuf = path.with_extension("partial");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&partial)
        .with_context(|| format!("failed to create {}", partial.display()))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("failed to write {}", partial.display()))?;
    std::fs::rename(&partial, path).with_context(|| {
        format!(
            "failed to rename {} to {}",
            partial.display(),
            path.display()
        )
    })
}

/// Serves `router` over HTTPS until SIGINT or SIGTERM.
pub async fn serve_tls(bind: SocketAddr, files: &TlsFiles, router: Router) -> anyhow::Result<()> {
    // Several crates may link rustls; an already installed provider is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(&files.cert, &files.key)
        .await
        .with_context(|| {
            format!(
                "failed to load the TLS certificate {} and key {}",
                files.cert.display(),
                files.key.display()
            )
        })?;
    let handle = axum_server::Handle::new();
    let server = axum_server::bind_rustls(bind, tls)
        .handle(handle.clone())
        .serve(router.into_make_service());
    let server = tokio::spawn(server);
    let address = handle
        .listening()
        .await
        .with_context(|| format!("failed to listen on {bind}"))?;
    crate::announce(&format!("https://{address}"));
    crate::shutdown_signal().await;
    handle.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
    server.await.context("server task failed")??;
    tracing::info!("server stopped");
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn self_signed_is_made_once() {
        let dir = tempfile::tempdir().unwrap();
        let bind: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let first = self_signed(dir.path(), bind).unwrap();
        let cert = std::fs::read(&first.cert).unwrap();
        let mode = std::fs::metadata(&first.key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        let second = self_signed(dir.path(), bind).unwrap();
        assert_eq!(std::fs::read(&second.cert).unwrap(), cert);
    }

    #[test]
    fn fingerprint_is_colon_hex() {
        let fingerprint = fingerprint(b"abc");
        assert!(fingerprint.starts_with("BA:78:16:BF:"), "{fingerprint}");
        assert_eq!(fingerprint.len(), 32 * 3 - 1);
    }
}
