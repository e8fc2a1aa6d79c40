//! The cryptography: XChaCha20-Poly1305 under a key from Argon2id or the OS keyring for LLF's
//! values; PBKDF2-HMAC-SHA256 and Fernet for the Python version's.

use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE};
use base64::engine::{DecodePaddingMode, general_purpose};
use chacha20poly1305::aead::rand_core::RngCore;
use chacha20poly1305::aead::{Aead, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::tree::{LEGACY_PREFIX, PREFIX};
use crate::ConfigError;

/// A 256-bit key, wiped from memory when dropped.
pub(crate) type Key = Zeroizing<[u8; 32]>;

const NONCE_LEN: usize = 24;
/// PBKDF2 rounds of the Python version.
const LEGACY_ROUNDS: u32 = 100_000;

/// Padded or not: Python writes padding, a hand-copied value may have lost it.
const B64_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why an encrypted value did not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenError {
    /// The value is not of the format (cut, edited): what is wrong.
    Format(&'static str),
    /// The key is not the one it was encrypted with (or the value was tampered with).
    Key,
}

/// Random bytes from the operating system.
pub(crate) fn random<const N: usize>() -> Result<[u8; N], ConfigError> {
    let mut out = [0u8; N];
    OsRng
        .try_fill_bytes(&mut out)
        .map_err(|e| ConfigError::Random(e.to_string().into()))?;
    Ok(out)
}

/// A fresh random key (kept in the OS keyring).
pub(crate) fn random_key() -> Result<Key, ConfigError> {
    Ok(Zeroizing::new(random::<32>()?))
}

/// Text for ids and salts in the salt file.
pub(crate) fn b64(bytes: &[u8]) -> String {
    general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn unb64(text: &str) -> Option<Vec<u8>> {
    B64_LENIENT.decode(text).ok()
}

/// `llf-enc:v1:<id>:<base64url(nonce || ciphertext)>`. The prefix and id are authenticated too,
/// so a value cannot be passed off as one of another key.
pub(crate) fn seal(key: &Key, id: &str, plain: &[u8]) -> Result<String, ConfigError> {
    let nonce = random::<NONCE_LEN>()?;
    let aad = format!("{PREFIX}{id}");
    let cipher = XChaCha20Poly1305::new(key.as_ref().into());
    #[allow(clippy::expect_used)]
    // invariant: XChaCha20-Poly1305 refuses only messages over 256 GiB; config values are small.
    let sealed = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plain,
                aad: aad.as_bytes(),
            },
        )
        .expect("a config value fits XChaCha20-Poly1305");
    let mut data = Vec::with_capacity(NONCE_LEN + sealed.len());
    data.extend_from_slice(&nonce);
    data.extend_from_slice(&sealed);
    Ok(format!("{PREFIX}{id}:{}", b64(&data)))
}

/// The plaintext of the payload `data` of a value sealed with key `id`.
pub(crate) fn open(key: &Key, id: &str, data: &str) -> Result<Zeroizing<String>, OpenError> {
    let bytes = unb64(data).ok_or(OpenError::Format("not base64"))?;
    if bytes.len() < NONCE_LEN + 16 {
        return Err(OpenError::Format("too short"));
    }
    let (nonce, sealed) = bytes.split_at(NONCE_LEN);
    let aad = format!("{PREFIX}{id}");
    let plain = XChaCha20Poly1305::new(key.as_ref().into())
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| OpenError::Key)?;
    String::from_utf8(plain)
        .map(Zeroizing::new)
        .map_err(|_| OpenError::Format("not text"))
}

/// Argon2id parameters, kept in the salt file so they can grow without breaking old files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct KdfParams {
    /// Memory in KiB.
    pub(crate) m_cost_kib: u32,
    /// Passes.
    pub(crate) t_cost: u32,
    /// Lanes.
    pub(crate) p_cost: u32,
}

impl Default for KdfParams {
    /// OWASP's first Argon2id recommendation (19 MiB, 2 passes, 1 lane): tens of milliseconds
    /// here, once per process.
    fn default() -> Self {
        Self {
            m_cost_kib: argon2::Params::DEFAULT_M_COST,
            t_cost: argon2::Params::DEFAULT_T_COST,
            p_cost: argon2::Params::DEFAULT_P_COST,
        }
    }
}

