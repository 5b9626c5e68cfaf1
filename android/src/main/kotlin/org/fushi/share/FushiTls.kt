// TLS set-up the app does once at start, on Android only.
//
// Syncing is HTTPS. With the platform's trust store (SyncSettings.caCertificatePem
// null) the Rust core checks the server's certificate through Android's own
// verifier (rustls-platform-verifier), which needs the app's Context first:
//
//     class App : Application() {
//         override fun onCreate() {
//             super.onCreate()
//             FushiTls.init(this)
//             ...
//         }
//     }
//
// Until then, a sync with the platform's store fails with
// FushiException.Certificate. A pinned CA needs no init. The verifier's Kotlin
// component must be in the app (Gradle dependency rustls:rustls-platform-verifier,
// ProGuard rule in consumer-rules.pro): see android/README.md.
//
// Not compiled by scripts/kotlin-test.sh (it needs android.content.Context) and
// not run on a device in this repository's CI: see android/README.md.
package org.fushi.share

import android.content.Context

/** Hands the app's [Context] to the platform certificate verifier of the Rust core. */
object FushiTls {
    init {
        System.loadLibrary("fushi_ffi")
    }

    /**
     * Call once, before the first sync (e.g. in `Application.onCreate`);
     * calling it again is harmless. Implemented in Rust
     * (`Java_org_fushi_share_FushiTls_init`, bindings/src/tls.rs).
     */
    @JvmStatic
    external fun init(context: Context)
}
