//! The platform's certificate verifier on Android needs the app's `Context`
//! before the first TLS handshake: the app calls, once at start,
//!
//! ```kotlin
//! FushiTls.init(applicationContext)   // org.fushi.share.FushiTls
//! ```
//!
//! a JNI entry point (not a uniffi export: it takes an Android `Context`),
//! which hands the context to `rustls_platform_verifier::android`. Until
//! then a sync with the platform's trust store fails with
//! [`FushiError::Certificate`] (before any connection), instead of a panic
//! inside the verifier; opening the store and configuring sync work. A pinned CA (`SyncSettings.ca_certificate_pem`) does
//! not use the platform's verifier and needs no init. Elsewhere (iOS, the
//! JVM tests on Linux) there is nothing to initialise.
//!
//! Not run on a device here (no Android SDK/NDK on this machine): see
//! `android/README.md`.

use crate::error::FushiError;

/// Whether the platform's verifier can be used now.
pub(crate) fn check_platform_ready() -> Result<(), FushiError> {
    #[cfg(target_os = "android")]
    if !android::READY.load(std::sync::atomic::Ordering::Acquire) {
        return Err(FushiError::Certificate {
            reason: "the platform's certificate verifier is not set up: call \
                     FushiTls.init(context) once at app start"
                .to_string(),
        });
    }
    Ok(())
}

#[cfg(target_os = "android")]
mod android {
    use jni::errors::ThrowRuntimeExAndDefault;
    use jni::objects::{JClass, JObject};
    use jni::EnvUnowned;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Set once `rustls_platform_verifier::android` holds the app's context.
    pub(super) static READY: AtomicBool = AtomicBool::new(false);

    /// `FushiTls.init(context)` (Kotlin: `object FushiTls { @JvmStatic
    /// external fun init(context: Context) }`): give the platform's
    /// certificate verifier the app's context. Calling it again is harmless.
    /// A JNI failure is thrown to Kotlin as a `RuntimeException`.
    #[jni::jni_mangle("org.fushi.share.FushiTls")]
    pub fn init<'caller>(
        mut unowned_env: EnvUnowned<'caller>,
        _class: JClass<'caller>,
        context: JObject<'caller>,
    ) {
        unowned_env
            .with_env(|env| -> Result<(), jni::errors::Error> {
                rustls_platform_verifier::android::init_with_env(env, context)?;
                READY.store(true, Ordering::Release);
                Ok(())
            })
            .resolve::<ThrowRuntimeExAndDefault>();
    }
}