/// The key a passphrase stretches to.
pub(crate) fn argon2id(
    passphrase: &[u8],
    salt: &[u8],
    params: KdfParams,
) -> Result<Key, argon2::Error> {
    let params = argon2::Params::new(params.m_cost_kib, params.t_cost, params.p_cost, Some(32))?;
    let mut key = Zeroizing::new([0u8; 32]);
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password_into(passphrase, salt, key.as_mut())?;
    Ok(key)
}

/// The Fernet key of the Python version: PBKDF2-HMAC-SHA256 of the password, 100,000 rounds, 32
/// bytes, URL-safe base64.
pub(crate) fn legacy_fernet(password: &[u8], salt: &[u8]) -> Option<fernet::Fernet> {
    let mut raw = Zeroizing::new([0u8; 32]);
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, LEGACY_ROUNDS, raw.as_mut());
    let text = Zeroizing::new(URL_SAFE.encode(raw.as_ref()));
    fernet::Fernet::new(&text)
}

/// The plaintext of a Python-era payload (what follows `encrypted:`): base64 of a Fernet token.
pub(crate) fn legacy_open(
    key: &fernet::Fernet,
    data: &str,
) -> Result<Zeroizing<String>, OpenError> {
    let token = unb64(data).ok_or(OpenError::Format("not base64"))?;
    let token = String::from_utf8(token).map_err(|_| OpenError::Format("not a Fernet token"))?;
    let plain = key.decrypt(&token).map_err(|_| OpenError::Key)?;
    String::from_utf8(plain)
        .map(Zeroizing::new)
        .map_err(|_| OpenError::Format("not text"))
}

/// A value in the Python version's format, for a config the Python version may still read.
pub(crate) fn legacy_seal(key: &fernet::Fernet, plain: &[u8]) -> String {
    format!("{LEGACY_PREFIX}{}", URL_SAFE.encode(key.encrypt(plain)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_with_their_key_only() {
        let key = random_key().unwrap();
        let sealed = seal(&key, "k1", b"sk-live").unwrap();
        assert!(sealed.starts_with("llf-enc:v1:k1:"));
        assert!(!sealed.contains("sk-live"));
        let data = sealed.strip_prefix("llf-enc:v1:k1:").unwrap();
        assert_eq!(open(&key, "k1", data).unwrap().as_str(), "sk-live");
        let other = random_key().unwrap();
        assert_eq!(open(&other, "k1", data), Err(OpenError::Key));
        // The id is authenticated: the same payload under another id does not open.
        assert_eq!(open(&key, "k2", data), Err(OpenError::Key));
        assert_eq!(
            open(&key, "k1", &data[..12]),
            Err(OpenError::Format("too short"))
        );
        assert_eq!(
            open(&key, "k1", "not base64!"),
            Err(OpenError::Format("not base64"))
        );
    }

    #[test]
    fn argon2id_depends_on_passphrase_and_salt() {
        let p = KdfParams {
            m_cost_kib: 64,
            t_cost: 1,
            p_cost: 1,
        };
        let a = argon2id(b"one", b"saltsaltsaltsalt", p).unwrap();
        assert_eq!(*a, *argon2id(b"one", b"saltsaltsaltsalt", p).unwrap());
        assert_ne!(*a, *argon2id(b"two", b"saltsaltsaltsalt", p).unwrap());
        assert_ne!(*a, *argon2id(b"one", b"tlastlastlastlas", p).unwrap());
    }

    #[test]
    fn legacy_values_round_trip_and_refuse_another_password() {
        let salt = [7u8; 32];
        let key = legacy_fernet(b"hunter2", &salt).unwrap();
        let sealed = legacy_seal(&key, b"sk-py");
        let data = sealed.strip_prefix("encrypted:").unwrap();
        assert_eq!(legacy_open(&key, data).unwrap().as_str(), "sk-py");
        let wrong = legacy_fernet(b"hunter3", &salt).unwrap();
        assert_eq!(legacy_open(&wrong, data), Err(OpenError::Key));
    }
}
