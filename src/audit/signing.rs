//! Checkpoint signatures: Ed25519 (RFC 8032) via `ring`, which the TLS stack already builds.
//!
//! The key file holds the 32-byte private seed as hex on one line (mode 0600); the public
//! key sits next to it as `<file>.pub` (hex). Whoever verifies the log needs only the public
//! key. This module must never log or print the private seed.

use std::io::Write;
use std::path::{Path, PathBuf};

use ring::rand::SecureRandom;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};

/// The checkpoint signing key.
pub struct SigningKey {
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey(public {})", self.public_hex())
    }
}

/// `<key file>.pub`: where the public key of a key file is written.
pub fn public_key_path(key_file: &Path) -> PathBuf {
    let mut name = key_file.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

impl SigningKey {
    fn from_seed(seed: &[u8]) -> Result<SigningKey, String> {
        Ed25519KeyPair::from_seed_unchecked(seed)
            .map(|pair| SigningKey { pair })
            .map_err(|_| "the signing key must be 32 bytes (64 hex digits)".to_string())
    }

    /// Read the key file; with `generate`, create it (and its `.pub`) when missing.
    pub fn load(path: &Path, generate: bool) -> Result<SigningKey, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let seed = hex::decode(text.trim()).map_err(|_| {
                    format!("signing key `{}` is not hex", path.display())
                })?;
                let key = SigningKey::from_seed(&seed)
                    .map_err(|e| format!("signing key `{}`: {e}", path.display()))?;
                // Keep the public key next to it current (it is derived, never secret).
                let pub_path = public_key_path(path);
                let current = std::fs::read_to_string(&pub_path).unwrap_or_default();
                if current.trim() != key.public_hex() {
                    let _ = std::fs::write(&pub_path, format!("{}\n", key.public_hex()));
                }
                Ok(key)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && generate => {
                SigningKey::generate(path)
            }
            Err(e) => Err(format!(
                "cannot read signing key `{}`: {e} (create one with `crmgate audit keygen --out {}`)",
                path.display(),
                path.display()
            )),
        }
    }

    /// Make a new key, write it to `path` (0600, refusing to overwrite) and the public key
    /// to `<path>.pub`.
    pub fn generate(path: &Path) -> Result<SigningKey, String> {
        let mut seed = [0u8; 32];
        ring::rand::SystemRandom::new()
            .fill(&mut seed)
            .map_err(|_| "no randomness available for a signing key".to_string())?;
        let key = SigningKey::from_seed(&seed)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
        }
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts
            .open(path)
            .map_err(|e| format!("cannot create signing key `{}`: {e}", path.display()))?;
        f.write_all(format!("{}\n", hex::encode(seed)).as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| format!("cannot write signing key `{}`: {e}", path.display()))?;
        let pub_path = public_key_path(path);
        std::fs::write(&pub_path, format!("{}\n", key.public_hex()))
            .map_err(|e| format!("cannot write `{}`: {e}", pub_path.display()))?;
        Ok(key)
    }

    pub fn public_hex(&self) -> String {
        hex::encode(self.pair.public_key().as_ref())
    }

    /// Hex signature of `message`.
    pub fn sign(&self, message: &[u8]) -> String {
        hex::encode(self.pair.sign(message).as_ref())
    }
}

/// Read a public key file (hex).
pub fn read_public_key(path: &Path) -> Result<Vec<u8>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read public key `{}`: {e}", path.display()))?;
    let key = hex::decode(text.trim())
        .map_err(|_| format!("public key `{}` is not hex", path.display()))?;
    if key.len() != 32 {
        return Err(format!(
            "public key `{}` must be 32 bytes (64 hex digits)",
            path.display()
        ));
    }
    Ok(key)
}

/// Does hex `signature` sign `message` under `public_key`?
pub fn verify(public_key: &[u8], message: &[u8], signature: &str) -> bool {
    let Ok(sig) = hex::decode(signature) else {
        return false;
    };
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(message, &sig)
        .is_ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_signs_what_its_public_key_verifies_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        let key = SigningKey::load(&path, true).unwrap();
        let again = SigningKey::load(&path, false).unwrap();
        assert_eq!(key.public_hex(), again.public_hex());
        let pk = read_public_key(&public_key_path(&path)).unwrap();
        let sig = key.sign(b"checkpoint");
        assert!(verify(&pk, b"checkpoint", &sig));
        assert!(!verify(&pk, b"checkpoinT", &sig));
        assert!(
            SigningKey::generate(&path).is_err(),
            "never overwrites a key"
        );
        assert!(!format!("{key:?}").contains(&std::fs::read_to_string(&path).unwrap()[..20]));
    }

    #[test]
    fn a_missing_key_is_an_error_unless_generation_is_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let err = SigningKey::load(&dir.path().join("none.key"), false).unwrap_err();
        assert!(err.contains("crmgate audit keygen"), "{err}");
    }
}
